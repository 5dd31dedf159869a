/**
 * Component code runs in Convex's default runtime: no "use node", no Node built-ins, no packages that
 * need them. The Convex bundler enforces this only at deploy time, so check every module the component
 * reaches through relative imports here.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const FORBIDDEN_PACKAGES = ["e2b", "ai", "@ai-sdk/openai", "node-fetch"];

function entryModules(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".ts") && !f.includes(".test.")) out.push(p);
    }
  };
  walk(here);
  return out;
}

function reachable(): Map<string, string> {
  const seen = new Map<string, string>();
  const queue = entryModules();
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, "utf8");
    seen.set(file, text);
    for (const m of text.matchAll(/from\s+"(\.{1,2}\/[^"]+)"/g)) {
      queue.push(resolve(dirname(file), m[1].replace(/\.js$/, ".ts")));
    }
  }
  return seen;
}

test("nothing the component imports uses Node", () => {
  const modules = reachable();
  expect(modules.size).toBeGreaterThan(20);
  const problems: string[] = [];
  for (const [file, text] of modules) {
    const name = file.slice(resolve(here, "..").length + 1);
    if (/^\s*["']use node["']/m.test(text)) problems.push(`${name}: "use node"`);
    // Type-only imports are erased at build time: they load nothing.
    const code = text.replace(/^import type [^;]*;/gm, "");
    for (const m of code.matchAll(/from\s+"([^".][^"]*)"/g)) {
      const spec = m[1];
      if (spec.startsWith("node:") || FORBIDDEN_PACKAGES.includes(spec)) problems.push(`${name}: imports ${spec}`);
    }
  }
  expect(problems).toEqual([]);
});
