import { afterEach, describe, expect, it } from "vitest";
import type { Fault } from "./testing/fakeComponent.js";
import { harness, run, ts, type Harness } from "./testing/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe("component outage", () => {
  it("a few seconds of 503s and dropped connections lose and duplicate no event", async () => {
    let outageStart: number | undefined;
    let n = 0;
    const faults: Fault[] = ["503", "drop", "drop-after", "503"];
    h = await harness({
      replies: [
        ts('for (let i = 0; i < 30; i++) console.log("a" + i);'),
        ts('import { artifacts } from "lakitu/ksa";\nawait artifacts.save({ name: "r.md", content: "during the outage" });\nconsole.log("saved");'),
        ts('console.log("after");'),
        "Done.",
      ],
      fault: (r) => {
        // The outage starts with the second model call and lasts 2.5 s, for every route but /complete
        // (a lost /complete answer is retried too, but the fake would then say "not accepted").
        if (outageStart === undefined && r.path === "llm" && JSON.parse(r.body.toString()).step === 1) outageStart = Date.now();
        if (outageStart === undefined || Date.now() - outageStart > 2_500 || r.path === "complete") return undefined;
        return faults[n++ % faults.length];
      },
    });
    const outcome = await run(h);
    expect(outcome).toMatchObject({ status: "succeeded", accepted: true });
    expect(n).toBeGreaterThan(5);
    const { fake } = h;
    // Every event stored exactly once, none missing, in seq order.
    const max = Math.max(...fake.storedSeqs);
    expect(fake.storedSeqs).toEqual(Array.from({ length: max + 1 }, (_, i) => i));
    expect([...fake.events.values()].at(-1)).toMatchObject({ kind: "status", text: "finished: succeeded" });
    expect(fake.llmCalls.map((c) => c.step)).toEqual([0, 1, 2, 3]);
    expect(fake.artifacts.get("r.md")?.bytes.toString()).toBe("during the outage");
    expect(fake.completions[0].manifest.map((m) => m.name)).toEqual(["r.md"]);
  }, 30_000);

  it("401 stops the runtime promptly, without retrying or completing", async () => {
    let revokedAt: number | undefined;
    h = await harness(
      {
        replies: [ts('console.log("long step");\nawait new Promise((r) => setTimeout(r, 60_000));'), "Done."],
        fault: (r) => {
          if (revokedAt === undefined && r.path === "events" && r.body.toString().includes('"kind":"code"')) revokedAt = Date.now();
          return revokedAt !== undefined && r.at > revokedAt ? "401" : undefined;
        },
      },
      { heartbeatMs: 200, stepTimeoutMs: 60_000 },
    );
    const t = Date.now();
    const outcome = await run(h);
    expect(outcome.status).toBe("over");
    expect(outcome.error).toMatch(/401/);
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(h.fake.requests.filter((r) => r.path === "complete")).toHaveLength(0);
    const after = h.fake.requests.filter((r) => r.at > revokedAt!);
    // The first 401 ends it: at most the requests already in flight follow.
    expect(after.length).toBeLessThanOrEqual(3);
  }, 30_000);
});
