/** Where the lakitu package itself lives (the repo, or node_modules/lakitu): its sources get bundled. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: { root: string; version: string } | undefined;

export function lakituPackage(): { root: string; version: string } {
  if (cached) return cached;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      const json = JSON.parse(readFileSync(pkg, "utf8")) as { name?: string; version?: string };
      if (json.name === "lakitu") return (cached = { root: dir, version: json.version ?? "0.0.0" });
    }
    if (dirname(dir) === dir) throw new Error("cannot find the lakitu package root above the CLI");
  }
}
