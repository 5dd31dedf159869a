/**
 * `lakitu dev` with the app's own KSAs (lakitu/ksa/): bundled into the runtime the sandboxes mount,
 * known to the component so stages may list them, and refused with every problem when invalid.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runBuiltStep } from "../../runtime/testing/builtStep.js";
import { EXAMPLE_KSA } from "../init/scaffold.js";
import { CliError } from "../errors.js";
import { makeApp, type App } from "../testing/fixtures.js";
import { startDev, type Dev } from "./start.js";

let app: App;
let dev: Dev;

beforeAll(async () => {
  app = makeApp({ "package.json": '{ "name": "ksa-app", "type": "module" }\n', "lakitu/ksa/slug.ts": EXAMPLE_KSA });
  dev = await startDev({ cwd: app.root, port: 0 });
}, 120_000);

afterAll(async () => {
  await dev?.close();
  app?.cleanup();
});

async function mutation(name: string, args: unknown) {
  const res = await fetch(`${dev.url}api/mutation`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, args }) });
  return { status: res.status, body: (await res.json()) as any };
}

test("the sandboxes' runtime is the one bundled with the app's KSAs, and agent code can require them", async () => {
  expect(dev.appKsas).toEqual(["slug"]);
  const runtimeDir = join(app.root, ".lakitu", "dev", "runtime");
  expect(dev.stack.runtimeDir).toBe(runtimeDir);
  const step = await runBuiltStep(join(runtimeDir, "worker.js"), ["slug", "file"], ['const { slug } = require("lakitu/ksa");', 'console.log(await slug.make({ text: "Héllo, Wörld!" }));'].join("\n"));
  expect(step.error).toBeUndefined();
  expect(step.output).toBe("hello-world\n");
}, 60_000);

test("a stage may list an app KSA; an unknown one is refused naming the field", async () => {
  const ok = await mutation("createBoard", { name: "Slugs", stages: [{ name: "Name", kind: "agent", allowedKsas: ["file", "artifacts", "slug"] }, { name: "Done", kind: "done" }] });
  expect(ok.status).toBe(200);
  const bad = await mutation("createBoard", { name: "Typos", stages: [{ name: "Name", kind: "agent", allowedKsas: ["file", "slugg"] }] });
  expect(bad.status).toBe(400);
  expect(bad.body.code).toBe("invalid_argument");
  expect(bad.body.message).toContain("slugg");
});

test("an invalid app KSA stops dev before anything starts, naming its file", async () => {
  const broken = makeApp({ "package.json": "{}\n", "lakitu/ksa/bad.ts": "export const x = ;\n" });
  try {
    const e = await startDev({ cwd: broken.root, port: 0 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).code).toBe("invalid_ksa");
    expect((e as CliError).details.join("\n")).toContain("lakitu/ksa/bad.ts");
  } finally {
    broken.cleanup();
  }
});
