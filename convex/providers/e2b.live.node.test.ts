/**
 * Live test against real E2B. Runs only when E2B_API_KEY is set (and LAKITU_E2B_TEMPLATE names a built
 * template, default "base"); without a key it is skipped, as there is nothing to talk to.
 */
import { describe, expect, it } from "vitest";
import { e2bProvider } from "./e2b.js";

const key = process.env.E2B_API_KEY;

describe.skipIf(!key)("e2bProvider against real E2B (needs E2B_API_KEY)", () => {
  it("creates, reports, lists, extends and kills a sandbox", async () => {
    const call = (request: Parameters<ReturnType<typeof e2bProvider>>[1]["request"]) =>
      e2bProvider({ template: process.env.LAKITU_E2B_TEMPLATE ?? "base", command: "sleep 120" })({}, { request });
    const session = `live-${Date.now()}`;
    const created = await call({ op: "create", sessionId: session, metadata: { "lakitu.session": session }, envs: { LAKITU_TOKEN: "live-test" }, timeoutMs: 120_000 });
    expect(created).toMatchObject({ ok: true, op: "create" });
    const sandboxId = (created as { sandboxId: string }).sandboxId;
    try {
      expect(await call({ op: "status", sandboxId })).toEqual({ ok: true, op: "status", state: "running" });
      const listed = await call({ op: "list", metadata: { "lakitu.session": session } });
      expect(listed).toMatchObject({ ok: true, op: "list", sandboxes: [{ sandboxId }] });
      expect(await call({ op: "extend", sandboxId, timeoutMs: 180_000 })).toEqual({ ok: true, op: "extend" });
    } finally {
      expect(await call({ op: "kill", sandboxId })).toEqual({ ok: true, op: "kill", killed: true });
    }
    expect(await call({ op: "status", sandboxId })).toEqual({ ok: true, op: "status", state: "gone" });
  }, 120_000);
});
