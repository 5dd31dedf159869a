/** Resume raises the limit the paused run stopped on, by what that run used. */
import { describe, expect, test } from "vitest";
import type { PublicRun } from "../../convex/client/index.js";
import { RESUME_EXTRA_STEPS, resumeRaise } from "./CardActions.js";

const usage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0.75, steps: 7, sandboxSeconds: 0 };
const run = (budget?: PublicRun["budget"]) => ({ usage, startedAt: 1_000, endedAt: 91_000, budget }) as unknown as PublicRun;

describe("resumeRaise", () => {
  test("each budget raises only its own limit", () => {
    expect(resumeRaise(run({ limit: "maxSteps", message: "7 steps" }))).toEqual({ maxSteps: 7 + RESUME_EXTRA_STEPS });
    expect(resumeRaise(run({ limit: "maxCostUsd", message: "$0.75" }))).toEqual({ maxCostUsd: 1.75 });
    expect(resumeRaise(run({ limit: "maxDurationMs", message: "90 s" }))).toEqual({ maxDurationMs: 180_000 });
  });
  test("a run without a recorded budget gets more steps", () => {
    expect(resumeRaise(run())).toEqual({ maxSteps: 7 + RESUME_EXTRA_STEPS });
    expect(resumeRaise(undefined)).toEqual({ maxSteps: RESUME_EXTRA_STEPS });
  });
});
