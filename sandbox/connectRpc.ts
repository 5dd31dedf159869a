/**
 * The Connect protocol (https://connectrpc.com/docs/protocol), JSON codec only — what the e2b SDK speaks
 * to envd (`useBinaryFormat: false`):
 *
 * - unary: `POST /<service>/<Method>`, `content-type: application/json`, the message as plain JSON;
 *   the answer is JSON with status 200, or an error status with `{code, message}`.
 * - server streaming: `content-type: application/connect+json`; the request and every response message
 *   are envelopes (1 flag byte, 4-byte big-endian length, JSON); the last envelope has flag 0x02 and
 *   holds `{}` or `{"error": {code, message}}`.
 */
import type { ServerResponse } from "node:http";
import { BodyTooLargeError } from "./httpUtil.js";

export const STREAM_CONTENT_TYPE = "application/connect+json";
export const UNARY_CONTENT_TYPE = "application/json";
const END_STREAM_FLAG = 0x02;
const COMPRESSED_FLAG = 0x01;

/** Connect error codes (string form) with the HTTP status a unary error answers with. */
export const CONNECT_CODES = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
} as const;
export type ConnectCode = keyof typeof CONNECT_CODES;

export class ConnectRpcError extends Error {
  constructor(
    readonly code: ConnectCode,
    message: string,
  ) {
    super(message);
  }
}

export function envelope(message: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

/** The end-of-stream envelope: success, or the error that ended the stream. */
export function endStream(error?: { code: ConnectCode; message: string }): Buffer {
  return envelope(error ? { error } : {}, END_STREAM_FLAG);
}

/** The first (for server streaming: the only) message of an enveloped request body. */
export function parseEnvelopedRequest(body: Buffer): unknown {
  if (body.length < 5) throw new ConnectRpcError("invalid_argument", "request body is not a Connect envelope");
  const flags = body.readUInt8(0);
  if (flags & COMPRESSED_FLAG) throw new ConnectRpcError("unimplemented", "compressed requests are not supported");
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) throw new ConnectRpcError("invalid_argument", "truncated Connect envelope");
  return parseJson(body.subarray(5, 5 + length));
}

export function parseJson(bytes: Buffer): unknown {
  try {
    return bytes.length === 0 ? {} : JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new ConnectRpcError("invalid_argument", "request body is not valid JSON");
  }
}

export function sendUnary(res: ServerResponse, message: unknown): void {
  const body = Buffer.from(JSON.stringify(message));
  res.writeHead(200, { "content-type": UNARY_CONTENT_TYPE, "content-length": body.length });
  res.end(body);
}

export function sendUnaryError(res: ServerResponse, code: ConnectCode, message: string): void {
  const body = Buffer.from(JSON.stringify({ code, message }));
  res.writeHead(CONNECT_CODES[code], { "content-type": UNARY_CONTENT_TYPE, "content-length": body.length });
  res.end(body);
}

/** A streaming call that fails before its first message: status 200, then only the end-of-stream error. */
export function sendStreamError(res: ServerResponse, code: ConnectCode, message: string): void {
  res.writeHead(200, { "content-type": STREAM_CONTENT_TYPE });
  res.end(endStream({ code, message }));
}

/**
 * Answers a failed RPC: a ConnectRpcError as it is, a body over the limit as resource_exhausted,
 * anything else as internal; as a stream's end or a unary error. A response already started is ended.
 */
export function sendRpcFailure(res: ServerResponse, e: unknown, streaming: boolean): void {
  const err =
    e instanceof ConnectRpcError
      ? e
      : e instanceof BodyTooLargeError
        ? new ConnectRpcError("resource_exhausted", e.message)
        : new ConnectRpcError("internal", e instanceof Error ? e.message : String(e));
  if (res.headersSent) return void res.end();
  return streaming ? sendStreamError(res, err.code, err.message) : sendUnaryError(res, err.code, err.message);
}

/** `Connect-Timeout-Ms` of the request: the call's deadline, or undefined for none. */
export function requestTimeoutMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !/^\d{1,10}$/.test(value)) return undefined;
  const ms = Number(value);
  return ms > 0 ? ms : undefined;
}
