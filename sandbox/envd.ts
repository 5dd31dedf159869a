/**
 * The envd side of the host: requests that carry `e2b-sandbox-id` (the SDK sends it, with
 * `x-access-token`, on every envd request when `sandboxUrl` is set).
 *
 * - `GET /health` → 204.
 * - `process.Process`: `Start` and `Connect` (server streaming), `List`, `SendSignal`, `SendInput`,
 *   `CloseStdin` (unary). No PTY (`pty` in `Start`, `Update`) and no `StreamInput`.
 * - `GET /files?path=` (raw bytes) and `POST /files[?path=]` (multipart `file` parts, or a raw
 *   `application/octet-stream` body), for paths under `/home/user` and `/tmp`.
 *
 * A Start call's `Connect-Timeout-Ms` is the command's deadline: when it passes, the command is killed
 * and the stream ends with `deadline_exceeded`, as on E2B (hence `timeoutMs: 0` for long-running
 * background commands). A client disconnecting does not stop the command.
 */
import { closeSync, createReadStream, fstatSync, ftruncateSync, writeSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import type { Command, EndEvent, OutputStream, ProcessConfig, Subscriber } from "./commands.js";
import {
  ConnectRpcError,
  endStream,
  envelope,
  parseEnvelopedRequest,
  parseJson,
  requestTimeoutMs,
  sendStreamError,
  sendUnary,
  sendUnaryError,
  STREAM_CONTENT_TYPE,
} from "./connectRpc.js";
import { BodyTooLargeError, header, readBody, sendError, sendJson, sendNoContent } from "./httpUtil.js";
import { boundaryOf, parseMultipart } from "./multipart.js";
import type { Sandbox } from "./sandboxes.js";
import { hostPathFor, normalizeSandboxPath, NotAFileError, openForRead, openForWrite, PathEscapeError } from "./sandboxPaths.js";

export type EnvdLimits = {
  /** Output a slow stream client may have queued on the host before more is dropped, bytes. */
  maxBufferedOutputBytes: number;
  maxUploadBytes: number;
};

const PROCESS_SERVICE = "/process.Process/";
const RPC_BODY_LIMIT = 1 << 20;

export async function handleEnvd(req: IncomingMessage, res: ServerResponse, url: URL, sandbox: Sandbox, limits: EnvdLimits): Promise<void> {
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /health") return sendNoContent(res);
  if (url.pathname === "/files") {
    if (req.method === "GET") return readFile(res, url, sandbox);
    if (req.method === "POST") return writeFiles(req, res, url, sandbox, limits);
  }
  if (req.method === "POST" && url.pathname.startsWith(PROCESS_SERVICE)) {
    const method = url.pathname.slice(PROCESS_SERVICE.length);
    const streaming = method === "Start" || method === "Connect";
    try {
      const body = await readBody(req, RPC_BODY_LIMIT);
      switch (method) {
        case "Start":
          return await start(req, res, parseEnvelopedRequest(body) as StartRequest, sandbox, limits);
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
      const err =
        e instanceof ConnectRpcError
          ? e
          : e instanceof BodyTooLargeError
            ? new ConnectRpcError("resource_exhausted", e.message)
            : new ConnectRpcError("internal", e instanceof Error ? e.message : String(e));
      if (res.headersSent) return void res.end();
      return streaming ? sendStreamError(res, err.code, err.message) : sendUnaryError(res, err.code, err.message);
    }
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

/** A Start/Connect response stream: start event, data events, end event, end-of-stream. */
class StreamSubscriber implements Subscriber {
  private closed = false;
  private readonly dropped: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
  private keepalive: NodeJS.Timeout | undefined;

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
    res.on("close", () => this.close());
  }

  private write(frame: Buffer): void {
    if (!this.closed && !this.res.destroyed) this.res.write(frame);
  }

  data(stream: OutputStream, chunk: Buffer): void {
    if (this.closed || this.res.destroyed) return;
    if (this.res.writableLength + chunk.length > this.maxBuffered) {
      this.dropped[stream] += chunk.length;
      return;
    }
    this.writeMarker(stream);
    this.write(envelope({ event: { data: { [stream]: chunk.toString("base64") } } }));
  }

  /** Tells the client how much of `stream` it lost, once there is room again (or at the end). */
  private writeMarker(stream: OutputStream): void {
    if (this.dropped[stream] === 0) return;
    const marker = `\n[lakitu sandbox host: dropped ${this.dropped[stream]} bytes of ${stream}: the client did not read fast enough]\n`;
    this.dropped[stream] = 0;
    this.write(envelope({ event: { data: { [stream]: Buffer.from(marker).toString("base64") } } }));
  }

  end(event: EndEvent): void {
    this.writeMarker("stdout");
    this.writeMarker("stderr");
    this.write(envelope({ event: { end: event } }));
    this.finish();
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
  }
}

function keepaliveOf(req: IncomingMessage): number | undefined {
  const n = Number(header(req, "keepalive-ping-interval"));
  return Number.isFinite(n) && n >= 1 ? Math.min(n, 3600) : undefined;
}

async function start(req: IncomingMessage, res: ServerResponse, msg: StartRequest, sandbox: Sandbox, limits: EnvdLimits): Promise<void> {
  if (msg.pty) throw new ConnectRpcError("unimplemented", "PTY is not supported by the local sandbox host");
  const config = validConfig(msg.process);
  const command = await sandbox.startCommand(config, { tag: typeof msg.tag === "string" ? msg.tag : undefined, stdin: msg.stdin === true });
  const sub = new StreamSubscriber(res, command.pid, limits.maxBufferedOutputBytes, keepaliveOf(req));
  const unsubscribe = command.subscribe(sub);
  res.on("close", unsubscribe); // the command keeps running
  const deadline = requestTimeoutMs(req.headers["connect-timeout-ms"]);
  if (deadline !== undefined) {
    command.setDeadline(deadline, () => sub.fail("deadline_exceeded", `the command exceeded its ${deadline} ms timeout and was killed`));
  }
}

function connect(req: IncomingMessage, res: ServerResponse, msg: { process?: Selector }, sandbox: Sandbox, limits: EnvdLimits): void {
  const command = mustFind(sandbox, msg.process);
  const sub = new StreamSubscriber(res, command.pid, limits.maxBufferedOutputBytes, keepaliveOf(req));
  const unsubscribe = command.subscribe(sub);
  res.on("close", unsubscribe);
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

const OUTSIDE = "the local sandbox host serves files under /home/user and /tmp only";

function fileError(res: ServerResponse, sandboxPath: string, e: unknown): void {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return sendError(res, 404, `path '${sandboxPath}' does not exist`);
  if (code === "ENOTDIR") return sendError(res, 400, `a parent of '${sandboxPath}' is not a directory (or is a symlink)`);
  if (code === "ELOOP")
    return sendError(res, 400, `path '${sandboxPath}' goes through a symlink; the local host does not write through symlinks`);
  if (code === "EISDIR") return sendError(res, 400, `path '${sandboxPath}' is a directory`);
  if (code === "ENXIO" || e instanceof NotAFileError) return sendError(res, 400, `path '${sandboxPath}' is not a regular file`);
  if (e instanceof PathEscapeError) return sendError(res, 400, `path '${sandboxPath}': ${e.message}`);
  sendError(res, 500, `path '${sandboxPath}': ${e instanceof Error ? e.message : String(e)}`);
}

function readFile(res: ServerResponse, url: URL, sandbox: Sandbox): void {
  const requested = url.searchParams.get("path");
  if (!requested) return sendError(res, 400, "path is required");
  const sandboxPath = normalizeSandboxPath(requested);
  const mapped = hostPathFor(sandbox.dirs, sandboxPath);
  if (!mapped) return sendError(res, 404, `path '${sandboxPath}' is not readable: ${OUTSIDE}`);
  let fd: number;
  try {
    fd = openForRead(mapped.hostPath, mapped.base);
  } catch (e) {
    return fileError(res, sandboxPath, e);
  }
  const size = fstatSync(fd).size;
  if (size === 0) {
    closeSync(fd);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": 0 });
    return void res.end();
  }
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": size,
    "content-disposition": `attachment; filename="${encodeURIComponent(path.posix.basename(sandboxPath))}"`,
  });
  createReadStream("", { fd, autoClose: true, start: 0, end: size - 1 })
    .on("error", () => res.destroy())
    .pipe(res);
}

async function writeFiles(req: IncomingMessage, res: ServerResponse, url: URL, sandbox: Sandbox, limits: EnvdLimits): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, limits.maxUploadBytes);
  } catch (e) {
    if (e instanceof BodyTooLargeError)
      return sendError(res, 400, `upload exceeds the local host's limit of ${limits.maxUploadBytes} bytes`);
    throw e;
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
    const sandboxPath = normalizeSandboxPath(file.path);
    const mapped = hostPathFor(sandbox.dirs, sandboxPath);
    if (!mapped || mapped.hostPath === mapped.base) return sendError(res, 400, `path '${sandboxPath}' is not writable: ${OUTSIDE}`);
    let fd: number | undefined;
    try {
      fd = openForWrite(mapped.hostPath, mapped.base, sandbox.uid);
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
