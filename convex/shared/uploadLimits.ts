/**
 * How artifact bytes reach the component's file storage, and the limits of each path. Shared by the
 * component's routes and the runtime.
 *
 * 1. `POST upload-url` (JSON `{ name, size, sha256, type?, contentType? }`): every check that needs no
 *    bytes (token, uploads open, name, type, size against `maxArtifactBytes`, the run's quota, the same
 *    bytes already recorded). Answers `{ existing }` or `{ uploadUrl }` (`ctx.storage.generateUploadUrl()`).
 * 2. The bytes go to storage, by one of two paths:
 *    - direct: `POST uploadUrl` with the bytes answers `{ storageId }`. No size cap but
 *      `maxArtifactBytes`. Convex serves upload URLs on the deployment's `.convex.cloud` origin (self-
 *      hosted: its cloud port), not on the `.convex.site` origin of HTTP actions, and convex-test's URLs
 *      are not served at all; so a runtime uses it only when the URL's origin is the one it reaches the
 *      component at.
 *    - through the component: `POST artifacts?name=&type=` with the bytes as body (header
 *      `X-Lakitu-Sha256`). The component's own HTTP action stores the body in its storage and commits it
 *      (no bytes pass as function arguments). Convex caps HTTP action request bodies at 20 MiB, so this
 *      path carries at most `MAX_ROUTE_UPLOAD_BYTES`. A sandbox without network (the local host's unix
 *      socket bridge, E2B with egress limited to the component's host) can reach only this path.
 * 3. `POST commit` (JSON `{ name, type?, contentType?, storageId, sha256, size }`): the component reads
 *    the stored file's metadata (`ctx.db.system.get(storageId)`: its SHA-256 and size, computed by
 *    storage), refuses and deletes the blob when either differs from what the runtime declared, and
 *    records the version. A retried commit of a storage id already recorded answers the same artifact.
 */

/** Convex's limit on an HTTP action's request body: the most the through-the-component path carries. */
export const MAX_ROUTE_UPLOAD_BYTES = 20 * 1024 * 1024;

/** Apps that mount the routes with `registerRoutes` pass bytes to an action (compatibility path): Cloud's argument limit. */
export const MAX_ARGUMENT_UPLOAD_BYTES = 16 * 1024 * 1024;

/** The hex SHA-256 of a storage metadata `sha256` (base64, as Convex storage reports it). */
export function storageSha256Hex(base64: string): string {
  const bin = atob(base64);
  let out = "";
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, "0");
  return out;
}

/** A lowercase 64-hex-digit SHA-256, or null. */
export function normalizeSha256(value: string | undefined): string | null {
  return value !== undefined && /^[0-9a-fA-F]{64}$/.test(value) ? value.toLowerCase() : null;
}
