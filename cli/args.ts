/**
 * Option parsing for every command, in one place: each command declares its flags, this file turns
 * argv into typed values or throws a `UsageError` naming the problem (unknown flag, missing value,
 * bad number, value not among the choices, unexpected argument).
 *
 * Accepted forms: `--flag`, `--flag value`, `--flag=value`, `-h`. Booleans take no value.
 */
import { UsageError } from "./errors.js";

export type FlagSpec =
  | { type: "boolean"; description: string; short?: string }
  | { type: "string"; description: string; short?: string; placeholder?: string; choices?: readonly string[] }
  | { type: "integer"; description: string; short?: string; placeholder?: string; min?: number; max?: number };

export type Flags = Record<string, FlagSpec>;

export type CommandSpec<F extends Flags = Flags> = {
  /** As typed: "init", "sandbox serve". */
  name: string;
  summary: string;
  /** Positional arguments, for the usage line; extra positionals are refused. */
  positionals?: Array<{ name: string; description: string }>;
  flags: F;
  /** Paragraphs printed after the options. */
  details?: string;
};

type ValueOf<S extends FlagSpec> = S extends { type: "boolean" } ? boolean : S extends { type: "integer" } ? number | undefined : string | undefined;

export type Parsed<F extends Flags> = { flags: { [K in keyof F]: ValueOf<F[K]> }; positionals: string[] };

/** Flags every command accepts. */
export const COMMON_FLAGS = {
  help: { type: "boolean", short: "h", description: "show this help" },
  json: { type: "boolean", description: "machine-readable output on stdout (one JSON document)" },
} as const satisfies Flags;

export function parseArgs<F extends Flags>(spec: CommandSpec<F>, argv: readonly string[]): Parsed<F> {
  const flags: Record<string, string | number | boolean | undefined> = {};
  for (const [name, f] of Object.entries(spec.flags)) flags[name] = f.type === "boolean" ? false : undefined;
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec.flags).flatMap(([name, f]) => (f.short ? [[f.short, name] as const] : [])));
  const where = `lakitu ${spec.name}`;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const eq = arg.indexOf("=");
    const rawName = long ? arg.slice(2, eq > 0 ? eq : undefined) : arg.slice(1);
    const name = long ? rawName : byShort.get(rawName);
    const f = name === undefined ? undefined : spec.flags[name];
    if (!f || name === undefined) throw new UsageError(`${where}: unknown option ${long ? `--${rawName}` : arg}${suggest(rawName, Object.keys(spec.flags))}`);
    const inline = long && eq > 0 ? arg.slice(eq + 1) : undefined;
    if (f.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`${where}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      throw new UsageError(`${where}: --${name} needs a value (${f.placeholder ?? f.type})`);
    }
    flags[name] = f.type === "integer" ? integer(where, name, value, f) : choice(where, name, value, f);
  }

  const allowed = spec.positionals?.length ?? 0;
  if (positionals.length > allowed) {
    throw new UsageError(`${where}: unexpected argument "${positionals[allowed]}"`);
  }
  return { flags: flags as Parsed<F>["flags"], positionals };
}

function integer(where: string, name: string, value: string, f: Extract<FlagSpec, { type: "integer" }>): number {
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${where}: --${name} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (f.min !== undefined && n < f.min) throw new UsageError(`${where}: --${name} must be at least ${f.min}, got ${n}`);
  if (f.max !== undefined && n > f.max) throw new UsageError(`${where}: --${name} must be at most ${f.max}, got ${n}`);
  return n;
}

function choice(where: string, name: string, value: string, f: Extract<FlagSpec, { type: "string" }>): string {
  if (f.choices && !f.choices.includes(value)) {
    throw new UsageError(`${where}: --${name} must be one of ${f.choices.join(", ")}, got "${value}"`);
  }
  if (value === "") throw new UsageError(`${where}: --${name} must not be empty`);
  return value;
}

/** ` (did you mean --force?)` when one flag is one or two edits away. */
function suggest(name: string, known: string[]): string {
  const best = known
    .map((k) => ({ k, d: distance(name, k) }))
    .filter(({ d }) => d <= 2)
    .sort((a, b) => a.d - b.d)[0];
  return best ? ` (did you mean --${best.k}?)` : "";
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** The `--help` text of a command. */
export function helpText(spec: CommandSpec): string {
  const pos = (spec.positionals ?? []).map((p) => ` [${p.name}]`).join("");
  const lines = [`lakitu ${spec.name}${pos} [options]`, "", spec.summary, ""];
  if (spec.positionals?.length) {
    lines.push("Arguments:");
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(24)}${p.description}`);
    lines.push("");
  }
  lines.push("Options:");
  for (const [name, f] of Object.entries(spec.flags)) {
    const value = f.type === "boolean" ? "" : ` <${f.placeholder ?? (f.type === "integer" ? "n" : "value")}>`;
    const left = `${f.short ? `-${f.short}, ` : "    "}--${name}${value}`;
    const choices = f.type === "string" && f.choices ? ` (${f.choices.join(" | ")})` : "";
    lines.push(`  ${left.padEnd(26)}${f.description}${choices}`);
  }
  if (spec.details) lines.push("", spec.details.trimEnd());
  lines.push("", "Exit codes: 0 success, 1 the command ran and failed, 2 usage error.");
  return `${lines.join("\n")}\n`;
}
