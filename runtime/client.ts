import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
/**
 * The runtime's HTTP client for the component's routes. One retry policy for every call:
 *
 * - 2xx `{ ok: true }` → the body.
 * - 401, or 409 with code `stale` → `RunOverError`: the run is over for this runtime. Never retried;
 *   every later call fails the same way at once, without touching the network.
 * - 429, 5xx, network errors and per-attempt timeouts → retried with exponential backoff and jitter
 *   until the call's give-up time (by default the run's deadline), then `GiveUpError`.
 * - any other 4xx → `LakituHttpError` (a bad request will not get better by repeating it).
 *
 * Error messages never contain the token; every JSON body is passed through the redactor before it is
 * sent, so the token can only ever leave in the Authorization header.
 */
import { redactor } from "./redact.js";
import { MAX_ROUTE_UPLOAD_BYTES } from "../convex/shared/uploadLimits.js";

export type RetryPolicy = {
  /** First backoff. Default 250 ms. */
  initialMs: number;
  /** Backoff cap. Default 5000 ms. */
  maxMs: number;
  /** Growth factor. Default 2. */
  factor: number;
};
export const DEFAULT_RETRY: RetryPolicy = { initialMs: 250, maxMs: 5_000, factor: 2 };
/** Before the task (and its deadline) is known, calls give up after this long. */
export const BOOTSTRAP_GIVE_UP_MS = 5 * 60_000;
const DEFAULT_ATTEMPT_TIMEOUT_MS = 30_000;
/** Attempts to send bytes to a storage upload URL. */
const STORAGE_ATTEMPTS = 3;

export type ClientOptions = {
  url: string;
  token: string;
  generation: number;
  retry?: Partial<RetryPolicy>;
  /** Injected for tests. */
  fetch?: typeof fetch;
  /**
   * The storage upload URLs' origin, when this sandbox may reach it (E2B allows it in the sandbox's
   * egress): files then go straight to storage, past the 20 MiB of the component's route.
   */
  storageOrigin?: string;
  /** Called once, the first time the component says the run is over for us (401 / 409 stale). */
  onRunOver?: (error: RunOverError) => void;
};

export type CallOptions = {
  /** Absolute time (epoch ms) after which retrying stops. Default: the run deadline. */
  giveUpAt?: number;
  /** Timeout of one attempt. Default 30 s (capped by `giveUpAt`). */
  attemptTimeoutMs?: number;
  /** Aborts the call (and its retries) at once. */
  signal?: AbortSignal;
  /** A successful answer is raw bytes (application/octet-stream), not JSON. */
  binary?: boolean;
};

/** The component answered with an error that retrying will not fix. */
export class LakituHttpError extends Error {
  override name = "LakituHttpError";
  constructor(
    readonly path: string,
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`/${path} → ${status} ${code}: ${message}`);
  }
}

/** 401 (token revoked or invalid) or 409 `stale` (an older generation): stop, do not retry. */
export class RunOverError extends LakituHttpError {
  override name = "RunOverError";
}

/** Retrying stopped because the give-up time (the run's deadline) passed. */
export class GiveUpError extends Error {
  override name = "GiveUpError";
}

/** The caller aborted the call. */
export class AbortedError extends Error {
  override name = "AbortedError";
}

type Retryable = { retryable: true; message: string; retryAfterMs?: number };

export type LlmReply = { reply: string; stop?: "budget_exceeded" | "max_steps" | "run_ended" | "model_unavailable" | "model_failed" | (string & {}) };
export type InboxMessage = { seq: number; text: string; author?: string };
export type EventInput = { seq: number; kind: string; level?: "debug" | "info" | "warn" | "error"; text?: string; data?: unknown; ts?: number };
export type ManifestEntry = { name: string; type?: string; sha256?: string };
export type Completion = {
  status: "succeeded" | "failed" | "canceled";
  summary?: string;
  error?: string;
  manifest: ManifestEntry[];
  /** How many events (seqs 0..eventCount-1) the runtime sent: the component marks any it lacks as a gap. */
  eventCount?: number;
};

export class LakituClient {
  private readonly base: string;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly redact: (text: string) => string;
  private deadline: number;
  private over: RunOverError | undefined;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, "");
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.fetchImpl = options.fetch ?? fetch;
    this.redact = redactor([options.token]);
    this.deadline = Date.now() + BOOTSTRAP_GIVE_UP_MS;
  }

  /** The run's deadline (epoch ms): the default give-up time of every call. */
  setDeadline(deadline: number): void {
    this.deadline = deadline;
  }
  getDeadline(): number {
    return this.deadline;
  }
  /** Set once the component said the run is over for us. */
  get runOver(): RunOverError | undefined {
    return this.over;
  }

  /** The raw task; check it with `parseTask`. */
  task(opts?: CallOptions): Promise<{ task: unknown }> {
    const version = runtimeVersion();
    return this.post("task", version ? { runtimeVersion: version } : {}, opts);
  }
  llm(step: number, observation: string, opts?: CallOptions): Promise<LlmReply> {
    return this.post("llm", { step, observation }, { attemptTimeoutMs: 10 * 60_000, ...opts });
  }
  ksa(ksa: string, fn: string, args: unknown, opts?: CallOptions): Promise<{ result: unknown }> {
    return this.post("ksa", { ksa, fn, args }, opts);
  }
  events(events: EventInput[], opts?: CallOptions): Promise<{ stored: number; duplicates: number }> {
    return this.post("events", { events }, opts);
  }
  heartbeat(opts?: CallOptions): Promise<{ status: string; deadline?: number }> {
    return this.post("heartbeat", {}, opts);
  }
  inbox(afterSeq: number, opts?: CallOptions): Promise<{ messages: InboxMessage[] }> {
    return this.post("inbox", { afterSeq }, opts);
  }
  /** A file of the run this one resumes (its id from the task's `restore` list), as bytes. */
  restore(artifactId: string, opts?: CallOptions): Promise<Uint8Array> {
    return this.send("restore", "restore", this.redact(JSON.stringify({ artifactId })), { "content-type": "application/json" }, { ...opts, binary: true });
  }
  complete(completion: Completion, opts?: CallOptions): Promise<{ accepted: boolean; status?: string }> {
    return this.post("complete", completion, opts);
  }
  /**
   * Uploads one file (the protocol: convex/shared/uploadLimits.ts). `POST upload-url` checks it first
   * (nothing is sent for bytes the component already has); the bytes then go to the storage upload URL
   * when this runtime reaches its origin, else through the component's `artifacts` route (at most
   * MAX_ROUTE_UPLOAD_BYTES: Convex's HTTP body limit); `POST commit` records what storage received.
   */
  async uploadArtifact(
    name: string,
    bytes: Uint8Array,
    meta: { type?: string; contentType: string; sha256: string },
    opts?: CallOptions,
  ): Promise<{ artifactId: string; version: number; duplicate: boolean }> {
    const intent = { name, size: bytes.byteLength, sha256: meta.sha256, contentType: meta.contentType, ...(meta.type ? { type: meta.type } : {}) };
    const begun = await this.post<{ existing?: { artifactId: string; version: number }; uploadUrl?: string }>("upload-url", intent, opts);
    if (begun.existing) return { ...begun.existing, duplicate: true };
    if (begun.uploadUrl && this.reaches(begun.uploadUrl)) {
      const storageId = await this.sendToStorage(begun.uploadUrl, bytes, meta.contentType, opts);
      const { size, sha256, contentType, ...named } = intent;
      return await this.post("commit", { ...named, storageId, sha256, size, contentType }, opts);
    }
    if (bytes.byteLength > MAX_ROUTE_UPLOAD_BYTES) {
      const where = begun.uploadUrl ? new URL(begun.uploadUrl).origin : "(none)";
      throw new LakituHttpError(
        "artifacts",
        413,
        "too_large",
        this.redact(`${name} is ${bytes.byteLength} bytes; this sandbox reaches the component only at ${new URL(this.base).origin}, not the storage upload URL's origin ${where}, and files through the component's route are limited to ${MAX_ROUTE_UPLOAD_BYTES} bytes (Convex's HTTP body limit)`),
      );
    }
    const query = new URLSearchParams({ name, ...(meta.type ? { type: meta.type } : {}) });
    return this.send("artifacts", `artifacts?${query}`, bytes, { "content-type": meta.contentType, "x-lakitu-sha256": meta.sha256 }, opts);
  }

  /** Whether this runtime can send to `url`: the component's own origin, and storage's when the sandbox's egress allows it. */
  private reaches(url: string): boolean {
    if (!URL.canParse(url)) return false;
    const origin = new URL(url).origin;
    return origin === new URL(this.base).origin || (this.options.storageOrigin !== undefined && origin === this.options.storageOrigin);
  }

  /** POSTs the bytes to a storage upload URL; answers its storageId. Network errors and 5xx are retried a few times. */
  private async sendToStorage(uploadUrl: string, bytes: Uint8Array, contentType: string, opts: CallOptions = {}): Promise<string> {
    let last = "";
    for (let attempt = 1; attempt <= STORAGE_ATTEMPTS; attempt++) {
      if (opts.signal?.aborted) throw new AbortedError("upload aborted");
      try {
        // No bearer token: the upload URL carries its own one-time grant.
        const r = await this.fetchImpl(uploadUrl, { method: "POST", headers: { "content-type": contentType }, body: bytes as BodyInit, signal: opts.signal });
        const text = await r.text();
        const storageId = r.ok ? (parseJson(text)?.storageId as unknown) : undefined;
        if (typeof storageId === "string") return storageId;
        last = `${r.status}: ${text.slice(0, 200)}`;
        if (r.status < 500) break;
      } catch (e) {
        if (opts.signal?.aborted) throw new AbortedError("upload aborted");
        last = networkMessage(e);
      }
      if (attempt < STORAGE_ATTEMPTS) await sleep(this.retry.initialMs * attempt, opts.signal);
    }
    throw new LakituHttpError("upload", 502, "upload_failed", this.redact(`storage did not accept the upload: ${last}`));
  }

  /** POSTs a JSON body (redacted) to `path` with the retry policy. */
  post<T>(path: string, body: unknown, opts?: CallOptions): Promise<T> {
    const text = this.redact(JSON.stringify(body));
    return this.send(path, path, text, { "content-type": "application/json" }, opts);
  }

  private async send<T>(route: string, pathAndQuery: string, body: string | Uint8Array, headers: Record<string, string>, opts: CallOptions = {}): Promise<T> {
    const path = this.redact(route);
    const giveUpAt = opts.giveUpAt ?? this.deadline;
    let backoff = this.retry.initialMs;
    let attempts = 0;
    for (;;) {
      if (this.over) throw this.over;
      if (opts.signal?.aborted) throw new AbortedError(`/${path} aborted`);
      if (attempts === 0 && Date.now() >= giveUpAt) throw new GiveUpError(`gave up on /${path}: the run's deadline has passed`);
      attempts++;
      const outcome = await this.attempt<T>(path, pathAndQuery, body, headers, giveUpAt, opts);
      if (!isRetryable(outcome)) return outcome.value;
      const now = Date.now();
      // Equal jitter: half the backoff fixed, half random, so many runtimes do not retry in lockstep.
      let wait = backoff / 2 + Math.random() * (backoff / 2);
      if (outcome.retryAfterMs !== undefined) wait = Math.max(wait, outcome.retryAfterMs);
      if (now + wait >= giveUpAt) {
        throw new GiveUpError(`gave up on /${path} after ${attempts} attempt${attempts > 1 ? "s" : ""}: ${outcome.message}`);
      }
      await sleep(wait, opts.signal);
      backoff = Math.min(backoff * this.retry.factor, this.retry.maxMs);
    }
  }

  private async attempt<T>(
    path: string,
    pathAndQuery: string,
    body: string | Uint8Array,
    headers: Record<string, string>,
    giveUpAt: number,
    opts: CallOptions,
  ): Promise<{ value: T } | Retryable> {
    const timeoutMs = Math.max(1, Math.min(opts.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS, giveUpAt - Date.now()));
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    let bytes: Uint8Array;
    try {
      response = await this.fetchImpl(`${this.base}/${pathAndQuery}`, {
        method: "POST",
        headers: {
          ...headers,
          authorization: `Bearer ${this.options.token}`,
          "x-lakitu-generation": String(this.options.generation),
        },
        body: body as BodyInit,
        signal,
      });
      bytes = new Uint8Array(await response.arrayBuffer());
      text = response.ok && opts.binary ? "" : new TextDecoder().decode(bytes);
    } catch (e) {
      if (opts.signal?.aborted) throw new AbortedError(`/${path} aborted`);
      if (timeout.aborted) return { retryable: true, message: `no answer within ${timeoutMs} ms` };
      return { retryable: true, message: this.redact(networkMessage(e)) };
    }
    if (response.ok && opts.binary && response.headers.get("content-type") === "application/octet-stream") return { value: bytes as T };
    const parsed = parseJson(text);
    const code = typeof parsed?.code === "string" ? parsed.code : `http_${response.status}`;
    const message = this.redact(typeof parsed?.message === "string" ? parsed.message : text.slice(0, 300) || response.statusText);
    if (response.ok && parsed?.ok === true) {
      const { ok: _ok, ...rest } = parsed;
      return { value: rest as T };
    }
    if (response.status === 401 || (response.status === 409 && code === "stale")) {
      if (!this.over) {
        this.over = new RunOverError(path, response.status, code, message);
        this.options.onRunOver?.(this.over);
      }
      throw this.over;
    }
    // 409 busy: the run's previous model turn is still in flight (e.g. this is a retry of a request
    // whose answer was lost); once it settles the same step is answered from the replay.
    if (response.status === 429 || response.status >= 500 || (response.status === 409 && code === "busy") || (response.ok && parsed === undefined)) {
      const retryAfter = Number(response.headers.get("retry-after"));
      return {
        retryable: true,
        message: `${response.status} ${code}: ${message}`,
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 60_000) : undefined,
      };
    }
    throw new LakituHttpError(path, response.status, code, message);
  }
}

function isRetryable<T>(o: { value: T } | Retryable): o is Retryable {
  return "retryable" in o;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function networkMessage(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return `${err?.message ?? String(e)}${cause ? ` (${cause})` : ""}`;
}

/** Resolves after `ms`, or rejects with `AbortedError` when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError("aborted"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The template build this runtime belongs to: `VERSION` next to the bundle, written by `lakitu build`
 * (absent when running from source). The component refuses a run pinned to another version.
 */
export function runtimeVersion(): string | undefined {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const v = readFileSync(join(here, "VERSION"), "utf8").trim();
    return /^[A-Za-z0-9._-]{1,64}$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
