/**
 * The envd side of the host: requests that carry `e2b-sandbox-id` (the SDK sends it, with
 * `x-access-token`, on every envd request when `sandboxUrl` is set).
 *
 * - `GET /health` → 204.
 * - `process.Process`: `Start` and `Connect` (server streaming), `List`, `SendSignal`, `SendInput`,
 *   `CloseStdin` (unary). No PTY (`pty` in `Start`, `Update`) and no `StreamInput`.
 * - `GET /files?path=` (raw bytes; gzip when `Accept-Encoding` allows it, 406 when it allows neither
 *   gzip nor identity) and `POST /files[?path=]` (multipart `file` parts, or a raw
 *   `application/octet-stream` body; `Content-Encoding: gzip` is decompressed, other encodings are
 *   refused with 400), for paths under `/home/user`, `/tmp` and `/root`. Relative paths resolve under the
 *   user's home (/home/user, or /root for root).
 * - Signed `/files` URLs (`signature`, `signature_expiration`, from the SDK's `uploadUrl`/`downloadUrl`)
 *   are checked with `checkSignature` instead of the access token.
 * - The `user` option (Basic `Authorization` on RPCs, `username` on /files): `user` (uid 1000, the
 *   default) and `root` (uid 0) are honoured — commands run as that user, files are read and written
 *   with that user's permissions and created files belong to it; any other user is refused
 *   (invalid_argument / 400), never ignored.
 *
 * Output streams apply backpressure: a client that reads slowly pauses the command's output (its
 * writes block) instead of the host buffering or dropping it.
 *
 * A Start call's `Connect-Timeout-Ms` is the command's deadline: when it passes, the command is killed
 * and the stream ends with `deadline_exceeded`, as on E2B (hence `timeoutMs: 0` for long-running
 * background commands). A client disconnecting does not stop the command. A command whose sandbox is
 * killed under it (DELETE, timeout) ends its streams with `unavailable`, which the SDK raises as
 * TimeoutError (E2B drops them with the VM); pids are in-sandbox pids (commands.ts).
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, fstatSync, ftruncateSync, writeSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { createGzip, gunzipSync } from "node:zlib";
import type { Command, EndEvent, OutputStream, ProcessConfig, Subscriber } from "./commands.js";
import {
  ConnectRpcError,
  endStream,
  envelope,
  parseEnvelopedRequest,
  parseJson,
  requestTimeoutMs,
  sendRpcFailure,
  sendUnary,
  sendUnaryError,
  STREAM_CONTENT_TYPE,
} from "./connectRpc.js";
import { FILESYSTEM_SERVICE, handleFilesystem } from "./filesystem.js";
import { BodyTooLargeError, header, readBody, sameSecret, sendError, sendJson, sendNoContent } from "./httpUtil.js";
import { boundaryOf, parseMultipart } from "./multipart.js";
import type { Sandbox } from "./sandboxes.js";
import {
  hostPathFor,
  normalizeSandboxPath,
  NotAFileError,
  openForRead,
  openForWrite,
  PathEscapeError,
  PermissionError,
  type Actor,
} from "./sandboxPaths.js";
import { hostIdOf, parseSandboxUser, type SandboxUser } from "./sandboxUsers.js";

export type EnvdLimits = {
  /** Output a stream client may have queued on the host before the command is paused (backpressure), bytes. */
  maxBufferedOutputBytes: number;
  maxUploadBytes: number;
};

const PROCESS_SERVICE = "/process.Process/";
const RPC_BODY_LIMIT = 1 << 20;

/** The default user of commands and files (uid 1000, as E2B's default user). */
export const SANDBOX_USER = "user";

function homeOf(user: SandboxUser): string {
  return user === "root" ? "/root" : "/home/user";
}

/** Who a files request acts as (undefined: a single-uid sandbox, where users cannot be told apart). */
function actorOf(sandbox: Sandbox, user: SandboxUser): Actor | undefined {
  const ids = hostIdOf(sandbox.ids, user);
  return ids && { ...ids, privileged: user === "root" };
}

/** The user of an RPC: the SDK sends `Authorization: Basic base64("<user>:")` when a `user` option is given. */
function rpcUser(req: IncomingMessage): string | undefined {
  const auth = header(req, "authorization");
  if (!auth) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(auth.trim());
  if (!m) throw new ConnectRpcError("invalid_argument", "the Authorization header must be Basic <base64 user:>");
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? decoded : decoded.slice(0, colon);
}

/**
 * Checks the signature of a URL from the SDK's `uploadUrl()`/`downloadUrl()` as envd does:
 * `v1_` + base64(sha256("<path>:<read|write>:<user>:<access token>[:<expiration>]")) without padding.
 * Undefined when it is valid; else 401 (wrong signature) or 403 (valid but expired).
 */
export function checkSignature(req: IncomingMessage, url: URL, accessToken: string): { status: number; message: string } | undefined {
  const operation = req.method === "POST" ? "write" : req.method === "GET" ? "read" : undefined;
  if (!operation) return { status: 401, message: `a signed URL is for GET or POST /files, not ${req.method}` };
  const q = url.searchParams;
  const expiration = q.get("signature_expiration");
  const parts = [q.get("path") ?? "", operation, q.get("username") ?? "", accessToken];
  const raw = [...parts, ...(expiration === null ? [] : [expiration])].join(":");
  const expected = `v1_${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`;
  if (!sameSecret(q.get("signature") ?? "", expected)) return { status: 401, message: "invalid signature" };
  if (expiration !== null) {
    const at = Number(expiration);
    if (!Number.isInteger(at) || at * 1000 < Date.now()) {
      return { status: 403, message: `the signature expired at ${Number.isInteger(at) ? new Date(at * 1000).toISOString() : expiration}` };
    }
  }
  return undefined;
}

export async function handleEnvd(req: IncomingMessage, res: ServerResponse, url: URL, sandbox: Sandbox, limits: EnvdLimits): Promise<void> {
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /health") return sendNoContent(res);
  if (url.pathname === "/files") {
    if (req.method === "GET") return readFile(req, res, url, sandbox);
    if (req.method === "POST") return writeFiles(req, res, url, sandbox, limits);
  }
  if (req.method === "POST" && url.pathname.startsWith(PROCESS_SERVICE)) {
    const method = url.pathname.slice(PROCESS_SERVICE.length);
    const streaming = method === "Start" || method === "Connect";
    try {
      const body = await readBody(req, RPC_BODY_LIMIT);
      const parsedUser = parseSandboxUser(rpcUser(req));
      if ("error" in parsedUser) throw new ConnectRpcError("invalid_argument", parsedUser.error);
      switch (method) {
        case "Start":
          return await start(req, res, parseEnvelopedRequest(body) as StartRequest, sandbox, limits, parsedUser.user);
        case "Connect":
          return connect(req, res, parseEnvelopedRequest(body) as { process?: Selector }, sandbox, limits);
        case "List":
          return sendUnary(res, { processes: [...sandbox.commands.values()].filter((c) => !c.exited).map(processInfo) });
        case "SendSignal":
          return sendSignal(res, parseJson(body) as { process?: Selector; signal?: string | number }, sandbox);
        case "SendInput":
          return sendInput(res, parseJson(body) as { process?: Selector; input?: { stdin?: string; pty?: string } }, sandbox);
        case "CloseStdin": {
          const command = mustFind(sandbox, (parseJson(body) as { process?: Selector }).process);
          if (!command.closeStdin()) throw new ConnectRpcError("failed_precondition", `process ${command.pid} has no open stdin`);
          return sendUnary(res, {});
        }
        default:
          throw new ConnectRpcError("unimplemented", `process.Process/${method} is not implemented by the local sandbox host`);
      }
    } catch (e) {
      return sendRpcFailure(res, e, streaming);
    }
  }
  if (req.method === "POST" && url.pathname.startsWith(FILESYSTEM_SERVICE)) {
    return handleFilesystem(req, res, url.pathname.slice(FILESYSTEM_SERVICE.length), sandbox, () => rpcUser(req));
  }
  if (req.method === "POST" && /^\/[a-z]+\.[A-Za-z]+\/[A-Za-z]+$/.test(url.pathname)) {
    return sendUnaryError(res, "unimplemented", `${url.pathname.slice(1)} is not implemented by the local sandbox host`);
  }
  sendError(res, 404, `${req.method} ${url.pathname} is not an envd route the local sandbox host serves`);
}

// ---------------------------------------------------------------------------------------------
// process.Process

type Selector = { pid?: number; tag?: string };
type StartRequest = {
  process?: { cmd?: string; args?: string[]; envs?: Record<string, string>; cwd?: string };
  pty?: unknown;
  tag?: string;
  stdin?: boolean;
};

function mustFind(sandbox: Sandbox, selector: Selector | undefined): Command {
  const command = sandbox.findCommand(selector);
  if (!command || command.exited) {
    const what = selector?.pid !== undefined ? `pid ${selector.pid}` : `tag ${JSON.stringify(selector?.tag)}`;
    throw new ConnectRpcError("not_found", `process with ${what} not found`);
  }
  return command;
}

function processInfo(c: Command) {
  // envs are not echoed back: they may hold the session's secrets.
  return { config: { cmd: c.config.cmd, args: c.config.args, envs: {}, cwd: c.config.cwd }, pid: c.pid, ...(c.tag ? { tag: c.tag } : {}) };
}

function validConfig(p: StartRequest["process"]): ProcessConfig {
  if (!p || typeof p.cmd !== "string" || p.cmd === "") throw new ConnectRpcError("invalid_argument", "process.cmd is required");
  const args = p.args ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== "string"))
    throw new ConnectRpcError("invalid_argument", "process.args must be strings");
  const envs = p.envs ?? {};
  if (typeof envs !== "object" || Object.values(envs).some((v) => typeof v !== "string")) {
    throw new ConnectRpcError("invalid_argument", "process.envs must map names to strings");
  }
  for (const name of Object.keys(envs)) {
    if (!/^[^=\0]+$/.test(name) || envs[name]!.includes("\0"))
      throw new ConnectRpcError("invalid_argument", `invalid environment variable ${JSON.stringify(name)}`);
  }
  if (p.cwd !== undefined && typeof p.cwd !== "string") throw new ConnectRpcError("invalid_argument", "process.cwd must be a string");
  return { cmd: p.cmd, args, envs, cwd: p.cwd };
}

/**
 * A Start/Connect response stream: start event, data events, end event, end-of-stream. Backpressure:
 * once more than `maxBuffered` bytes wait to be sent, `data` answers false and the command stops being
 * read (its writes then block, as on E2B) until the client has read them (`drain`) or goes away.
 */
class StreamSubscriber implements Subscriber {
  private closed = false;
  private keepalive: NodeJS.Timeout | undefined;
  private command: Command | undefined;

  constructor(
    private readonly res: ServerResponse,
    pid: number,
    private readonly maxBuffered: number,
    keepaliveSeconds: number | undefined,
  ) {
    res.writeHead(200, { "content-type": STREAM_CONTENT_TYPE });
    res.write(envelope({ event: { start: { pid } } }));
    if (keepaliveSeconds) {
      this.keepalive = setInterval(() => this.write(envelope({ event: { keepalive: {} } })), keepaliveSeconds * 1000);
      this.keepalive.unref();
    }
    res.on("drain", () => this.command?.drained(this));
    res.on("close", () => this.close());
  }

  /** Subscribes to `command`; the subscription ends when the response closes (the command keeps running). */
  attach(command: Command): void {
    this.command = command;
    const unsubscribe = command.subscribe(this);
    this.res.on("close", unsubscribe);
  }

  private write(frame: Buffer): void {
    if (!this.closed && !this.res.destroyed) this.res.write(frame);
  }

  data(stream: OutputStream, chunk: Buffer): boolean {
    if (this.closed || this.res.destroyed) return true;
    this.write(envelope({ event: { data: { [stream]: chunk.toString("base64") } } }));
    return this.res.writableLength < this.maxBuffered;
  }

  end(event: EndEvent): void {
    this.write(envelope({ event: { end: event } }));
    this.finish();
  }

  gone(message: string): void {
    this.fail("unavailable", message);
  }

  fail(code: "deadline_exceeded" | "unavailable", message: string): void {
    this.write(endStream({ code, message }));
    this.close();
    if (!this.res.destroyed) this.res.end();
  }

  private finish(): void {
    this.write(endStream());
    this.close();
    if (!this.res.destroyed) this.res.end();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.keepalive);
    this.command?.drained(this);
  }
}

function keepaliveOf(req: IncomingMessage): number | undefined {
  const n = Number(header(req, "keepalive-ping-interval"));
  return Number.isFinite(n) && n >= 1 ? Math.min(n, 3600) : undefined;
}

async function start(
  req: IncomingMessage,
  res: ServerResponse,
  msg: StartRequest,
  sandbox: Sandbox,
  limits: EnvdLimits,
  user: SandboxUser,
): Promise<void> {
  if (msg.pty) throw new ConnectRpcError("unimplemented", "PTY is not supported by the local sandbox host");
  const config = validConfig(msg.process);
  const command = await sandbox.startCommand(config, {
    tag: typeof msg.tag === "string" ? msg.tag : undefined,
    stdin: msg.stdin === true,
    user,
  });
  const sub = new StreamSubscriber(res, command.pid, limits.maxBufferedOutputBytes, keepaliveOf(req));
  sub.attach(command); // a client going away does not stop the command
  const deadline = requestTimeoutMs(req.headers["connect-timeout-ms"]);
  if (deadline !== undefined) {
    command.setDeadline(deadline, () => sub.fail("deadline_exceeded", `the command exceeded its ${deadline} ms timeout and was killed`));
  }
}

function connect(req: IncomingMessage, res: ServerResponse, msg: { process?: Selector }, sandbox: Sandbox, limits: EnvdLimits): void {
  const command = mustFind(sandbox, msg.process);
  const sub = new StreamSubscriber(res, command.pid, limits.maxBufferedOutputBytes, keepaliveOf(req));
  sub.attach(command);
  const deadline = requestTimeoutMs(req.headers["connect-timeout-ms"]);
  if (deadline !== undefined) {
    const timer = setTimeout(() => sub.fail("deadline_exceeded", `the stream exceeded its ${deadline} ms timeout`), deadline);
    timer.unref();
    res.on("close", () => clearTimeout(timer));
  }
}

const SIGNALS: Record<string, NodeJS.Signals> = { SIGNAL_SIGKILL: "SIGKILL", SIGNAL_SIGTERM: "SIGTERM", "9": "SIGKILL", "15": "SIGTERM" };

function sendSignal(res: ServerResponse, msg: { process?: Selector; signal?: string | number }, sandbox: Sandbox): void {
  const sig = SIGNALS[String(msg.signal)];
  if (!sig) throw new ConnectRpcError("invalid_argument", `unsupported signal ${JSON.stringify(msg.signal)}`);
  mustFind(sandbox, msg.process).signal(sig);
  sendUnary(res, {});
}

function sendInput(res: ServerResponse, msg: { process?: Selector; input?: { stdin?: string; pty?: string } }, sandbox: Sandbox): void {
  const command = mustFind(sandbox, msg.process);
  if (typeof msg.input?.stdin !== "string") throw new ConnectRpcError("invalid_argument", "only stdin input is supported");
  if (!command.writeStdin(Buffer.from(msg.input.stdin, "base64"))) {
    throw new ConnectRpcError("failed_precondition", `process ${command.pid} was not started with stdin`);
  }
  sendUnary(res, {});
}

// ---------------------------------------------------------------------------------------------
// files

const OUTSIDE = "the local sandbox host serves files under /home/user, /tmp and /root only";

function fileError(res: ServerResponse, sandboxPath: string, e: unknown): void {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return sendError(res, 404, `path '${sandboxPath}' does not exist`);
  if (code === "ENOTDIR") return sendError(res, 400, `a parent of '${sandboxPath}' is not a directory (or is a symlink)`);
  if (code === "ELOOP")
    return sendError(res, 400, `path '${sandboxPath}' goes through a symlink; the local host does not write through symlinks`);
  if (code === "EISDIR") return sendError(res, 400, `path '${sandboxPath}' is a directory`);
  if (code === "ENXIO" || e instanceof NotAFileError) return sendError(res, 400, `path '${sandboxPath}' is not a regular file`);
  if (e instanceof PathEscapeError) return sendError(res, 400, `path '${sandboxPath}': ${e.message}`);
  if (e instanceof PermissionError) return sendError(res, 403, `path '${sandboxPath}': ${e.message}`);
  sendError(res, 500, `path '${sandboxPath}': ${e instanceof Error ? e.message : String(e)}`);
}

/** What `Accept-Encoding` allows: gzip when it is acceptable, identity, or nothing (406). */
export function responseEncoding(accept: string | undefined): "gzip" | "identity" | undefined {
  if (accept === undefined || accept.trim() === "") return "identity";
  const q = new Map<string, number>();
  for (const part of accept.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    const qParam = params.map((x) => x.trim()).find((x) => x.startsWith("q="));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q.set(name, Number.isFinite(value) ? value : 0);
  }
  const of = (name: string) => q.get(name) ?? q.get("*");
  if ((of("gzip") ?? 0) > 0 || (q.get("x-gzip") ?? 0) > 0) return "gzip";
  return (of("identity") ?? 1) > 0 ? "identity" : undefined;
}

function readFile(req: IncomingMessage, res: ServerResponse, url: URL, sandbox: Sandbox): void {
  const parsedUser = parseSandboxUser(url.searchParams.get("username") ?? undefined);
  if ("error" in parsedUser) return sendError(res, 400, parsedUser.error);
  const encoding = responseEncoding(header(req, "accept-encoding"));
  if (!encoding) return sendError(res, 406, "no acceptable encoding found, supported: [identity, gzip]");
  const requested = url.searchParams.get("path");
  if (!requested) return sendError(res, 400, "path is required");
  const sandboxPath = normalizeSandboxPath(requested, homeOf(parsedUser.user));
  const mapped = hostPathFor(sandbox.dirs, sandboxPath);
  if (!mapped) return sendError(res, 404, `path '${sandboxPath}' is not readable: ${OUTSIDE}`);
  let fd: number;
  try {
    fd = openForRead(mapped.hostPath, mapped.base, actorOf(sandbox, parsedUser.user));
  } catch (e) {
    return fileError(res, sandboxPath, e);
  }
  const size = fstatSync(fd).size;
  if (size === 0) {
    closeSync(fd);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": 0 });
    return void res.end();
  }
  const disposition = `attachment; filename="${encodeURIComponent(path.posix.basename(sandboxPath))}"`;
  const file = createReadStream("", { fd, autoClose: true, start: 0, end: size - 1 }).on("error", () => res.destroy());
  if (encoding === "gzip") {
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-encoding": "gzip",
      vary: "Accept-Encoding",
      "content-disposition": disposition,
    });
    file.pipe(createGzip().on("error", () => res.destroy())).pipe(res);
    return;
  }
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size, "content-disposition": disposition });
  file.pipe(res);
}

async function writeFiles(req: IncomingMessage, res: ServerResponse, url: URL, sandbox: Sandbox, limits: EnvdLimits): Promise<void> {
  const parsedUser = parseSandboxUser(url.searchParams.get("username") ?? undefined);
  if ("error" in parsedUser) {
    req.resume();
    return sendError(res, 400, parsedUser.error);
  }
  const encoding = (header(req, "content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "" && encoding !== "gzip" && encoding !== "x-gzip") {
    req.resume();
    return sendError(res, 400, `unsupported Content-Encoding '${encoding}': the local sandbox host accepts identity and gzip`);
  }
  const tooLarge = () => sendError(res, 400, `upload exceeds the local host's limit of ${limits.maxUploadBytes} bytes`);
  let body: Buffer;
  try {
    body = await readBody(req, limits.maxUploadBytes);
  } catch (e) {
    if (e instanceof BodyTooLargeError) return tooLarge();
    throw e;
  }
  if (encoding === "gzip" || encoding === "x-gzip") {
    // The body is stored decompressed, as envd does; the limit holds for the decompressed size too.
    try {
      body = gunzipSync(body, { maxOutputLength: limits.maxUploadBytes });
    } catch (e) {
      if (e instanceof RangeError || (e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return tooLarge();
      return sendError(res, 400, `the body is not valid gzip (Content-Encoding: gzip): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const queryPath = url.searchParams.get("path") ?? undefined;
  const contentType = header(req, "content-type") ?? "";
  let files: Array<{ path: string | undefined; data: Buffer }>;
  if (contentType.startsWith("multipart/form-data")) {
    const boundary = boundaryOf(contentType);
    if (!boundary) return sendError(res, 400, "multipart body without a boundary");
    try {
      files = parseMultipart(body, boundary)
        .filter((p) => p.name === "file")
        .map((p) => ({ path: queryPath ?? p.filename, data: p.data }));
    } catch (e) {
      return sendError(res, 400, e instanceof Error ? e.message : String(e));
    }
  } else {
    files = [{ path: queryPath, data: body }];
  }
  if (files.length === 0) return sendError(res, 400, "no file in the request");
  const written: Array<{ name: string; type: "file"; path: string }> = [];
  for (const file of files) {
    if (!file.path) return sendError(res, 400, "file path is required");
    const sandboxPath = normalizeSandboxPath(file.path, homeOf(parsedUser.user));
    const mapped = hostPathFor(sandbox.dirs, sandboxPath);
    if (!mapped || mapped.hostPath === mapped.base) return sendError(res, 400, `path '${sandboxPath}' is not writable: ${OUTSIDE}`);
    let fd: number | undefined;
    try {
      fd = openForWrite(mapped.hostPath, mapped.base, actorOf(sandbox, parsedUser.user));
      ftruncateSync(fd, 0);
      for (let off = 0; off < file.data.length;) off += writeSync(fd, file.data, off, file.data.length - off, off);
    } catch (e) {
      return fileError(res, sandboxPath, e);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    written.push({ name: path.posix.basename(sandboxPath), type: "file", path: sandboxPath });
  }
  sendJson(res, 200, written);
}
