import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { LakituClient, LakituHttpError } from "./client.js";
import { FakeComponent, testToken } from "./testing/fakeComponent.js";
import { FAST_RETRY } from "./testing/harness.js";
import { MAX_ROUTE_UPLOAD_BYTES } from "../convex/shared/uploadLimits.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
let fake: FakeComponent | undefined;
afterEach(async () => fake?.close());

async function start(uploadOrigin: "same" | "other") {
  const token = testToken();
  fake = await new FakeComponent({ token, generation: 1, uploadOrigin }).start();
  return { fake, client: new LakituClient({ url: fake.url, token, generation: 1, retry: FAST_RETRY }) };
}

describe("LakituClient.uploadArtifact: which path the bytes take", () => {
  it("sends bytes to the storage upload URL when it is on the component's origin, then commits; no token goes to storage", async () => {
    const { fake, client } = await start("same");
    const bytes = new TextEncoder().encode("# report");
    const r = await client.uploadArtifact("report.md", bytes, { type: "markdown", contentType: "text/markdown", sha256: sha(bytes) });
    expect(r).toEqual({ artifactId: "a_report.md", version: 1, duplicate: false });
    expect(fake.requests.map((q) => q.path)).toEqual(["upload-url", "/storage/upload", "commit"]);
    const storageReq = fake.requests.find((q) => q.path === "/storage/upload")!;
    expect(storageReq.headers.authorization).toBeUndefined();
    expect(fake.bodiesOf("commit")[0]).toMatchObject({ name: "report.md", storageId: "s_1", sha256: sha(bytes), size: bytes.length, type: "markdown" });
  });

  it("sends bytes through the component's artifacts route when the upload URL is on another origin (a sandbox's only reachable origin)", async () => {
    const { fake, client } = await start("other");
    const bytes = new TextEncoder().encode("a,b\n1,2\n");
    await client.uploadArtifact("data.csv", bytes, { type: "csv", contentType: "text/csv", sha256: sha(bytes) });
    expect(fake.requests.map((q) => q.path)).toEqual(["upload-url", "artifacts"]);
    expect(fake.artifacts.get("data.csv")?.sha256).toBe(sha(bytes));
  });

  it("sends nothing when the component already has these bytes (upload-url answers existing)", async () => {
    const { fake, client } = await start("other");
    const bytes = new TextEncoder().encode("same");
    await client.uploadArtifact("a.txt", bytes, { contentType: "text/plain", sha256: sha(bytes) });
    const again = await client.uploadArtifact("a.txt", bytes, { contentType: "text/plain", sha256: sha(bytes) });
    expect(again).toEqual({ artifactId: "a_a.txt", version: 1, duplicate: true });
    expect(fake.requests.filter((q) => q.path === "artifacts")).toHaveLength(1);
  });

  it("refuses, without sending the bytes, a file over the route's 20 MiB when storage is unreachable, naming both origins and the limit", async () => {
    const { fake, client } = await start("other");
    const bytes = new Uint8Array(MAX_ROUTE_UPLOAD_BYTES + 1);
    const err = await client.uploadArtifact("big.bin", bytes, { contentType: "application/octet-stream", sha256: sha(bytes) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LakituHttpError);
    expect((err as LakituHttpError).code).toBe("too_large");
    expect((err as Error).message).toMatch(/https:\/\/storage\.invalid.*limited to 20971520 bytes/);
    expect(fake.requests.map((q) => q.path)).toEqual(["upload-url"]);
  });

  it("sends a file over 20 MiB when the upload URL is reachable", async () => {
    const { fake, client } = await start("same");
    const bytes = new Uint8Array(MAX_ROUTE_UPLOAD_BYTES + 1024).fill(7);
    const r = await client.uploadArtifact("big.bin", bytes, { contentType: "application/octet-stream", sha256: sha(bytes) });
    expect(r.version).toBe(1);
    expect(fake.artifacts.get("big.bin")?.bytes.length).toBe(bytes.length);
  });

  it("sends to storage on another origin when the sandbox may reach it (LAKITU_STORAGE_ORIGIN), and not otherwise", async () => {
    const { fake } = await start("same");
    const storage = new URL(fake.url).origin; // upload URLs point at 127.0.0.1
    const elsewhere = fake.url.replace("127.0.0.1", "localhost"); // the component, reached under another origin
    expect(new URL(elsewhere).origin).not.toBe(storage);
    const bytes = new TextEncoder().encode("# far");
    const reaching = new LakituClient({ url: elsewhere, token: fake.options.token, generation: 1, retry: FAST_RETRY, storageOrigin: storage });
    await reaching.uploadArtifact("far.md", bytes, { type: "markdown", contentType: "text/markdown", sha256: sha(bytes) });
    expect(fake.requests.map((q) => q.path)).toEqual(["upload-url", "/storage/upload", "commit"]);
    fake.requests.length = 0;
    const other = new TextEncoder().encode("# near");
    const confined = new LakituClient({ url: elsewhere, token: fake.options.token, generation: 1, retry: FAST_RETRY });
    await confined.uploadArtifact("near.md", other, { type: "markdown", contentType: "text/markdown", sha256: sha(other) });
    expect(fake.requests.map((q) => q.path)).toEqual(["upload-url", "artifacts"]);
  });
});
