/** Small text helpers for QA reasons: capping, quoting, plurals, short lists, line/column positions. */
import { MAX_REASON_CHARS } from "./constants.js";

/** One line, no control characters, at most `max` characters. */
export function cap(s: string, max = MAX_REASON_CHARS): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function quote(s: string, max = 80): string {
  const j = JSON.stringify(s);
  return j.length > max ? `${j.slice(0, max - 2)}…"` : j;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function list(items: string[], max = 8): string {
  const shown = items.slice(0, max).map((x) => quote(x, 60));
  return items.length > max ? `${shown.join(", ")} and ${items.length - max} more` : shown.join(", ");
}

/** 1-based line and column of offset `pos` in `text`. */
export function lineCol(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: pos - lineStart + 1 };
}

export function showChar(c: string | undefined): string {
  if (c === undefined) return "end of input";
  return JSON.stringify(c);
}
