/**
 * The dashboard page `lakitu dev` serves: `dashboard/index.html` and its script, bundled by esbuild.
 * From the package, the bundle `npm run build` wrote to `dist/dashboard/` (scripts/build-dashboard.ts);
 * in the repo (running from source), `dashboard/main.tsx` is bundled in memory at start.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { lakituPackage } from "../build/packageRoot.js";

export type DashboardAssets = { html: string; files: Map<string, { body: Buffer; contentType: string }> };

/** The package (or repo) root. */
const root = lakituPackage().root;

/** Where the built dashboard lives in the package. */
export const BUILT_DASHBOARD_DIR = join(root, "dist", "dashboard");
const SOURCE_ENTRY = join(root, "dashboard", "main.tsx");

/** esbuild options shared with scripts/build-dashboard.ts. */
export function dashboardBuildOptions(entry = SOURCE_ENTRY) {
  return {
    entryPoints: { main: entry },
    bundle: true,
    format: "esm" as const,
    platform: "browser" as const,
    target: "es2022",
    jsx: "automatic" as const,
    minify: true,
    logLevel: "silent" as const,
    define: { "process.env.NODE_ENV": '"production"' },
  };
}

/** The page: from source when the repo's dashboard/ is there, else the built one; throws saying which is missing. */
export async function loadDashboard(opts: { sourceEntry?: string; builtDir?: string } = {}): Promise<DashboardAssets> {
  const builtDir = opts.builtDir ?? BUILT_DASHBOARD_DIR;
  // Bundled once per process (the tests start several servers).
  if (existsSync(opts.sourceEntry ?? SOURCE_ENTRY)) {
    return await (fromSource ??= bundleFromSource().catch((e) => {
      fromSource = undefined;
      throw e;
    }));
  }
  const html = join(builtDir, "index.html");
  const js = join(builtDir, "main.js");
  if (!existsSync(html) || !existsSync(js)) throw new Error(`the dashboard bundle is missing at ${builtDir}; reinstall lakitu (or run npm run build in its repo)`);
  const files = new Map([["main.js", { body: readFileSync(js), contentType: "text/javascript; charset=utf-8" }]]);
  const css = join(builtDir, "main.css");
  if (existsSync(css)) files.set("main.css", { body: readFileSync(css), contentType: "text/css; charset=utf-8" });
  return { html: withStylesheet(readFileSync(html, "utf8"), files), files };
}

let fromSource: Promise<DashboardAssets> | undefined;

async function bundleFromSource(): Promise<DashboardAssets> {
  const { build } = await import("esbuild");
  const result = await build({ ...dashboardBuildOptions(), write: false, outdir: "/dashboard" });
  const files = new Map<string, { body: Buffer; contentType: string }>();
  for (const f of result.outputFiles) {
    const name = f.path.replace(/^.*\/dashboard\//, "");
    files.set(name, { body: Buffer.from(f.contents), contentType: name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8" });
  }
  return { html: withStylesheet(readFileSync(join(root, "dashboard", "index.html"), "utf8"), files), files };
}

/** Links the bundle's stylesheet, when the dashboard's sources import CSS. */
function withStylesheet(html: string, files: Map<string, unknown>): string {
  return files.has("main.css") ? html.replace("</head>", '    <link rel="stylesheet" href="/assets/main.css" />\n  </head>') : html;
}
