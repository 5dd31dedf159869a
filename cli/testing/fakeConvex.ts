/**
 * A loopback stand-in for a Convex deployment's `/api/function` (what `npx convex run --component`
 * calls with an admin key): answers the component functions the CLI calls from `handlers`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Call = { componentPath: string; path: string; args: Record<string, unknown>; authorization?: string };
export type FakeConvex = { url: string; calls: Call[]; close(): Promise<void> };

export async function startFakeConvex(adminKey: string, handlers: Record<string, (args: any) => unknown>): Promise<FakeConvex> {
  const calls: Call[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
    const call: Call = { componentPath: body.componentPath, path: body.path, args: body.args, authorization: req.headers.authorization };
    calls.push(call);
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    if (req.url !== "/api/function" || req.method !== "POST") return reply(404, { code: "NotFound" });
    if (call.authorization !== `Convex ${adminKey}`) return reply(401, { code: "Unauthenticated", message: "bad admin key" });
    const handler = handlers[call.path];
    if (!handler) return reply(560, { status: "error", errorMessage: `Could not find function for '${call.path}'` });
    try {
      return reply(200, { status: "success", value: handler(call.args) ?? null, logLines: [] });
    } catch (e) {
      return reply(560, { status: "error", errorMessage: (e as Error).message, logLines: [] });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
