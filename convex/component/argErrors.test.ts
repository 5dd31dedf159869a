/**
 * Every argument of every public function, malformed on purpose: each call must be refused with a
 * Lakitu `invalid_argument` error whose `path` names the field and whose message says what is allowed,
 * and nothing may be stored.
 *
 * The table is built from the functions' declared validators (what the generated `ComponentApi` shows
 * the app), so a new function or argument is covered without editing this file: for each field (nested
 * objects, array elements and record values included) a value of the wrong type, an unknown field next
 * to the known ones, and each required field left out.
 */
import { makeFunctionReference } from "convex/server";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { snapshotTables } from "../testing/runHelpers.js";
import { setup, type T } from "../testing/harness.js";

type Json = { type: string; value?: any; keys?: Json; values?: { fieldType: Json; optional: boolean }; tableName?: string };
type Fn = { module: string; name: string; kind: "query" | "mutation" | "action"; args: Json };
type Case = { fn: Fn; label: string; args: Record<string, unknown>; path: string; message: RegExp };

const modules = import.meta.glob<Record<string, any>>(["./*.ts", "!./*.test.ts", "!./schema.ts", "!./convex.config.ts", "!./crons.ts", "!./http.ts"], { eager: true });

function publicFunctions(): Fn[] {
  const out: Fn[] = [];
  for (const [file, mod] of Object.entries(modules)) {
    const module = file.replace(/^\.\//, "").replace(/\.ts$/, "");
    for (const [name, value] of Object.entries(mod)) {
      if (!value?.isPublic || typeof value.exportArgs !== "function") continue;
      const kind = value.isQuery ? "query" : value.isMutation ? "mutation" : "action";
      expect(typeof value.lakituArgs, `${module}.${name} must be built with model/functions.ts`).toBe("function");
      out.push({ module, name, kind, args: JSON.parse(value.lakituArgs()) });
    }
  }
  return out.sort((a, b) => `${a.module}.${a.name}`.localeCompare(`${b.module}.${b.name}`));
}

/** A value the validator accepts: required fields only, one-element arrays, a one-key record. */
function valid(j: Json): unknown {
  switch (j.type) {
    case "string":
    case "id":
      return "x";
    case "number":
      return 1;
    case "bigint":
      return 1n;
    case "boolean":
      return true;
    case "null":
      return null;
    case "any":
      return "anything";
    case "bytes":
      return new ArrayBuffer(1);
    case "literal":
      return j.value;
    case "union":
      return valid(j.value[0]);
    case "array":
      return [valid(j.value)];
    case "record":
      return { k: valid(j.values!.fieldType) };
    case "object":
      return Object.fromEntries(Object.entries(j.value as Record<string, { fieldType: Json; optional: boolean }>).map(([k, f]) => [k, valid(f.fieldType)]));
    default:
      throw new Error(`no sample for ${j.type}`);
  }
}

/** A value of a type the validator does not allow (built from its kind, not from the checker). */
function wrong(j: Json): unknown {
  const kinds = (x: Json): string[] => (x.type === "union" ? x.value.flatMap(kinds) : [x.type === "literal" ? `literal:${typeof x.value}` : x.type]);
  const taken = kinds(j);
  if (taken.every((k) => k.startsWith("literal:"))) return "robot";
  const candidates: Array<[string, unknown]> = [
    ["number", 42],
    ["string", "robot"],
    ["boolean", false],
    ["null", null],
    ["array", "not-an-array"],
  ];
  for (const [kind, value] of candidates) if (!taken.includes(kind) && !taken.includes("any") && !(kind === "string" && taken.includes("id"))) return value;
  throw new Error(`no wrong value for ${JSON.stringify(j)}`);
}

function cases(fn: Fn): Case[] {
  const out: Case[] = [];
  const base = valid(fn.args) as Record<string, unknown>;
  // Replaces the value at `keys` in a deep copy of `base`, or deletes it.
  const withAt = (keys: Array<string | number>, value: unknown, remove = false) => {
    const copy = structuredClone(base) as any;
    let node = copy;
    for (const k of keys.slice(0, -1)) node = node[k];
    const last = keys[keys.length - 1]!;
    if (remove) delete node[last];
    else node[last] = value;
    return copy as Record<string, unknown>;
  };
  const pathOf = (keys: Array<string | number>) => keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
  const walk = (j: Json, keys: Array<string | number>, optional: boolean) => {
    const path = pathOf(keys);
    if (j.type !== "any") out.push({ fn, label: `${path}: wrong type`, args: withAt(keys, wrong(j)), path, message: /expected|allowed|one of/ });
    if (!optional && keys.length > 0 && typeof keys[keys.length - 1] === "string") {
      out.push({ fn, label: `${path}: missing`, args: withAt(keys, undefined, true), path, message: /is missing; it is required/ });
    }
    if (j.type === "object") {
      const extra = [...keys, "bogusField"];
      out.push({ fn, label: `${pathOf(extra)}: unknown field`, args: withAt(extra, 1), path: pathOf(extra), message: /is not a field.*allowed fields|takes no fields/ });
      for (const [k, f] of Object.entries(j.value as Record<string, { fieldType: Json; optional: boolean }>)) walk(f.fieldType, [...keys, k], f.optional);
    } else if (j.type === "array") walk(j.value, [...keys, 0], false);
    else if (j.type === "record") walk(j.values!.fieldType, [...keys, "k"], true);
    else if (j.type === "union") for (const m of j.value as Json[]) if (m.type === "object") walk(m, keys, true);
  };
  for (const [k, f] of Object.entries(fn.args.value as Record<string, { fieldType: Json; optional: boolean }>)) walk(f.fieldType, [k], f.optional);
  const extra = "bogusArgument";
  out.push({ fn, label: `${extra}: unknown argument`, args: { ...base, [extra]: 1 }, path: extra, message: /is not a field|takes no fields/ });
  return out;
}

const snapshot = snapshotTables;

async function call(t: T, c: Case): Promise<any> {
  const ref = makeFunctionReference<any>(`${c.fn.module}:${c.fn.name}`);
  try {
    if (c.fn.kind === "query") await t.query(ref, c.args);
    else if (c.fn.kind === "mutation") await t.mutation(ref, c.args);
    else await t.action(ref, c.args);
  } catch (e) {
    return e;
  }
  return undefined;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("a malformed value in any argument of any public function", () => {
  test("is refused with invalid_argument naming the field's path and what is allowed, and stores nothing", async () => {
    const fns = publicFunctions();
    // The component's whole public surface is in the table (a module that stopped using the checked
    // builders would fail the lakituArgs expectation above).
    expect(fns.length).toBeGreaterThanOrEqual(45);
    const { t } = await setup();
    // Something stored already, so "nothing changed" compares real documents.
    const { api } = await import("./_generated/api.js");
    await t.mutation(api.boards.createBoard, { name: "B", stages: [{ name: "A", kind: "agent", goals: ["g"] }, { name: "Done", kind: "done" }] });
    const before = await snapshot(t);
    const all = fns.flatMap(cases);
    expect(all.length).toBeGreaterThan(300);
    const failures: string[] = [];
    for (const c of all) {
      const e = await call(t, c);
      const where = `${c.fn.module}.${c.fn.name} ${c.label}`;
      if (!e) failures.push(`${where}: accepted`);
      else if (e.data?.code !== "invalid_argument") failures.push(`${where}: ${e.data?.code ?? "no code"}: ${String(e.message).slice(0, 200)}`);
      else if (e.data.path !== c.path) failures.push(`${where}: path ${JSON.stringify(e.data.path)}, expected ${JSON.stringify(c.path)} (${e.data.message})`);
      else if (!c.message.test(e.data.message) || !e.data.message.startsWith(c.path)) failures.push(`${where}: message ${JSON.stringify(e.data.message)}`);
    }
    expect(failures).toEqual([]);
    expect(await snapshot(t)).toEqual(before);
  });

  test("names the allowed values of a union of literals and the path through arrays", async () => {
    const { t } = await setup();
    const { api } = await import("./_generated/api.js");
    let error: any;
    try {
      await t.mutation(api.boards.createBoard, {
        name: "B",
        stages: [
          { name: "A", kind: "agent" },
          { name: "B", kind: "agent" },
          { name: "C", kind: "agent", deliverables: [{ name: "x.exe", type: "exe" as never }] },
        ],
      });
    } catch (e) {
      error = e;
    }
    expect(error?.data).toEqual({
      code: "invalid_argument",
      path: "stages[2].deliverables[0].type",
      message: 'stages[2].deliverables[0].type is "exe"; expected one of "markdown", "json", "csv", "pdf", "png", "jpeg", "text", "html", "file"',
    });
    error = undefined;
    try {
      await t.mutation(api.boards.createBoard, { name: "B", stages: [{ name: "A", kind: "robot" as never }] });
    } catch (e) {
      error = e;
    }
    expect(error?.data.path).toBe("stages[0].kind");
    expect(error?.data.message).toBe('stages[0].kind is "robot"; expected one of "agent", "human", "done"');
  });
});
