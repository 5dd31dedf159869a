/** Markdown headings: the ATX headings of a text, and their normalized form for matching. */

/** Heading text normalized for matching: leading `#`s dropped, whitespace collapsed, lower case. */
export function normalizeHeading(s: string): string {
  return s.replace(/^\s*#{1,6}(?=\s|$)/, "").trim().replace(/\s+/g, " ").toLowerCase();
}

/**
 * The text of an ATX heading line (`## Title ##` → "Title"), or null. A scan, not a regex: the
 * equivalent regex backtracks quadratically on a long run of spaces or tabs in agent-written text.
 */
function atxHeading(raw: string): string | null {
  const ws = (c: string | undefined) => c === " " || c === "\t";
  let i = 0;
  while (i < 3 && raw[i] === " ") i++;
  let j = i;
  while (raw[j] === "#") j++;
  if (j === i || j - i > 6 || (j < raw.length && !ws(raw[j]))) return null;
  let end = raw.length;
  while (end > j && ws(raw[end - 1])) end--;
  let start = j;
  while (start < end && ws(raw[start])) start++;
  // An optional closing sequence of #s, preceded by a space or tab (or the whole text).
  let k = end;
  while (k > start && raw[k - 1] === "#") k--;
  if (k < end && (k === start || ws(raw[k - 1]))) end = k;
  return raw.slice(start, end).trim();
}

/**
 * The ATX headings (`#` .. `######`, up to 3 spaces of indent, optional closing `#`s) of a markdown
 * text, outside fenced code blocks. Setext headings (underlined with `===`/`---`) are not read.
 */
export function markdownHeadings(text: string): string[] {
  const out: string[] = [];
  let fence: string | null = null;
  for (const raw of text.split(/\r\n|\n|\r/)) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(raw);
    if (f) {
      if (fence === null) fence = f[1];
      else if (f[1][0] === fence[0] && f[1].length >= fence.length && raw.trim() === f[1]) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const body = atxHeading(raw);
    if (body !== null) out.push(body);
  }
  return out;
}
