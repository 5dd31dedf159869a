/**
 * What the "secrets" invariant looks for, and where. A secret counts as leaked when it appears
 * literally, or in one of the encodings an agent (or a careless logger) would use: base64 standard and
 * url-safe at each of the three byte alignments, and hex in either case. Unknown Lakitu tokens are found
 * by their shape, also inside decoded base64/hex runs.
 *
 * `everyTable` reads every document of every table of the deployment: the component's own tables, its
 * stored files, and the tables of the nested components (workflow, workpool, the agent's threads and
 * messages) through convex-test's `runInComponent`.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { TOKEN_PATTERN } from "../../convex/model/tokens.js";

/** The strings that betray `secret`: itself, its base64 (std and url-safe, 3 alignments) and hex forms. */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms = new Set<string>([secret, bytes.toString("hex"), bytes.toString("hex").toUpperCase()]);
  for (let pad = 0; pad < 3; pad++) {
    const enc = Buffer.concat([Buffer.alloc(pad), bytes]).toString("base64");
    // Drop the 4-char group that mixes in the padding bytes, and a last group that is partial (its
    // characters depend on whatever follows the secret in the real text).
    const start = pad === 0 ? 0 : 4;
    const total = pad + bytes.length;
    const end = total % 3 === 0 ? enc.length : enc.length - 4;
    const core = enc.slice(start, end);
    if (core.length >= 12) {
      forms.add(core);
      forms.add(core.replace(/\+/g, "-").replace(/\//g, "_"));
    }
  }
  return [...forms];
}

export type Needle = { label: string; form: string; encoding: string };

/** Needles for each secret (label: how the report names it; never the secret itself). */
export function needles(secrets: Array<{ label: string; value: string }>): Needle[] {
  const out: Needle[] = [];
  for (const { label, value } of secrets) {
    if (value.length < 8) continue;
    const forms = encodedForms(value);
    forms.forEach((form, i) => out.push({ label, form, encoding: i === 0 ? "literal" : /^[0-9a-f]+$/.test(form) ? "hex" : /^[0-9A-F]+$/.test(form) ? "HEX" : /[-_]/.test(form) ? "base64url" : "base64" }));
  }
  return out;
}

const TOKEN = new RegExp(TOKEN_PATTERN.source);
const B64_RUN = /[A-Za-z0-9+/_-]{40,}={0,2}/g;
const HEX_RUN = /(?:[0-9a-fA-F]{2}){24,}/g;

/** What in `text` betrays a secret: a needle, a token's shape, or a token's shape after decoding. */
export function findLeaks(text: string, ns: readonly Needle[]): string[] {
  const found = new Set<string>();
  if (TOKEN.test(text)) found.add("a Lakitu session token (literal)");
  for (const n of ns) if (text.includes(n.form)) found.add(`${n.label} (${n.encoding})`);
  for (const m of text.matchAll(HEX_RUN)) if (TOKEN.test(Buffer.from(m[0], "hex").toString("latin1"))) found.add("a Lakitu session token (hex)");
  for (const m of text.matchAll(B64_RUN)) {
    for (let skip = 0; skip < 4; skip++) {
      // Node's base64 decoder takes both alphabets and missing padding.
      if (TOKEN.test(Buffer.from(m[0].slice(skip), "base64").toString("latin1"))) {
        found.add("a Lakitu session token (base64)");
        break;
      }
    }
  }
  return [...found];
}

type TRunner = {
  run<R>(f: (ctx: any) => Promise<R>): Promise<R>;
};

/** Nested components of the embedded deployment (paths as cli/embedded/modules.ts registers them). */
function children(): Array<{ path: string; dir: string }> {
  const resolve = (pkg: string, from?: string) => dirname((from ? createRequire(join(from, "package.json")) : require).resolve(`${pkg}/package.json`));
  const workflow = resolve("@convex-dev/workflow");
  const workpool = resolve("@convex-dev/workpool", workflow);
  return [
    { path: "workflow", dir: workflow },
    { path: "workflow/workpool", dir: workpool },
    { path: "workflow/workpool/batchWorker", dir: resolve("@convex-dev/batch-worker", workpool) },
    { path: "agent", dir: resolve("@convex-dev/agent") },
  ];
}

const require = createRequire(import.meta.url);

async function tablesOf(schemaUrl: string): Promise<string[]> {
  return Object.keys(((await import(schemaUrl)).default as { tables: Record<string, unknown> }).tables);
}

export type Doc = { where: string; text: string };

/**
 * Every document of every table, as JSON text named `component/table/id`, plus the bytes of every
 * stored file of the component (`_storage/<id>`).
 */
export async function everyTable(t: TRunner): Promise<Doc[]> {
  const out: Doc[] = [];
  const root = await tablesOf(pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "convex", "component", "schema.ts")).href);
  out.push(
    ...(await t.run(async (ctx: any) => {
      const docs: Doc[] = [];
      for (const table of root) for (const d of await ctx.db.query(table).collect()) docs.push({ where: `lakitu/${table}/${d._id}`, text: toJson(d) });
      for (const f of await ctx.db.system.query("_storage").collect()) {
        const blob: Blob | null = await ctx.storage.get(f._id);
        if (blob) docs.push({ where: `lakitu/_storage/${f._id}`, text: Buffer.from(await blob.arrayBuffer()).toString("latin1") });
      }
      return docs;
    })),
  );
  const runIn = (t as unknown as { runInComponent?: (path: string, f: (ctx: any) => Promise<Doc[]>) => Promise<Doc[]> }).runInComponent;
  if (typeof runIn !== "function") throw new Error("convex-test has no runInComponent: the nested components' tables cannot be read");
  for (const c of children()) {
    const tables = await tablesOf(pathToFileURL(join(c.dir, "dist", "component", "schema.js")).href);
    out.push(
      ...(await runIn.call(t, c.path, async (ctx: any) => {
        const docs: Doc[] = [];
        for (const table of tables) for (const d of await ctx.db.query(table).collect()) docs.push({ where: `${c.path}/${table}/${d._id}`, text: toJson(d) });
        return docs;
      })),
    );
  }
  return out;
}

/** Captures what this process writes to stdout/stderr (console included) until `stop()`. */
export function captureLogs(): { lines: string[]; stop(): void } {
  const lines: string[] = [];
  const restore: Array<() => void> = [];
  for (const stream of [process.stdout, process.stderr]) {
    const orig = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      lines.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return (orig as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = orig as typeof stream.write));
  }
  // vitest intercepts console itself; record console calls too.
  for (const k of ["log", "info", "warn", "error", "debug"] as const) {
    const orig = console[k];
    console[k] = (...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === "string" ? a : safeJson(a))).join(" "));
      orig.apply(console, args);
    };
    restore.push(() => (console[k] = orig));
  }
  return { lines, stop: () => restore.forEach((r) => r()) };
}

/** JSON of a stored document (Convex int64 values are bigints). */
function toJson(d: unknown): string {
  return JSON.stringify(d, (_k, v) => (typeof v === "bigint" ? v.toString() : v instanceof ArrayBuffer ? Buffer.from(v).toString("latin1") : v));
}

function safeJson(v: unknown): string {
  try {
    return v instanceof Error ? `${v.message}\n${v.stack}` : JSON.stringify(v);
  } catch {
    return String(v);
  }
}
