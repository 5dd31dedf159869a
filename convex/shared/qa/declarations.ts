/** Declaration checks: problems with a deliverable's name, type and checks, before any run. */
import type { Deliverable, DeliverableType } from "../validators.js";
import { parseSchema } from "../jsonSchema.js";
import { compileRegex } from "../regexCheck.js";
import { ALL_TYPES, CSV_DELIMITERS, isTextType, TEXT_TYPES } from "./constants.js";
import { quote } from "./text.js";

function checkName(name: unknown): string[] {
  if (typeof name !== "string" || name.trim() === "") {
    return [`deliverable name is empty: set it to the artifact's file name relative to the output folder, e.g. "report.md"`];
  }
  const label = `deliverable ${quote(name)}`;
  const out: string[] = [];
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) out.push(`${label}: name contains control characters (newline, tab, ...); remove them`);
  if (name.includes("\\")) out.push(`${label}: name contains a backslash; use "/" as the folder separator`);
  if (name.startsWith("/")) out.push(`${label}: name must be relative to the output folder; remove the leading "/"`);
  const segments = name.split(/[\\/]/);
  if (segments.includes("..")) {
    out.push(`${label}: name must not contain a ".." segment; name a file inside the output folder, e.g. "out/report.md"`);
  }
  if (!name.startsWith("/") && (segments.includes(".") || segments.slice(0, -1).includes("") || name.endsWith("/"))) {
    // Matching is by exact name, so "./a.md", "a//b.md" or "dir/" would never match a produced artifact.
    out.push(`${label}: name has an empty or "." path segment (e.g. "./a.md", "a//b.md", "dir/"); write it like "dir/a.md"`);
  }
  return out;
}

/**
 * Problems with a deliverable's declaration; [] means it is valid. Never throws. `path` (e.g.
 * `stages[0].deliverables[1]`) makes the newer checks' problems name the field by its full path.
 */
export function deliverableProblems(d: Deliverable, path?: string): string[] {
  const out = checkName(d?.name);
  const label = `deliverable ${quote(typeof d?.name === "string" && d.name.trim() !== "" ? d.name : "")}`;
  const type = d?.type;
  if (!ALL_TYPES.includes(type)) {
    out.push(`${label}: unknown type ${quote(String(type))}; use one of ${ALL_TYPES.join(", ")}`);
  }
  const c = d?.checks;
  if (c === undefined || c === null) return out;
  const textual = ALL_TYPES.includes(type) ? isTextType(type) : true;

  for (const k of ["minBytes", "maxBytes", "minWords", "maxWords"] as const) {
    const v: unknown = c[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      out.push(`${label}: checks.${k} must be a non-negative integer, got ${String(v)}; use a whole number like 100`);
    }
  }
  const pairs = [
    ["minBytes", "maxBytes"],
    ["minWords", "maxWords"],
  ] as const;
  for (const [lo, hi] of pairs) {
    const a = c[lo];
    const b = c[hi];
    if (typeof a === "number" && typeof b === "number" && a > b) {
      out.push(`${label}: checks.${lo} (${a}) is greater than checks.${hi} (${b}), so nothing can pass; lower ${lo} or raise ${hi}`);
    }
  }
  if (c.maxBytes === 0) {
    out.push(`${label}: checks.maxBytes is 0 but a deliverable must be non-empty, so nothing can pass; raise maxBytes`);
  }
  if (!textual) {
    for (const k of ["minWords", "maxWords", "regex"] as const) {
      if (c[k] !== undefined) {
        out.push(
          `${label}: checks.${k} only applies to text types (${TEXT_TYPES.join(", ")}), not ${quote(String(type))}; remove it`,
        );
      }
    }
  }
  if (c.regex !== undefined) {
    const compiled = compileRegex(c.regex);
    if (!compiled.ok) out.push(`${path !== undefined ? `${path}.checks.regex` : `${label}: checks.regex`} ${compiled.problem}`);
  }
  if (c.jsonSchema !== undefined) {
    if (type !== "json") {
      out.push(`${label}: checks.jsonSchema only applies to type "json", not ${quote(String(type))}; remove it or change the type`);
    }
    if (typeof c.jsonSchema !== "string") {
      out.push(`${label}: checks.jsonSchema must be JSON text, e.g. JSON.stringify({ type: "object" })`);
    } else {
      let parsed: unknown;
      let parsedOk = true;
      try {
        parsed = JSON.parse(c.jsonSchema);
      } catch (e) {
        parsedOk = false;
        out.push(
          `${label}: checks.jsonSchema is not valid JSON (${e instanceof Error ? e.message : String(e)}); ` +
            `pass the schema as JSON text, e.g. JSON.stringify({ type: "object" })`,
        );
      }
      if (parsedOk) {
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
          const got = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed;
          out.push(`${label}: checks.jsonSchema must be a JSON object schema like {"type":"object"}, got ${got}`);
        } else {
          const compiled = parseSchema(c.jsonSchema);
          if (!compiled.ok) for (const p of compiled.problems) out.push(`${label}: checks.jsonSchema ${p}`);
        }
      }
    }
  }
  out.push(...newCheckProblems(c, type, path ?? null, label));
  return out;
}

/** Where a check applies: the deliverable types each newer check is meaningful for. */
const CHECK_TYPES: Record<string, readonly DeliverableType[]> = {
  contains: TEXT_TYPES,
  notContains: TEXT_TYPES,
  minRows: ["csv"],
  maxRows: ["csv"],
  columns: ["csv"],
  delimiter: ["csv"],
  headings: ["markdown"],
  minPages: ["pdf"],
  minWidth: ["png", "jpeg"],
  minHeight: ["png", "jpeg"],
};
const MAX_LIST_ENTRIES = 100;
const MAX_ENTRY_CHARS = 500;

/**
 * Problems with the CSV, markdown, text, PDF and image checks. Each names the field: with `path`
 * (e.g. `stages[0].deliverables[1]`) as `stages[0].deliverables[1].checks.minRows: ...`, else as
 * `deliverable "data.csv" checks.minRows: ...`.
 */
function newCheckProblems(c: Record<string, unknown>, type: DeliverableType, path: string | null, label: string): string[] {
  const out: string[] = [];
  const field = (k: string) => (path !== null ? `${path}.checks.${k}` : `${label} checks.${k}`);
  const known = ALL_TYPES.includes(type);
  for (const [k, types] of Object.entries(CHECK_TYPES)) {
    if (c[k] === undefined || !known || types.includes(type)) continue;
    const where = types.length === 1 ? `type ${quote(types[0])}` : `types ${types.map((t) => quote(t)).join(", ")}`;
    out.push(`${field(k)}: only applies to ${where}, not ${quote(type)}; remove it or change the type`);
  }
  for (const k of ["minRows", "maxRows", "minPages", "minWidth", "minHeight"]) {
    const v = c[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      out.push(`${field(k)}: must be a whole number ≥ 0, got ${typeof v === "string" ? quote(v) : String(v)}`);
    }
  }
  const whole = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
  if (whole(c.minRows) && whole(c.maxRows) && c.minRows > c.maxRows) {
    out.push(`${field("minRows")}: ${c.minRows} is greater than checks.maxRows (${c.maxRows}), so nothing can pass; lower minRows or raise maxRows`);
  }
  for (const k of ["columns", "headings", "contains", "notContains"]) {
    const v = c[k];
    if (v === undefined) continue;
    const example = k === "columns" ? '["name", "price"]' : k === "headings" ? '["Summary", "Sources"]' : '["Conclusion"]';
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      out.push(`${field(k)}: must be an array of strings, e.g. ${example}`);
      continue;
    }
    if (v.length > MAX_LIST_ENTRIES) out.push(`${field(k)}: has ${v.length} entries; the limit is ${MAX_LIST_ENTRIES}`);
    v.forEach((x: string, i) => {
      if (x.trim() === "") out.push(`${field(k)}[${i}]: must not be empty`);
      else if (x.length > MAX_ENTRY_CHARS) out.push(`${field(k)}[${i}]: is ${x.length} characters; the limit is ${MAX_ENTRY_CHARS}`);
    });
  }
  if (c.delimiter !== undefined && (typeof c.delimiter !== "string" || !CSV_DELIMITERS.includes(c.delimiter))) {
    out.push(
      `${field("delimiter")}: unknown delimiter ${typeof c.delimiter === "string" ? quote(c.delimiter) : String(c.delimiter)}; use one of ${CSV_DELIMITERS.map((x) => quote(x)).join(", ")}`,
    );
  }
  if (Array.isArray(c.contains) && Array.isArray(c.notContains)) {
    for (const need of c.contains) {
      const clash = c.notContains.find((ban) => typeof ban === "string" && ban !== "" && typeof need === "string" && need.includes(ban));
      if (clash !== undefined) {
        out.push(`${field("contains")}: ${quote(String(need))} includes ${quote(clash)}, which checks.notContains forbids, so nothing can pass`);
      }
    }
  }
  return out;
}
