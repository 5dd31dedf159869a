import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { RUN_TRANSITIONS, isTerminal } from "./machine.js";
import { RUN_STATUSES, TERMINAL_RUN_STATUSES } from "../shared/validators.js";

const readme = readFileSync(new URL("../component/README.md", import.meta.url), "utf8");

function diagramEdges(): Set<string> {
  const block = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("no mermaid block in convex/component/README.md");
  const edges = new Set<string>();
  for (const line of block.split("\n")) {
    const m = /^\s*(\w+)\s*-->\s*(\w+)/.exec(line);
    if (m && m[1] !== "[*]" && m[2] !== "[*]") edges.add(`${m[1]}->${m[2]}`);
  }
  return edges;
}

describe("run state machine", () => {
  test("the README's mermaid diagram is exactly the code's transition table", () => {
    const code = new Set(Object.entries(RUN_TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`)));
    expect([...diagramEdges()].sort()).toEqual([...code].sort());
  });

  test("every status is in the table and terminal states have no way out", () => {
    expect(Object.keys(RUN_TRANSITIONS).sort()).toEqual([...RUN_STATUSES].sort());
    for (const s of TERMINAL_RUN_STATUSES) {
      expect(isTerminal(s)).toBe(true);
      expect(RUN_TRANSITIONS[s]).toEqual([]);
    }
  });

  test("every active state can be canceled and reaches a terminal state", () => {
    for (const s of RUN_STATUSES) {
      if (isTerminal(s)) continue;
      expect(RUN_TRANSITIONS[s]).toContain("canceled");
      expect(RUN_TRANSITIONS[s]).toContain("failed");
    }
  });
});
