/**
 * A loopback OpenAI-compatible chat-completions server for gateway tests: it records every request
 * (the model server's own count of calls), answers from a script of replies with the token usage
 * (and optionally the cost) each reports, and can hold answers back to keep calls in flight.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";

export type ScriptedReply = {
  status?: number;
  content?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens: number } };
  /** A provider-reported cost in USD (as OpenRouter-style `usage.cost`). */
  cost?: number;
  /** With a status of 400 or more: the JSON error body to answer with (default: an invalid-key error). */
  errorBody?: unknown;
};
/** A request as received: `raw` is the body text exactly as it arrived (what a secrets check scans). */
export type SeenRequest = { path: string; auth: string | undefined; body: any; raw: string };

export type ModelServer = {
  baseURL: string;
  seen: SeenRequest[];
  replies: ScriptedReply[];
  /** While set, every answer waits for this promise. */
  hold: Promise<void> | null;
  close(): Promise<void>;
};

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startModelServer(): Promise<ModelServer> {
  const state: Omit<ModelServer, "baseURL" | "close"> = { seen: [], replies: [], hold: null };
  const server: Server = createServer(async (req, res) => {
    const text = await bodyOf(req);
    state.seen.push({ path: req.url ?? "", auth: req.headers.authorization, body: text ? JSON.parse(text) : null, raw: text });
    const r = state.replies.shift() ?? { content: "All done." };
    if (state.hold) await state.hold;
    if (r.status && r.status >= 400) {
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(JSON.stringify(r.errorBody ?? { error: { message: "invalid api key", type: "invalid_request_error" } }));
      return;
    }
    const usage = r.usage ?? { prompt_tokens: 10, completion_tokens: 5 };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: `chatcmpl-${state.seen.length}`,
        object: "chat.completion",
        created: 1,
        model: "test-model",
        choices: [{ index: 0, message: { role: "assistant", content: r.content ?? "" }, finish_reason: "stop" }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens, ...(r.cost !== undefined ? { cost: r.cost } : {}) },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const ms = state as ModelServer;
  ms.baseURL = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  ms.close = () => new Promise<void>((r) => server.close(() => r()));
  return ms;
}

/**
 * Registers the vitest hooks a gateway test file needs: one model server for the file, reset before
 * each test (fake timers on, the component's env pointed at it, with `apiKey` as its key when given).
 * Returns a getter for the server.
 */
export function useModelServer(hooks: typeof import("vitest"), apiKey?: string): () => ModelServer {
  let server: ModelServer;
  hooks.beforeAll(async () => {
    server = await startModelServer();
  });
  hooks.afterAll(() => server.close());
  hooks.beforeEach(() => {
    hooks.vi.useFakeTimers();
    server.seen.length = 0;
    server.replies.length = 0;
    server.hold = null;
    hooks.vi.stubEnv("LAKITU_COMPATIBLE_BASE_URL", server.baseURL);
    if (apiKey) hooks.vi.stubEnv("LAKITU_COMPATIBLE_API_KEY", apiKey);
  });
  hooks.afterEach(() => {
    hooks.vi.unstubAllEnvs();
    hooks.vi.useRealTimers();
  });
  return () => server;
}
