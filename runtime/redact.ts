/**
 * Secrets out, sizes bounded: every piece of text the runtime sends (events, observations, KSA
 * arguments, errors) goes through these helpers. The session token is removed even when agent code
 * somehow got hold of it, literal or encoded (base64/base64url at any alignment, hex, percent- and
 * JSON-escaped: the forms of convex/shared/redact.ts); so is anything shaped like a Lakitu session token.
 */
import { TOKEN_PATTERN } from "../convex/model/tokens.js";
import { secretForms } from "../convex/shared/redact.js";

export const REDACTED = "[redacted]";

/** Returns a function that replaces every secret (and any Lakitu-shaped token) in a string. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  // Short strings are not secrets worth mangling text for (and would redact ordinary words).
  const list = [...new Set(secrets.filter((s) => s.length >= 8).flatMap(secretForms))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const s of list) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out.replace(new RegExp(TOKEN_PATTERN.source, "g"), REDACTED);
  };
}

export { capText } from "../convex/shared/text.js";

/** The largest prefix of `bytes` of at most `max` bytes that does not split a UTF-8 character. */
export function utf8Prefix(bytes: Uint8Array, max: number): number {
  if (bytes.length <= max) return bytes.length;
  let end = max;
  // Back off continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return end;
}

/** Caps text at `max` UTF-8 bytes with a `…[truncated N bytes]` marker. */
export function capBytes(text: string, max: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= max) return text;
  const end = utf8Prefix(bytes, max);
  return `${bytes.subarray(0, end).toString("utf8")}…[truncated ${bytes.length - end} bytes]`;
}

/** The first `n` lines of a stack or message. */
export function firstLines(text: string, n: number): string {
  const lines = text.split("\n");
  return lines.length <= n ? text : `${lines.slice(0, n).join("\n")}\n    …`;
}
