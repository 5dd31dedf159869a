/// <reference types="vite/client" />
/**
 * convex-test support for apps that use Lakitu (package export `lakitu/test`). See "Testing your app"
 * in the README.
 *
 * ```ts
 * import { convexTest } from "convex-test";
 * import lakituTest from "lakitu/test";
 * import schema from "./schema";
 *
 * const modules = import.meta.glob("./**\/*.ts");
 * // Lakitu's routes mounted under /lakitu/ as `app.use(lakitu, { httpPrefix: "/lakitu/" })` does,
 * // and the app's provider module (lakitu_sandbox.ts) replaced by the in-memory test provider.
 * const t = convexTest(schema, lakituTest.withLakitu(modules, { provider: "lakitu_sandbox" }));
 * lakituTest.register(t);
 * // ...run a card through your functions, wait for its sandbox, then play the agent inside it:
 * await lakituTest.waitFor(t, () => lakituTest.testProvider.alive().length === 1, { advance: (ms) => vi.advanceTimersByTime(ms) });
 * await lakituTest.runtime(t).deliver({ "notes.md": "# Notes\n..." });
 * ```
 */
import type { TestConvex } from "convex-test";
import { componentsGeneric, httpRouter, type GenericSchema, type HttpRouter, type SchemaDefinition } from "convex/server";
import workflowTest from "@convex-dev/workflow/test";
import agentTest from "@convex-dev/agent/test";
import schema from "./component/schema.js";
import { registerRoutes } from "./client/index.js";
import type { ComponentApi } from "./component/_generated/component.js";
import { testProvider, TestProvider, type FakeSandbox } from "./testkit/provider.js";
import { TestRuntime, type Fetcher } from "./testkit/runtime.js";
import { LimitsChecker } from "./testkit/limitsChecker.js";
import type { LimitsOption } from "./testkit/limits.js";
import { onTestFinished } from "vitest";

export { testProvider, TestProvider, TestRuntime, type FakeSandbox };

const modules = import.meta.glob("./component/**/*.ts");

type Modules = Record<string, () => Promise<any>>;

/**
 * Registers the component and its nested components (workflow with its workpool, and agent).
 * Their functions are checked against Convex's production limits (`limits`, default "cloud"; or
 * "selfHosted", or `false`): one that exceeds a limit fails as on a deployment, and fails the test
 * naming the function, the limit and the measured figure. Returns the checker (`violations`).
 */
export function register(t: TestConvex<SchemaDefinition<GenericSchema, boolean>>, name = "lakitu", opts: { limits?: LimitsOption } = {}): LimitsChecker {
  const limits = new LimitsChecker({ limits: opts.limits ?? "cloud" });
  const checked = limits.attach({ registerComponent: t.registerComponent.bind(t) });
  checked.registerComponent(name, schema, modules);
  workflowTest.register(checked as typeof t, `${name}/workflow`);
  agentTest.register(checked as typeof t, `${name}/agent`);
  try {
    onTestFinished(() => limits.assertClean());
  } catch {
    // Registered outside a test (beforeAll, module scope): check `limits.assertClean()` yourself.
  }
  return limits;
}

/** The in-memory provider as a module: it exports `provider`, like the app's own provider file. */
export const providerModule = (): Promise<unknown> => import("./testkit/provider.js");

/**
 * The app's modules for `convexTest`, with two changes a test needs:
 * - `httpPrefix` (default "/lakitu/"): Lakitu's runtime routes are served at that prefix by `t.fetch`,
 *   next to the app's own `http.ts` routes. In a deployment `app.use(lakitu, { httpPrefix })` serves
 *   the component's own http.ts there; convex-test serves only the app's http.ts, so the same route
 *   handlers are mounted on it the way `registerRoutes` does. Pass `httpPrefix: false` if the app
 *   mounts them itself with `registerRoutes`.
 * - `provider`: the name of the app's provider module (e.g. "lakitu_sandbox"), replaced by the
 *   in-memory test provider, so no sandbox is started and tests drive `testProvider`.
 */
export function withLakitu(appModules: Modules, opts: { httpPrefix?: string | false; provider?: string; name?: string } = {}): Modules {
  const root = modulesRoot(appModules);
  const out: Modules = { ...appModules };
  if (opts.provider) {
    const key = Object.keys(appModules).find((k) => k.replace(/\.[^./]+$/, "") === `${root}${opts.provider}`);
    if (!key) {
      throw new Error(`lakitu/test: no module "${opts.provider}" among the app's modules (looked for ${root}${opts.provider}.ts); pass the provider file's name without extension`);
    }
    out[key] = providerModule;
  }
  const prefix = opts.httpPrefix ?? "/lakitu/";
  if (prefix !== false) {
    const httpKey = Object.keys(appModules).find((k) => k.replace(/\.[^./]+$/, "") === `${root}http`);
    const own = httpKey ? appModules[httpKey] : undefined;
    out[httpKey ?? `${root}http.ts`] = async () => ({ default: await mountedRouter(own, prefix, opts.name ?? "lakitu") });
  }
  return out;
}

/** The app's router (if it has one) with Lakitu's routes added under `prefix`. */
async function mountedRouter(own: (() => Promise<any>) | undefined, prefix: string, name: string): Promise<HttpRouter> {
  const router = httpRouter();
  const app = own ? ((await own()).default as HttpRouter | undefined) : undefined;
  for (const [path, method, handler] of app?.getRoutes() ?? []) {
    if (path.endsWith("*")) router.route({ pathPrefix: path.slice(0, -1), method, handler });
    else router.route({ path, method, handler });
  }
  const component = (componentsGeneric() as unknown as Record<string, ComponentApi>)[name];
  registerRoutes(router, component, { pathPrefix: prefix });
  return router;
}

/** Where the modules' root is: the folder holding `_generated/` (as convex-test finds it). */
function modulesRoot(appModules: Modules): string {
  const generated = Object.keys(appModules).find((k) => k.includes("_generated"));
  if (!generated) throw new Error('lakitu/test: the modules contain no "_generated" folder; pass import.meta.glob("./**/*.ts") from your convex/ folder');
  return generated.split("_generated", 2)[0];
}

/**
 * The runtime of the newest sandbox the test provider started, speaking HTTP to the routes through
 * `t.fetch`: `events`, `heartbeat`, `upload`, `complete`, and `deliver(files)` for an agent that did
 * its job.
 */
export function runtime(t: Fetcher, sandbox: FakeSandbox = testProvider.latest()): TestRuntime {
  return new TestRuntime(t, sandbox);
}

/**
 * Moves fake time forward in `stepMs` slices (default 50 ms), running the scheduled functions that
 * fall due, until `condition` holds; throws after `maxMs` (default 60 s) of fake time. Pass your
 * timers' advance, e.g. `{ advance: (ms) => vi.advanceTimersByTime(ms) }`.
 */
export async function waitFor(
  t: { finishInProgressScheduledFunctions(): Promise<void> },
  condition: () => boolean | Promise<boolean>,
  opts: { advance: (ms: number) => void; stepMs?: number; maxMs?: number },
): Promise<void> {
  const step = opts.stepMs ?? 50;
  const max = opts.maxMs ?? 60_000;
  for (let elapsed = 0; elapsed <= max; elapsed += step) {
    if (await condition()) return;
    opts.advance(step);
    await t.finishInProgressScheduledFunctions();
  }
  throw new Error(`lakitu/test: waitFor: the condition did not hold within ${max} ms of fake time`);
}

export default { register, schema, modules, withLakitu, providerModule, runtime, waitFor, testProvider };
