/// <reference types="vite/client" />
/**
 * The limits checker breaks each limit on purpose (functions in limitsFixture.ts) and must report the
 * function, the limit and the measured figure; functions within the limits must pass untouched.
 */
import { convexTest } from "convex-test";
import { componentsGeneric, defineSchema, makeFunctionReference } from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import { register } from "../test.js";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { LimitsChecker, writtenDocumentSize } from "../testkit/limitsChecker.js";
import { CLOUD_LIMITS, LimitsConfigError, limitsFromEnv, resolveLimits, shapeViolation, type LimitsOption, type LimitViolation } from "../testkit/limits.js";
import { api } from "../component/_generated/api.js";
import { schema } from "./limitsFixture.js";
import { advance, CALLBACK_URL, makeBoard, setup } from "./harness.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const fixtureModules = {
  "./_generated/api.ts": async () => ({}),
  "./limitsFixture.ts": () => import("./limitsFixture.js"),
};
const mutation = (name: string) => makeFunctionReference<"mutation">(`limitsFixture:${name}`);
const query = (name: string) => makeFunctionReference<"query">(`limitsFixture:${name}`);
const action = (name: string) => makeFunctionReference<"action">(`limitsFixture:${name}`);

function deployment(limits: LimitsOption = "cloud") {
  const checker = new LimitsChecker({ limits });
  const t = checker.attach(convexTest(schema, checker.modules(fixtureModules)));
  return { t, checker };
}

/** Runs `call`, expects it to fail with the limit error, and returns the one violation recorded. */
async function violation(checker: LimitsChecker, call: () => Promise<unknown>): Promise<LimitViolation> {
  await expect(call()).rejects.toThrow(/Convex limit exceeded/);
  expect(checker.violations).toHaveLength(1);
  return checker.violations.splice(0)[0];
}

async function seedItems(t: ReturnType<typeof deployment>["t"], count: number, padBytes = 0) {
  await t.run(async (ctx) => {
    const pad = "p".repeat(padBytes);
    for (let n = 0; n < count; n++) await ctx.db.insert("items", { n, pad });
  });
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("documents", () => {
  test("a 2 MiB document is reported with its size", async () => {
    const { t, checker } = deployment();
    const v = await violation(checker, () => t.mutation(mutation("writeDoc"), { bytes: 2 * MiB }));
    expect(v).toMatchObject({ functionName: "limitsFixture:writeDoc", functionType: "mutation", limit: "documentBytes", allowed: MiB, profile: "cloud" });
    expect(v.measured).toBeGreaterThan(2 * MiB);
    expect(await t.run(async (ctx) => (await ctx.db.query("things").collect()).length)).toBe(0); // rolled back
  });

  test("a patch that grows a document past 1 MiB is reported", async () => {
    const { t, checker } = deployment();
    const v = await violation(checker, () => t.mutation(mutation("growDoc"), { bytes: MiB + 10 }));
    expect(v).toMatchObject({ limit: "documentBytes", detail: "db.patch" });
  });

  test("a replace that makes a document over 1 MiB is reported", async () => {
    const { t, checker } = deployment();
    const v = await violation(checker, () => t.mutation(mutation("replaceDoc"), { bytes: MiB + 10 }));
    expect(v).toMatchObject({ limit: "documentBytes", detail: "db.replace" });
    expect(v.measured).toBeGreaterThan(MiB + 10);
  });

  test("system fields count: exactly 1 MiB with _id and _creationTime passes, one byte more is reported", async () => {
    const { t, checker } = deployment();
    const idLength = (await t.run(async (ctx) => await ctx.db.insert("things", { data: 0 }))).length;
    // { data: "x" * n, _id, _creationTime }: 2 + (4 + 1 + 2 + n) + (3 + 1 + 2 + idLength) + (13 + 1 + 9).
    const fits = MiB - 38 - idLength;
    await t.mutation(mutation("writeDoc"), { bytes: fits });
    expect(checker.violations).toEqual([]);
    // The value alone (MiB - 23 - idLength bytes) is under the limit; the stored document is not.
    const v = await violation(checker, () => t.mutation(mutation("writeDoc"), { bytes: fits + 1 }));
    expect(v).toMatchObject({ limit: "documentBytes", measured: MiB + 1, detail: "db.insert into things" });
  });

  test("an insert's and a replace's size is what convex-test adds to bytesWritten", async () => {
    const { t, checker } = deployment();
    const values = [0, "héllo ✓ 𝄞", 12n, new Uint8Array([1, 2, 3]).buffer, null, true, [1, [2, "x"], { a: null }], { nested: { deep: ["a", "b"] }, gone: undefined }, "y".repeat(600)];
    const replacement = { r: "replacement", n: [1, 2, 3] };
    const rows = await t.mutation(mutation("writeSizes"), { values, replacement });
    expect(rows).toHaveLength(values.length);
    rows.forEach((row: { id: string; inserted: number; replaced: number }, i: number) => {
      expect(writtenDocumentSize({ data: values[i] }, row.id)).toBe(row.inserted);
      expect(writtenDocumentSize({ data: [replacement, values[i]] }, row.id)).toBe(row.replaced);
    });
    expect(checker.violations).toEqual([]);
  });

  test("a document just under 1 MiB passes", async () => {
    const { t, checker } = deployment();
    await t.mutation(mutation("writeDoc"), { bytes: MiB - 200 });
    expect(checker.violations).toEqual([]);
  });

  test("1,025 fields, 8,193 array elements and 17 levels of nesting are reported", async () => {
    const { t, checker } = deployment();
    const fields = Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`f${i}`, i]));
    let deep: unknown = 1;
    for (let i = 0; i < 16; i++) deep = [deep];
    // Arguments are Convex values too, so each is reported as the argument it arrives as.
    expect(await violation(checker, () => t.mutation(mutation("insertThing"), { data: fields }))).toMatchObject({ limit: "objectFields", measured: 1025, detail: "arguments at data" });
    expect(await violation(checker, () => t.mutation(mutation("insertThing"), { data: Array(8193).fill(0) }))).toMatchObject({ limit: "arrayElements", measured: 8193 });
    expect(await violation(checker, () => t.mutation(mutation("insertThing"), { data: { x: deep } }))).toMatchObject({ limit: "nestingDepth", measured: 17 });
    // 16 levels is allowed.
    await t.mutation(mutation("insertThing"), { data: deep });
    expect(checker.violations).toEqual([]);
  });

  test("shapes are checked on what is written, not only on arguments", () => {
    const limits = CLOUD_LIMITS;
    expect(shapeViolation({ a: { b: Array(8193).fill(1) } }, limits)).toEqual({ limit: "arrayElements", measured: 8193, path: "a.b" });
    expect(shapeViolation({ a: undefined, b: 1 }, { ...limits, objectFields: 1 })).toBeNull();
    // The path names where the violation is, through objects and arrays.
    expect(shapeViolation({ a: [1, { b: [{ c: Array(8193).fill(0) }] }] }, limits)).toEqual({ limit: "arrayElements", measured: 8193, path: "a[1].b[0].c" });
    expect(shapeViolation([[{ x: 1, y: 2 }]], { ...limits, objectFields: 1 })).toEqual({ limit: "objectFields", measured: 2, path: "[0][0]" });
    expect(shapeViolation(Array(8193).fill(0), limits)).toEqual({ limit: "arrayElements", measured: 8193, path: "(root)" });
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    expect(shapeViolation(deep, limits)).toMatchObject({ limit: "nestingDepth", measured: 17 });
  });
});

describe("transactions", () => {
  test("reading 32,001 documents is reported", async () => {
    const { t, checker } = deployment();
    await seedItems(t, 32_001);
    const v = await violation(checker, () => t.query(query("readAll"), {}));
    expect(v).toMatchObject({ functionName: "limitsFixture:readAll", functionType: "query", limit: "documentsRead", measured: 32_001, allowed: 32_000 });
  });

  test("a read of exactly the limit passes, one more document does not", async () => {
    const { t, checker } = deployment({ overrides: { documentsRead: 10 } });
    await seedItems(t, 10);
    expect(await t.query(query("readAll"), {})).toBe(10);
    expect(checker.violations).toEqual([]);
    await seedItems(t, 1);
    expect(await violation(checker, () => t.query(query("readAll"), {}))).toMatchObject({ limit: "documentsRead", measured: 11, allowed: 10 });
  });

  test("reading 17.6 MiB is reported, and the outermost function of the transaction is named", async () => {
    const { t, checker } = deployment();
    await seedItems(t, 20, 900 * KiB);
    const v = await violation(checker, () => t.mutation(mutation("readAllNested"), {}));
    expect(v).toMatchObject({ functionName: "limitsFixture:readAllNested", limit: "bytesRead", allowed: 16 * MiB });
    expect(v.measured).toBeGreaterThan(17.5 * MiB);
  });

  test("4,097 index ranges are reported", async () => {
    const { t, checker } = deployment();
    const id = await t.run(async (ctx) => await ctx.db.insert("items", { n: 1 }));
    await t.query(query("getMany"), { id, times: 4096 });
    const v = await violation(checker, () => t.query(query("getMany"), { id, times: 4097 }));
    expect(v).toMatchObject({ limit: "indexRanges", measured: 4097, allowed: 4096 });
  });

  test("writing 16,001 documents and 17 MiB are reported", async () => {
    const { t, checker } = deployment();
    expect(await violation(checker, () => t.mutation(mutation("writeMany"), { count: 16_001, padBytes: 0 }))).toMatchObject({ limit: "documentsWritten", measured: 16_001, allowed: 16_000 });
    const v = await violation(checker, () => t.mutation(mutation("writeMany"), { count: 17, padBytes: 1000 * KiB }));
    expect(v).toMatchObject({ limit: "bytesWritten", allowed: 16 * MiB });
    expect(v.measured).toBeGreaterThan(16 * MiB);
  });

  test("scheduling 1,001 functions from a mutation or an action is reported", async () => {
    const { t, checker } = deployment();
    await t.mutation(mutation("scheduleMany"), { count: 1000 });
    expect(checker.violations).toEqual([]);
    expect(await violation(checker, () => t.mutation(mutation("scheduleMany"), { count: 1001 }))).toMatchObject({ functionType: "mutation", limit: "scheduledFunctions", measured: 1001, allowed: 1000 });
    expect(await violation(checker, () => t.action(action("scheduleManyFromAction"), { count: 1001 }))).toMatchObject({ functionType: "action", limit: "scheduledFunctions", measured: 1001 });
  });
});

describe("arguments and return values", () => {
  test("a 20 MiB return value and an array of 8,193 are reported", async () => {
    const { t, checker } = deployment();
    const v = await violation(checker, () => t.query(query("returnBytes"), { bytes: 20 * MiB }));
    expect(v).toMatchObject({ functionName: "limitsFixture:returnBytes", limit: "returnBytes", allowed: 16 * MiB, detail: "return value" });
    expect(v.measured).toBeGreaterThan(20 * MiB);
    expect(await violation(checker, () => t.query(query("returnArray"), { length: 8193 }))).toMatchObject({ limit: "arrayElements", measured: 8193, detail: "return value at (root)" });
  });

  test("17 MiB of arguments to an action are reported", async () => {
    const { t, checker } = deployment();
    const v = await violation(checker, () => t.action(action("takeArgs"), { s: "a".repeat(17 * MiB) }));
    expect(v).toMatchObject({ functionType: "action", limit: "argumentBytes", detail: "arguments" });
  });
});

describe("profiles and reporting", () => {
  test("self-hosted figures are stricter: 10 MiB read passes Cloud and fails self-hosted", async () => {
    for (const [profile, fails] of [["cloud", false], ["selfHosted", true]] as const) {
      const { t, checker } = deployment(profile);
      await seedItems(t, 10, MiB - 1000);
      if (fails) expect(await violation(checker, () => t.query(query("readAll"), {}))).toMatchObject({ limit: "bytesRead", allowed: 8 * MiB, profile: "selfHosted" });
      else expect(await t.query(query("readAll"), {})).toBe(10);
    }
  });

  test("a violation in a scheduled function (whose error is only logged) is still reported", async () => {
    const { t, checker } = deployment();
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await t.mutation(mutation("scheduleOversizedWrite"), {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    logged.mockRestore();
    expect(checker.violations).toMatchObject([{ functionName: "limitsFixture:writeDoc", limit: "documentBytes" }]);
    expect(() => checker.assertClean()).toThrow(/mutation limitsFixture:writeDoc exceeded Convex's documentBytes limit: measured 2,097,\d{3} bytes, allowed 1,048,576 bytes \(cloud\)/);
    expect(() => checker.assertClean()).not.toThrow();
  });

  test("limits: false checks nothing", async () => {
    const { t, checker } = deployment(false);
    await t.mutation(mutation("writeDoc"), { bytes: 2 * MiB });
    expect(checker.violations).toEqual([]);
  });

  test("bad options name the field and what is allowed", () => {
    expect(() => resolveLimits("moon" as never)).toThrow(LimitsConfigError);
    expect(() => resolveLimits("moon" as never)).toThrow(/limits.profile: "moon" is not a profile; allowed: "cloud", "selfHosted"/);
    expect(() => resolveLimits({ overrides: { bytesRed: 1 } as never })).toThrow(/limits.overrides.bytesRed: not a limit; allowed: documentBytes/);
    expect(() => resolveLimits({ overrides: { bytesRead: -1 } })).toThrow(/limits.overrides.bytesRead: must be a non-negative integer/);
    expect(limitsFromEnv(undefined)).toBe("cloud");
    expect(limitsFromEnv("off")).toBe(false);
    expect(() => limitsFromEnv("strict")).toThrow(/LAKITU_LIMITS: "strict" is not allowed; use cloud, selfHosted or off/);
  });
});

describe("the shared component setup", () => {
  test("checks the component's functions and its child components'", async () => {
    const { t, limits, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL });
    await advance(t, 1_000);
    expect(limits.checked).toContain("boards:createBoard");
    expect(limits.checked).toContain("runs:runCard");
    expect([...limits.checked].some((n) => n.startsWith("workflow/workpool/"))).toBe(true);
    expect(limits.violations).toEqual([]);
  });

  test("a component function over a limit is named in the error", async () => {
    const { t, limits } = await setup({ limits: { overrides: { argumentBytes: 10 } } });
    await expect(t.mutation(api.boards.createBoard, { name: "Pipeline", stages: [{ name: "Done", kind: "done" }] })).rejects.toThrow(/mutation boards:createBoard exceeded Convex's argumentBytes limit: measured \d+ bytes, allowed 10 bytes/);
    expect(limits.violations.splice(0)).toMatchObject([{ functionName: "boards:createBoard", limit: "argumentBytes" }]);
  });

  test("lakitu/test's register checks Lakitu's functions inside an app, named with the component path", async () => {
    const t = convexTest(defineSchema({}), { "./_generated/api.ts": async () => ({}) });
    const limits = register(t, "lakitu", { limits: { overrides: { argumentBytes: 10 } } });
    const lakitu = componentsGeneric() as unknown as { lakitu: ComponentApi };
    await expect(t.mutation(lakitu.lakitu.boards.createBoard, { name: "Pipeline", stages: [{ name: "Done", kind: "done" }] })).rejects.toThrow(/mutation lakitu\/boards:createBoard exceeded Convex's argumentBytes limit/);
    expect(limits.violations.splice(0)).toMatchObject([{ functionName: "lakitu/boards:createBoard", limit: "argumentBytes", allowed: 10 }]);
  });
});
