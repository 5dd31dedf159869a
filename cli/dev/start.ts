/**
 * Starts everything `lakitu dev` runs: the app's KSAs bundled into a sandbox runtime (when the
 * project has `lakitu/ksa/`), the local stack (embedded deployment on convex-test + local sandbox host),
 * the declared boards, and the HTTP server with the dashboard and the local API.
 *
 * Nothing survives a restart: convex-test keeps its tables in memory, and in-flight workflows and
 * sandboxes could not be restored honestly, so the declared boards are created again on each start and
 * `/api/info` (and the dashboard) say that run history is not kept.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { api } from "../../convex/component/_generated/api.js";
import { ModelConfigError, resolveModel } from "../../convex/gateway/models.js";
import type { IsolationMode } from "../../sandbox/index.js";
import { startLocalStack, type LocalStack } from "../embedded/stack.js";
import { CliError } from "../errors.js";
import { lakituPackage } from "../build/packageRoot.js";
import { loadProjectKsas, PROJECT_KSA_DIR } from "../build/projectKsas.js";
import { bundleRuntime } from "../build/bundle.js";
import { loadDashboard } from "./assets.js";
import { createDeclaredBoards, readBoardsFile, type BoardsFile } from "./boardsFile.js";
import { withModel, type DevContext } from "./functions.js";
import { serveDev, type DevInfo, type DevServer } from "./server.js";

export const DEFAULT_DEV_PORT = 4777;
export const PERSISTENCE_NOTE =
  "Run history is not kept: lakitu dev runs the component on convex-test in memory, and in-flight runs and sandboxes cannot be restored honestly. Declared boards are created again on each start.";

export type DevOptions = {
  cwd: string;
  /** 0 = any free port. Default 4777. */
  port?: number;
  /** The boards file (default lakitu/boards.json in `cwd`, if present). */
  boardsFile?: string;
  isolation?: IsolationMode;
  /** Model for agent stages that name none (`scripted` = the component's default). */
  model?: string;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
  warn?: (line: string) => void;
};

export type Dev = {
  url: string;
  server: DevServer;
  stack: LocalStack;
  info: DevInfo;
  boardsFile: BoardsFile | null;
  appKsas: string[];
  close(): Promise<void>;
};

export async function startDev(opts: DevOptions): Promise<Dev> {
  const log = opts.log ?? (() => {});
  // Everything the user can get wrong is checked before anything starts.
  const boardsFile = readBoardsFile(opts.cwd, opts.boardsFile);
  const model = checkModel(opts.model ?? "scripted", opts.env ?? process.env);
  const { names: appKsas, runtimeDir } = await appRuntime(opts.cwd, log);
  const stack = await startLocalStack({ isolation: opts.isolation ?? "auto", runtimeDir, warn: opts.warn });
  try {
    const { t, url, providerHandle } = stack.deployment;
    if (appKsas.length) await t.mutation(api.config.configure, { appKsas });
    const context: DevContext = { providerHandle, callbackUrl: url, appKsas, ...(model === "scripted" ? {} : { model }) };
    const boards = boardsFile
      ? await createDeclaredBoards(boardsFile, (b) =>
          t.mutation(api.boards.createBoard, { ...b, stages: withModel(b.stages, context.model) as never, ...(appKsas.length ? { appKsas } : {}) }),
        )
      : [];
    const info: DevInfo = {
      version: lakituPackage().version,
      model,
      isolation: stack.host.isolation,
      persistence: { runHistoryKept: false, note: PERSISTENCE_NOTE },
      boards,
    };
    const server = await serveDev({ deployment: stack.deployment, context, info: () => info, assets: await loadDashboard(), port: opts.port ?? DEFAULT_DEV_PORT });
    return {
      url: server.url,
      server,
      stack,
      info,
      boardsFile,
      appKsas,
      close: async () => {
        await server.close();
        await stack.close();
      },
    };
  } catch (e) {
    await stack.close();
    if ((e as { code?: string }).code === "EADDRINUSE") throw new CliError(`port ${opts.port ?? DEFAULT_DEV_PORT} is in use`, "pass --port N (or --port 0 for any free port)", "port_in_use");
    throw e;
  }
}

/** `scripted`, or a real model whose key is in the environment (checked now, not at the first run). */
function checkModel(model: string, env: Record<string, string | undefined>): string {
  try {
    resolveModel(model, env);
  } catch (e) {
    if (e instanceof ModelConfigError) throw new CliError(`--model ${model}: ${e.message}`, "set the model's key in this shell's environment, or leave --model out for the scripted model", "model_unavailable");
    throw e;
  }
  return model;
}

/** The app's KSAs, checked and bundled into a runtime under .lakitu/dev/runtime; none = the package's runtime. */
async function appRuntime(cwd: string, log: (line: string) => void): Promise<{ names: string[]; runtimeDir?: string }> {
  const report = await loadProjectKsas(cwd);
  if (report.problems.length) {
    throw new CliError(`${report.problems.length} problem${report.problems.length > 1 ? "s" : ""} in the app's KSAs (${PROJECT_KSA_DIR}/)`, "fix them and run lakitu dev again", "invalid_ksa", report.problems);
  }
  if (!report.ksas.length) return { names: [] };
  const runtimeDir = join(cwd, ".lakitu", "dev", "runtime");
  await bundleRuntime(runtimeDir, [...new Set(report.ksas.map((k) => join(cwd, k.file)))]);
  writeFileSync(join(runtimeDir, "package.json"), `${JSON.stringify({ type: "module", private: true, version: lakituPackage().version })}\n`);
  const names = report.ksas.map((k) => k.name);
  log(`app KSAs: ${names.join(", ")} (bundled into ${join(".lakitu", "dev", "runtime")})`);
  return { names, runtimeDir };
}
