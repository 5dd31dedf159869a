import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { transform } from "sucrase";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { z } from "zod";
import { BUILTIN_KSAS } from "./builtins/index.js";
import { defineKSA } from "./define.js";
import { KsaCallError, KsaPolicyError } from "./errors.js";
import { createKsaModule } from "./module.js";
import type { KsaContext, KsaDefinition } from "./types.js";

let workspace: string;
beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "ksa-module-"));
});

const ctxWith = (gateway: KsaContext["gateway"] = async () => null): KsaContext => ({ workspace, outputDir: join(workspace, "out"), gateway });

/** Runs agent code the way the runtime does: transpiled to CommonJS, `require("lakitu/ksa")` = the module. */
function runAgentCode(source: string, ksa: unknown): Record<string, unknown> {
  const { code } = transform(source, { transforms: ["typescript", "imports"] });
  const exports: Record<string, unknown> = {};
  const require = (id: string) => {
    if (id !== "lakitu/ksa") throw new Error(`unexpected require ${id}`);
    return ksa;
  };
  new Function("require", "exports", code)(require, exports);
  return exports;
}

const extra = (name: string) =>
  defineKSA({
    name,
    description: `The ${name} KSA.`,
    category: "project",
    defaultAllowed: false,
    functions: { ping: { description: "Pings.", params: z.object({}), result: z.string(), local: async () => `${name}: pong` } },
  });

describe("policy", () => {
  test("an allowed KSA is usable; a disallowed one throws when touched, naming the stage and what is allowed", async () => {
    const ksa = createKsaModule(ctxWith(), BUILTIN_KSAS, ["file", "artifacts", "plan"], "Research");
    expect(typeof ksa.file.read).toBe("function");
    expect(() => ksa.web).toThrow('KSA "web" is not allowed in stage "Research" (allowed: file, artifacts, plan)');
    expect(() => ksa.web).toThrow(KsaPolicyError);
    expect(() => ksa.shell).toThrow(/KSA "shell" is not allowed in stage "Research"/);
  });

  test("an unknown KSA throws, listing what is available", () => {
    const ksa = createKsaModule(ctxWith(), BUILTIN_KSAS, ["file", "plan"], "Research");
    expect(() => ksa.foo).toThrow('unknown KSA "foo"; available: file, plan');
  });

  test("names match exactly: allowing `file` does not admit `files`, `file2` or `fil`", async () => {
    const defs = [...BUILTIN_KSAS, extra("files"), extra("file2")];
    const ksa = createKsaModule(ctxWith(), defs, ["file"], "Build");
    expect(() => ksa.files).toThrow('KSA "files" is not allowed in stage "Build" (allowed: file)');
    expect(() => ksa.file2).toThrow('KSA "file2" is not allowed in stage "Build" (allowed: file)');
    expect(() => ksa.fil).toThrow('unknown KSA "fil"');
    const both = createKsaModule(ctxWith(), defs, ["files"], "Build");
    expect(await both.files.ping()).toBe("files: pong");
    expect(() => both.file).toThrow('KSA "file" is not allowed in stage "Build" (allowed: files)');
  });

  test("transpiled agent code: a named import of a disallowed KSA fails at its first use, allowed ones work", () => {
    const ksa = createKsaModule(ctxWith(), BUILTIN_KSAS, ["file", "artifacts", "plan"], "Research");
    const good = runAgentCode(`import { file, plan } from "lakitu/ksa"; export const fns = [typeof file.read, typeof plan.add];`, ksa);
    expect(good.fns).toEqual(["function", "function"]);
    expect(() => runAgentCode(`import { web } from "lakitu/ksa"; export const p = web.fetch({ url: "https://example.com" });`, ksa)).toThrow(
      'KSA "web" is not allowed in stage "Research" (allowed: file, artifacts, plan)',
    );
    const star = runAgentCode(`import * as k from "lakitu/ksa"; export const t = typeof k.file.write; export const m = k;`, ksa);
    expect(star.t).toBe("function");
    expect(() => (star.m as Record<string, unknown>).web).toThrow(/not allowed/);
    const def = runAgentCode(`import k from "lakitu/ksa"; export const t = typeof k.file.list;`, ksa);
    expect(def.t).toBe("function");
  });

  test("the module can be awaited, enumerates only allowed KSAs, and is read-only", async () => {
    const ksa = createKsaModule(ctxWith(), BUILTIN_KSAS, ["file", "plan"], "S");
    expect(await Promise.resolve(ksa)).toBe(ksa);
    expect(Object.keys(ksa)).toEqual(["file", "plan"]);
    expect("web" in ksa).toBe(false);
    expect("file" in ksa).toBe(true);
    expect(() => {
      (ksa as Record<string, unknown>).web = {};
    }).toThrow(/read-only/);
    expect(() => {
      (ksa.file as Record<string, unknown>).read = async () => "x";
    }).toThrow(/read-only/);
  });

  test("an unknown function of an allowed KSA throws, listing its functions", () => {
    const ksa = createKsaModule(ctxWith(), BUILTIN_KSAS, ["file"], "S");
    expect(() => ksa.file.reed).toThrow('file has no function "reed"; it has: read, write, edit, list, glob, grep');
  });

  test("a stage allowing a KSA that does not exist is a configuration error", () => {
    expect(() => createKsaModule(ctxWith(), BUILTIN_KSAS, ["file", "websearch"], "Research")).toThrow(
      'stage "Research" allows unknown KSA "websearch"; known: file, shell, artifacts, plan, pdf, web',
    );
  });

  test("the context must be usable", () => {
    expect(() => createKsaModule({ ...ctxWith(), workspace: "rel" }, BUILTIN_KSAS, [], "S")).toThrow(/workspace must be an absolute path/);
    expect(() => createKsaModule({ ...ctxWith(), outputDir: "/elsewhere" }, BUILTIN_KSAS, [], "S")).toThrow(/outputDir must be an absolute path inside/);
  });
});

describe("validation", () => {
  test("params are checked before anything runs, with the function and field named", async () => {
    const ksa = createKsaModule(ctxWith(), BUILTIN_KSAS, ["file"], "S");
    await expect(ksa.file.read({ path: 1 })).rejects.toThrow("file.read: params.path: expected string, received number");
    await expect(ksa.file.read({})).rejects.toThrow("file.read: params.path: expected string, received undefined");
    await expect(ksa.file.read({ path: "a", mode: "x" })).rejects.toThrow(/file\.read: params: unrecognized key: "mode"/);
    await expect(ksa.file.read("notes.md")).rejects.toThrow("file.read: params: expected one object argument { path, maxBytes? }, received string");
    await expect(ksa.file.read({ path: "a", maxBytes: 0 })).rejects.toThrow(/file\.read: params\.maxBytes: too small/);
    await expect(ksa.file.read({ path: 1 })).rejects.toBeInstanceOf(KsaCallError);
  });

  test("a local function's result is checked", async () => {
    const liar = defineKSA({
      name: "liar",
      description: "Returns the wrong type.",
      category: "project",
      defaultAllowed: false,
      functions: { count: { description: "Counts.", params: z.object({}), result: z.number(), local: async () => "three" as unknown as number } },
    });
    const ksa = createKsaModule(ctxWith(), [liar], ["liar"], "S");
    await expect(ksa.liar.count()).rejects.toThrow("liar.count: the function returned an invalid result: result: expected number, received string");
  });

  test("errors thrown by a local function carry the function's name", async () => {
    const ksa = createKsaModule(ctxWith(), BUILTIN_KSAS, ["file"], "S");
    const e = await ksa.file.read({ path: "missing.txt" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KsaCallError);
    expect((e as KsaCallError).message).toBe('file.read: "missing.txt" does not exist');
    expect((e as KsaCallError).ksa).toBe("file");
    expect((e as KsaCallError).fn).toBe("read");
  });
});

describe("gateway functions", () => {
  const task = { id: "t1", title: "Write the report", kind: "deliverable", status: "todo" };

  test("forward (ksa, fn, validated params with defaults) to ctx.gateway and return its checked result", async () => {
    const gateway = vi.fn(async (_k: string, fn: string) => (fn === "get" ? { tasks: [task] } : task));
    const ksa = createKsaModule(ctxWith(gateway), BUILTIN_KSAS, ["plan", "web"], "S");
    expect(await ksa.plan.add({ title: "Write the report", kind: "deliverable" })).toEqual(task);
    expect(gateway).toHaveBeenLastCalledWith("plan", "add", { title: "Write the report", kind: "deliverable" });
    await ksa.plan.add({ title: "x" });
    expect(gateway).toHaveBeenLastCalledWith("plan", "add", { title: "x", kind: "task" });
    expect(await ksa.plan.get()).toEqual({ tasks: [task] });
    expect(gateway).toHaveBeenLastCalledWith("plan", "get", {});
    await ksa.plan.update({ id: "t1", status: "done", note: "ok" });
    expect(gateway).toHaveBeenLastCalledWith("plan", "update", { id: "t1", status: "done", note: "ok" });
  });

  test("web.fetch forwards url and the default maxBytes", async () => {
    const page = { status: 200, contentType: "text/html", text: "<p>hi</p>", truncated: false };
    const gateway = vi.fn(async () => page);
    const ksa = createKsaModule(ctxWith(gateway), BUILTIN_KSAS, ["web"], "S");
    expect(await ksa.web.fetch({ url: "https://example.com/a" })).toEqual(page);
    expect(gateway).toHaveBeenCalledWith("web", "fetch", { url: "https://example.com/a", maxBytes: 262144 });
    await expect(ksa.web.fetch({ url: "file:///etc/passwd" })).rejects.toThrow(/web\.fetch: params\.url: /);
    expect(gateway).toHaveBeenCalledTimes(1);
  });

  test("invalid params never reach the gateway", async () => {
    const gateway = vi.fn(async () => task);
    const ksa = createKsaModule(ctxWith(gateway), BUILTIN_KSAS, ["plan"], "S");
    await expect(ksa.plan.update({ id: "t1", status: "finished" })).rejects.toThrow(/plan\.update: params\.status: invalid option/);
    await expect(ksa.plan.add({ title: "" })).rejects.toThrow(/plan\.add: params\.title: too small/);
    expect(gateway).not.toHaveBeenCalled();
  });

  test("a result the component got wrong is reported, not passed on", async () => {
    const ksa = createKsaModule(ctxWith(async () => ({ ...task, id: 7 })), BUILTIN_KSAS, ["plan"], "S");
    await expect(ksa.plan.add({ title: "x" })).rejects.toThrow("plan.add: the component returned an invalid result: result.id: expected string, received number");
    const wrapped = createKsaModule(ctxWith(async () => ({ result: task })), BUILTIN_KSAS, ["plan"], "S");
    await expect(wrapped.plan.add({ title: "x" })).rejects.toThrow(/plan\.add: the component returned an invalid result: result\.id: expected string, received undefined/);
  });

  test("a gateway failure reaches the agent with the function's name, once", async () => {
    const ksa = createKsaModule(
      ctxWith(async () => {
        throw new Error("plan task t9 does not exist; plan.get() lists the tasks");
      }),
      BUILTIN_KSAS,
      ["plan"],
      "S",
    );
    await expect(ksa.plan.update({ id: "t9", status: "done" })).rejects.toThrow(/^plan\.update: plan task t9 does not exist/);
    const prefixed = createKsaModule(ctxWith(async () => Promise.reject(new Error("plan.get: forbidden"))), BUILTIN_KSAS, ["plan"], "S");
    await expect(prefixed.plan.get()).rejects.toThrow(/^plan\.get: forbidden$/);
  });
});
