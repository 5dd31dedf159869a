import { afterEach, describe, expect, it } from "vitest";
import { GiveUpError, LakituClient, LakituHttpError, RunOverError } from "./client.js";
import { FakeComponent, testToken, type Fault } from "./testing/fakeComponent.js";
import { FAST_RETRY } from "./testing/harness.js";

let fake: FakeComponent | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(fault?: (path: string, n: number) => Fault) {
  const token = testToken();
  const counts = new Map<string, number>();
  fake = await new FakeComponent({
    token,
    generation: 1,
    fault: (r) => {
      const n = (counts.get(r.path) ?? 0) + 1;
      counts.set(r.path, n);
      return fault?.(r.path, n);
    },
  }).start();
  const overs: RunOverError[] = [];
  const client = new LakituClient({ url: fake.url, token, generation: 1, retry: FAST_RETRY, onRunOver: (e) => overs.push(e) });
  return { client, token, overs, fake };
}

describe("LakituClient", () => {
  it("sends the auth headers and returns the body without ok", async () => {
    const { client, token, fake } = await setup();
    expect(await client.heartbeat()).toEqual({ status: "running", deadline: expect.any(Number) });
    const req = fake.requests[0];
    expect(req.headers.authorization).toBe(`Bearer ${token}`);
    expect(req.headers["x-lakitu-generation"]).toBe("1");
    expect(req.headers["content-type"]).toBe("application/json");
  });

  it("retries 503, 429 and dropped connections, then succeeds", async () => {
    const { client, fake } = await setup((_, n) => (n === 1 ? "503" : n === 2 ? "drop" : n === 3 ? "429" : undefined));
    expect(await client.inbox(-1)).toEqual({ messages: [] });
    expect(fake.requests).toHaveLength(4);
  });

  it("401: RunOverError at once, no retry, and later calls fail without the network", async () => {
    const { client, fake, overs } = await setup(() => "401");
    await expect(client.heartbeat()).rejects.toBeInstanceOf(RunOverError);
    await expect(client.events([{ seq: 0, kind: "x" }])).rejects.toBeInstanceOf(RunOverError);
    expect(fake.requests).toHaveLength(1);
    expect(overs).toHaveLength(1);
    expect(client.runOver?.status).toBe(401);
  });

  it("409 stale is the end of the run too", async () => {
    const { client } = await setup(() => "stale");
    await expect(client.task()).rejects.toMatchObject({ name: "RunOverError", status: 409, code: "stale" });
  });

  it("other 4xx are not retried", async () => {
    const { client, fake } = await setup();
    const err = (await client.post("nope", {}).catch((e: unknown) => e)) as LakituHttpError;
    expect(err).toBeInstanceOf(LakituHttpError);
    expect(err).not.toBeInstanceOf(RunOverError);
    expect(err.message).toBe("/nope → 404 not_found: no route /nope");
    expect(fake.requests).toHaveLength(1);
  });

  it("gives up when the deadline passes", async () => {
    const { client } = await setup(() => "503");
    client.setDeadline(Date.now() + 300);
    const t = Date.now();
    await expect(client.heartbeat()).rejects.toBeInstanceOf(GiveUpError);
    expect(Date.now() - t).toBeLessThan(1_000);
  });

  it("never puts the token in a body or an error message", async () => {
    const { client, token, fake } = await setup();
    await client.ksa("remote", "echo", { leaked: `token=${token}`, other: "lkt.other.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" });
    const body = fake.requests[0].body.toString();
    expect(body).not.toContain(token);
    expect(body).toContain("[redacted]");
    expect(body).not.toContain("lkt.other");
    // A server that echoes the token in its error message.
    const err = (await client.post(`echo-${token}`, {}).catch((e: unknown) => e)) as Error;
    expect(String(err.message)).not.toContain(token);
  });
});
