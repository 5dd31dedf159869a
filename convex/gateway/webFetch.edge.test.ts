/**
 * web.fetch under the edge-runtime environment the component's convex-test suite uses (the closest
 * stand-in for Convex's default runtime here): its fetch must hand back redirects unfollowed with
 * `redirect: "manual"`, and its body stream must be cancellable.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { isLakituError } from "../shared/errors.js";
import { webFetch } from "./webFetch.js";

let server: Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? "");
    if (req.url === "/to-metadata") {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" });
      return res.end();
    }
    res.writeHead(200, { "content-type": "text/plain" });
    const pump = () => {
      while (!res.destroyed) if (!res.write("z".repeat(8192))) return res.once("drain", pump);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test("a redirect is seen and checked, not followed", async () => {
  const e = await webFetch({ url: `${base}/to-metadata` }, { enabled: true, testOnlyAllowLoopback: true }).catch((err: unknown) => err);
  expect(isLakituError(e, "forbidden") && e.data.message).toMatch(/redirect 1 .*cloud metadata address/);
  expect(hits).toEqual(["/to-metadata"]);
});

test("an endless body is cut at maxBytes and the fetch returns", async () => {
  const result = await webFetch({ url: `${base}/endless`, maxBytes: 20_000 }, { enabled: true, testOnlyAllowLoopback: true });
  expect(result).toMatchObject({ status: 200, truncated: true });
  expect(result.text).toHaveLength(20_000);
});
