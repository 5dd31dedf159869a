/**
 * Small, formatting-preserving edits of TypeScript sources: parse with @babel/parser (the installed
 * TypeScript 7 has no JS API), find the nodes, and splice text at their offsets. Everything the user
 * wrote stays byte-for-byte; inserted code follows the file's quotes, semicolons, indent and line ends.
 */
import { parse } from "@babel/parser";

/** The few fields of a Babel node these edits read. */
export type AstNode = { type: string; start: number; end: number } & Record<string, any>;

export type Edit = { at: number; text: string } | { start: number; end: number; text: string };

export type Style = { quote: string; semi: string; indent: string; eol: string };

/** A file that cannot be changed automatically; `snippet` is what the user should add by hand. */
export class ManualStepError extends Error {
  constructor(
    message: string,
    readonly snippet: string,
  ) {
    super(message);
    this.name = "ManualStepError";
  }
}

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseError";
  }
}

export function parseTs(code: string): AstNode[] {
  try {
    const file = parse(code, { sourceType: "module", plugins: ["typescript"], errorRecovery: false });
    return file.program.body as unknown as AstNode[];
  } catch (e) {
    throw new ParseError((e as Error).message);
  }
}

export function applyEdits(code: string, edits: Edit[]): string {
  const spans = edits
    .map((e, i) => ("at" in e ? { start: e.at, end: e.at, text: e.text, i } : { ...e, i }))
    .sort((a, b) => a.start - b.start || a.i - b.i);
  let out = "";
  let last = 0;
  for (const s of spans) {
    out += code.slice(last, s.start) + s.text;
    last = Math.max(last, s.end);
  }
  return out + code.slice(last);
}

export function detectStyle(code: string, body: AstNode[]): Style {
  const imports = body.filter((n) => n.type === "ImportDeclaration");
  const firstSource = imports[0]?.source as AstNode | undefined;
  const quote = firstSource && code[firstSource.start] === "'" ? "'" : '"';
  const sample = imports[0] ?? body[0];
  const semi = sample && !code.slice(sample.start, sample.end).trimEnd().endsWith(";") ? "" : ";";
  const indents = [...code.matchAll(/^([ \t]+)\S/gm)].map((m) => m[1]);
  const tabbed = indents.some((i) => i.startsWith("\t"));
  const spaces = indents.filter((i) => !i.includes("\t")).map((i) => i.length);
  const indent = tabbed ? "\t" : " ".repeat(spaces.length ? Math.min(...spaces) : 2);
  return { quote, semi, indent, eol: code.includes("\r\n") ? "\r\n" : "\n" };
}

/** Whitespace at the start of the line that holds `pos`. */
export function lineIndent(code: string, pos: number): string {
  const start = code.lastIndexOf("\n", pos - 1) + 1;
  return /^[ \t]*/.exec(code.slice(start))![0];
}

/** Offset of the end of the line holding `pos` (before its newline), so trailing comments stay put. */
export function endOfLine(code: string, pos: number): number {
  const nl = code.indexOf("\n", pos);
  if (nl < 0) return code.length;
  return code[nl - 1] === "\r" ? nl - 1 : nl;
}

/** Re-indents a block written with "\n" and two-space indents to the file's style, under `base`. */
export function block(text: string, base: string, style: Style): string {
  return text
    .split("\n")
    .map((line, i) => {
      const m = /^( *)(.*)$/.exec(line)!;
      const depth = m[1].length / 2;
      return (i === 0 ? "" : base) + style.indent.repeat(depth) + m[2];
    })
    .join(style.eol);
}

/** Inserts `stmt` as a new line after the statement `after` (same indent). */
export function insertStatementAfter(code: string, after: AstNode, stmt: string, style: Style): Edit {
  const indent = lineIndent(code, after.start);
  return { at: endOfLine(code, after.end), text: style.eol + indent + block(stmt, indent, style) };
}

export function isImportFrom(n: AstNode, sources: readonly string[]): boolean {
  return n.type === "ImportDeclaration" && n.importKind !== "type" && sources.includes((n.source as AstNode).value);
}

export function keyName(prop: AstNode): string | undefined {
  if (prop.type !== "ObjectProperty" && prop.type !== "ObjectMethod") return undefined;
  const k = prop.key as AstNode;
  if (prop.computed) return undefined;
  return k.type === "Identifier" ? k.name : k.type === "StringLiteral" ? k.value : undefined;
}

/**
 * Makes `name` importable from one of `sources` (the first is used for a new import). Returns the
 * local name to use and the edit, if one is needed.
 */
export function ensureNamedImport(code: string, body: AstNode[], sources: readonly string[], name: string, style: Style): { local: string; edit?: Edit } {
  const decls = body.filter((n) => isImportFrom(n, sources));
  for (const d of decls) {
    for (const s of d.specifiers as AstNode[]) {
      if (s.type === "ImportSpecifier" && s.importKind !== "type" && importedName(s) === name) return { local: s.local.name };
    }
  }
  const withBraces = decls.find((d) => (d.specifiers as AstNode[]).some((s) => s.type === "ImportSpecifier"));
  if (withBraces) {
    const specs = (withBraces.specifiers as AstNode[]).filter((s) => s.type === "ImportSpecifier");
    return { local: name, edit: { at: specs[specs.length - 1].end, text: `, ${name}` } };
  }
  const defaultOnly = decls.find((d) => (d.specifiers as AstNode[]).length === 1 && d.specifiers[0].type === "ImportDefaultSpecifier");
  if (defaultOnly) return { local: name, edit: { at: defaultOnly.specifiers[0].end, text: `, { ${name} }` } };
  return { local: name, edit: addImport(code, body, `import { ${name} } from ${style.quote}${sources[0]}${style.quote}${style.semi}`, style) };
}

/** A new import line after the last import (or before the first statement). */
export function addImport(code: string, body: AstNode[], line: string, style: Style): Edit {
  const imports = body.filter((n) => n.type === "ImportDeclaration");
  if (imports.length) return insertStatementAfter(code, imports[imports.length - 1], line, style);
  const first = body[0];
  return { at: first ? first.start : code.length, text: line + style.eol + (first ? style.eol : "") };
}

function importedName(spec: AstNode): string {
  const i = spec.imported as AstNode;
  return i.type === "Identifier" ? i.name : i.value;
}

/**
 * Adds `entries` (source text of object members, multi-line allowed) at the end of an object literal,
 * one per line when the object spans lines, inline otherwise; keeps a trailing comma if there was one.
 */
export function addObjectMembers(code: string, obj: AstNode, entries: string[], style: Style): Edit {
  const props = obj.properties as AstNode[];
  const base = lineIndent(code, obj.start);
  if (props.length === 0) {
    const inner = base + style.indent;
    const lines = entries.map((e) => `${inner}${block(e, inner, style)},`).join(style.eol);
    return { start: obj.start, end: obj.end, text: `{${style.eol}${lines}${style.eol}${base}}` };
  }
  const last = props[props.length - 1];
  const closing = obj.end - 1;
  const between = code.slice(last.end, closing);
  const comma = /^\s*,/.exec(between);
  const multiline = code.slice(obj.start, obj.end).includes("\n");
  if (multiline) {
    const indent = lineIndent(code, last.start);
    const items = entries.map((e) => `${style.eol}${indent}${block(e, indent, style)}`);
    return comma ? { at: last.end + comma[0].length, text: items.map((i) => `${i},`).join("") } : { at: last.end, text: `,${items.join(",")}` };
  }
  if (entries.some((e) => e.includes("\n"))) {
    // A one-line object that gets a multi-line member is laid out one member per line.
    const inner = base + style.indent;
    const members = [...props.map((p) => code.slice(p.start, p.end)), ...entries.map((e) => block(e, inner, style))];
    return { start: obj.start, end: obj.end, text: `{${style.eol}${members.map((m) => `${inner}${m},`).join(style.eol)}${style.eol}${base}}` };
  }
  const inline = entries.map((e) => block(e, base, style)).join(", ");
  return comma ? { at: last.end + comma[0].length, text: ` ${inline},` } : { at: last.end, text: `, ${inline}` };
}

/** Top-level `const <name> = <callee>(...)` (also when exported): the declaration and the call. */
export function findCallDeclaration(body: AstNode[], callee: string): { stmt: AstNode; name: string; call: AstNode } | undefined {
  for (const n of body) {
    const decl = n.type === "ExportNamedDeclaration" ? (n.declaration as AstNode | null) : n;
    if (!decl || decl.type !== "VariableDeclaration") continue;
    for (const d of decl.declarations as AstNode[]) {
      const init = d.init as AstNode | null;
      if (init?.type === "CallExpression" && init.callee.type === "Identifier" && init.callee.name === callee && d.id.type === "Identifier") {
        return { stmt: n, name: d.id.name, call: init };
      }
    }
  }
  return undefined;
}

/** Top-level statements `<object>.<method>(...)`, e.g. every `app.use(...)`. */
export function memberCallStatements(body: AstNode[], object: string, method?: string): AstNode[] {
  return body.filter((n) => {
    const e = n.type === "ExpressionStatement" ? (n.expression as AstNode) : undefined;
    return (
      e?.type === "CallExpression" &&
      e.callee.type === "MemberExpression" &&
      e.callee.object.type === "Identifier" &&
      e.callee.object.name === object &&
      (method === undefined || (e.callee.property.type === "Identifier" && e.callee.property.name === method))
    );
  });
}

/** Local name of `sources`' default import, if the file has one. */
export function defaultImportLocal(body: AstNode[], sources: readonly string[]): string | undefined {
  for (const d of body.filter((n) => isImportFrom(n, sources))) {
    const s = (d.specifiers as AstNode[]).find((x) => x.type === "ImportDefaultSpecifier");
    if (s) return s.local.name;
  }
  return undefined;
}

/** Local name of a named import from `sources`, if the file has one. */
export function namedImportLocal(body: AstNode[], sources: readonly string[], name: string): string | undefined {
  for (const d of body.filter((n) => isImportFrom(n, sources))) {
    for (const s of d.specifiers as AstNode[]) if (s.type === "ImportSpecifier" && importedName(s) === name) return s.local.name;
  }
  return undefined;
}
