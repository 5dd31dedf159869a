import { afterEach, describe, expect, it } from "vitest";
import { LakituClient } from "./client.js";
import { EventReporter, startHeartbeat } from "./reporter.js";
import { FakeComponent, testToken, type Fault, type RecordedRequest } from "./testing/fakeComponent.js";
import { FAST_RETRY, waitFor } from "./testing/harness.js";

let fake: FakeComponent | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(fault?: (r: RecordedRequest) => Fault, opts: { flushMs?: number; batchSize?: number } = {}) {
  const token = testToken();
  fake = await new FakeComponent({ token, generation: 1, fault }).start();
  const client = new LakituClient({ url: fake.url, token, generation: 1, retry: FAST_RETRY });
  client.setDeadline(Date.now() + 60_000);
  const errors: string[] = [];
  const reporter = new EventReporter(client, { secrets: [token], flushMs: opts.flushMs ?? 50, batchSize: opts.batchSize, onError: (m) => errors.push(m) });
  return { fake, client, reporter, token, errors };
}

const batches = (f: FakeComponent) => (f.bodiesOf("events") as Array<{ events: Array<{ seq: number }> }>).map((b) => b.events.map((e) => e.seq));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("EventReporter", () => {
  it("numbers events from 0 and sends them in order, in batches of at most 100 (the component's default limit)", async () => {
    const { fake, reporter } = await setup();
    for (let i = 0; i < 250; i++) expect(reporter.emit("output", `line ${i}`)).toBe(i);
    await reporter.flush();
    expect(fake.storedSeqs).toEqual(range(250));
    expect(Math.max(...batches(fake).map((b) => b.length))).toBe(100);
    expect(reporter.pending).toBe(0);
  });

  it("flushes on its own after the interval", async () => {
    const { fake, reporter } = await setup(undefined, { flushMs: 30 });
    reporter.emit("status", "a");
    reporter.emit("status", "b");
    await fake.until(() => fake.storedSeqs.length === 2, 2_000);
    expect(batches(fake)).toEqual([[0, 1]]);
  });

  it("caps text and removes the token from text and data", async () => {
    const { fake, reporter, token } = await setup();
    reporter.emit("output", `${"x".repeat(9000)}`);
    reporter.emit("output", `the token is ${token}`, { data: { nested: [token] } });
    await reporter.flush();
    const [big, secret] = [fake.events.get(0)!, fake.events.get(1)!];
    expect(big.text!.length).toBeLessThan(8100);
    expect(big.text).toMatch(/…\[truncated 1000 chars\]$/);
    expect(secret.text).toBe("the token is [redacted]");
    expect(secret.data).toEqual({ nested: ["[redacted]"] });
    for (const r of fake.requests) expect(r.body.toString()).not.toContain(token);
  });

  it("stops reporting once the run's event quota is used up (one refused request, not one per event)", async () => {
    const { fake, reporter, errors } = await setup((r) => (r.path === "events" && JSON.parse(r.body.toString()).events.some((e: { seq: number }) => e.seq >= 5) ? "413-quota" : undefined), { batchSize: 5 });
    for (let i = 0; i < 5; i++) reporter.emit("output", String(i));
    await reporter.flush();
    for (let i = 5; i < 40; i++) reporter.emit("output", String(i));
    await reporter.flush();
    expect(fake.storedSeqs).toEqual(range(5));
    expect(batches(fake)).toHaveLength(2);
    expect(reporter.pending).toBe(0);
    expect(errors).toEqual([expect.stringMatching(/^events stopped: .*quota_exceeded/)]);
    reporter.emit("output", "after");
    await reporter.flush();
    expect(batches(fake)).toHaveLength(2);
  });

  it("halves its batches when the deployment's limit is lower", async () => {
    const { fake, reporter } = await setup((r) => (r.path === "events" && JSON.parse(r.body.toString()).events.length > 10 ? "413" : undefined));
    for (let i = 0; i < 60; i++) reporter.emit("output", String(i));
    await reporter.flush();
    expect(fake.storedSeqs).toEqual(range(60));
  });

  it("loses and duplicates nothing through an outage of errors and dropped connections", async () => {
    let n = 0;
    const start = Date.now();
    const { fake, reporter } = await setup((r) => {
      if (r.path !== "events" || Date.now() - start > 1_500) return undefined;
      return (["503", "drop", "drop-after"] as const)[n++ % 3];
    });
    for (let i = 0; i < 200; i++) {
      reporter.emit("output", `line ${i}`);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 50));
    }
    await reporter.flush();
    expect(fake.storedSeqs).toEqual(range(200));
    // Some batches were stored but their answer was lost; the resend was recognised as duplicates.
    expect(fake.duplicates).toBeGreaterThan(0);
  });

  it("flush(timeout) returns while the component is down, keeping the events", async () => {
    const { reporter } = await setup(() => "503");
    reporter.emit("status", "a");
    const t = Date.now();
    await reporter.flush(300);
    expect(Date.now() - t).toBeLessThan(1_000);
    expect(reporter.pending).toBe(1);
  });

  it("a refused event leaves a gap marker at its seq, so the log shows the loss", async () => {
    const poisoned = (r: RecordedRequest) => r.path === "events" && (JSON.parse(r.body.toString()).events as Array<{ kind: string }>).some((e) => e.kind === "poison");
    const { fake, reporter, errors } = await setup((r) => (poisoned(r) ? "400" : undefined));
    reporter.emit("status", "a");
    reporter.emit("poison", "refused content");
    reporter.emit("status", "b");
    await reporter.flush();
    expect(fake.storedSeqs.sort((x, y) => x - y)).toEqual([0, 1, 2]);
    const marker = fake.events.get(1)!;
    expect(marker).toMatchObject({ kind: "gap", level: "warn", data: { from: 1, to: 1, reason: expect.stringMatching(/^refused by the component: /) } });
    expect(marker.text).toMatch(/^event 1 was lost: refused by the component/);
    expect(errors).toEqual([expect.stringMatching(/^event 1 \(poison\) was refused/)]);
    expect(reporter.pending).toBe(0);
  });

  it("a queue that overflows while the component is down drops new events into one gap marker", async () => {
    let down = true;
    const { fake: component, reporter } = await (async () => {
      const token = testToken();
      const f = await new FakeComponent({ token, generation: 1, fault: (r) => (down && r.path === "events" ? "503" : undefined) }).start();
      fake = f;
      const client = new LakituClient({ url: f.url, token, generation: 1, retry: FAST_RETRY });
      client.setDeadline(Date.now() + 60_000);
      return { fake: f, reporter: new EventReporter(client, { secrets: [token], flushMs: 20, maxQueued: 5 }) };
    })();
    for (let i = 0; i < 10; i++) reporter.emit("output", `line ${i}`);
    expect(reporter.pending).toBe(5);
    down = false;
    await reporter.flush();
    reporter.emit("output", "after");
    await reporter.flush();
    expect(component.storedSeqs.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 10]);
    expect(component.events.get(5)).toMatchObject({ kind: "gap", text: "events 5..9 were lost: the runtime's event queue was full (the component was unreachable)", data: { from: 5, to: 9 } });
  });

  it("removes the token in its encoded forms too (base64 at any alignment, hex, JSON-escaped)", async () => {
    const { fake, reporter, token } = await setup();
    const hex = Buffer.from(token).toString("hex");
    reporter.emit("output", `b64 ${Buffer.from(`xy${token}`).toString("base64")} hex ${hex.toUpperCase()}`, { data: { [Buffer.from(token).toString("base64url")]: hex } });
    await reporter.flush();
    const sent = fake.requests.map((r) => r.body.toString()).join("\n");
    for (const form of [hex, hex.toUpperCase(), Buffer.from(token).toString("base64url").slice(0, 40)]) expect(sent).not.toContain(form);
    expect(fake.events.get(0)!.text).toMatch(/^b64 .*\[redacted\].* hex \[redacted\]$/);
  });

  it("stops sending once the run is over for us", async () => {
    const { fake, reporter } = await setup(() => "401");
    reporter.emit("status", "a");
    await reporter.flush();
    reporter.emit("status", "b");
    await reporter.flush();
    expect(fake.requests).toHaveLength(1);
    expect(reporter.pending).toBe(0);
  });
});

describe("startHeartbeat", () => {
  it("beats at the interval and stops when the run is no longer running", async () => {
    const { fake, client } = await setup();
    const stops: string[] = [];
    const deadlines: number[] = [];
    const hb = startHeartbeat(client, { intervalMs: 50, onStop: (r) => stops.push(r), onDeadline: (d) => deadlines.push(d) });
    await fake.until(() => fake.requests.length >= 3, 2_000);
    fake.status = "canceled";
    await waitFor(() => stops.length > 0, 2_000);
    const seen = fake.requests.length;
    await new Promise((r) => setTimeout(r, 150));
    hb.stop();
    expect(fake.requests.length).toBe(seen);
    expect(stops).toEqual(["the run is canceled"]);
    expect(deadlines.length).toBeGreaterThan(0);
  });

  it("stops on 401", async () => {
    const { client } = await setup(() => "401");
    const stops: string[] = [];
    startHeartbeat(client, { intervalMs: 50, onStop: (r) => stops.push(r) });
    await new Promise((r) => setTimeout(r, 200));
    expect(stops).toEqual([expect.stringContaining("401")]);
  });
});
