/**
 * One redaction for everything Lakitu stores or sends: the session token, the app's configured
 * secrets (env var names, read at use), the model keys, and any text shaped like a known key.
 *
 * A secret is removed in the forms it commonly travels in: literal; base64 and base64url at each of
 * the three byte alignments, with or without padding; hex (lower and upper case); percent-encoded;
 * JSON-escaped. Cost: each form is one substring search over the text, so redacting n characters
 * against s secrets is O(n · 14 s) plus one pass per key pattern (all linear, no backtracking blowup).
 *
 * Pure (no Node built-ins, no env access): usable by component functions and by the runtime.
 */
import { TOKEN_PATTERN } from "../model/tokens.js";

export const REDACTED = "[REDACTED]";

/** Literal strings shorter than this are not redacted: they would mangle ordinary words. */
export const MIN_SECRET_CHARS = 4;
/** Encoded forms shorter than this are not redacted: too likely to occur by chance. */
const MIN_FORM_CHARS = 8;
/** Values nested deeper than this are replaced (Convex values nest at most 64 levels). */
const MAX_DEPTH = 64;

/** Environment variables holding model keys (see convex/gateway/models.ts): always redacted. */
export const MODEL_KEY_VARS = ["OPENAI_API_KEY", "OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "LAKITU_COMPATIBLE_API_KEY"] as const;

/** Shapes of keys worth removing even when their value is not known here. */
export const KEY_PATTERNS: readonly RegExp[] = [
  TOKEN_PATTERN,
  /\bsk-[A-Za-z0-9_-]{16,}/g, // OpenAI / OpenRouter / Anthropic style keys
  /\be2b_[A-Za-z0-9_]{16,}/g, // E2B keys, also the local sandbox host's e2b_local_… ones
  /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/g,
];

const SECRET_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Why `names` is not a valid list of secret env var names, or null. */
export function secretNamesProblem(names: readonly string[]): string | null {
  if (names.length > 50) return `secrets lists ${names.length} names; the limit is 50`;
  for (const n of names) {
    if (!SECRET_VAR_NAME.test(n)) {
      return `secrets entry "${n.slice(0, 40)}" is not an environment variable name (letters, digits and _, not starting with a digit); list the NAMES of the variables, never their values`;
    }
  }
  return null;
}

/**
 * The secret values the component knows: the session token (when there is one), the configured
 * literal `redact` strings, the values of the configured `secrets` env vars and of the model keys.
 */
export function knownSecrets(
  env: Record<string, string | undefined>,
  opts: { token?: string; redact?: readonly string[]; secretVars?: readonly string[] },
): string[] {
  const names = [...MODEL_KEY_VARS, ...(opts.secretVars ?? [])];
  const values = [opts.token, ...(opts.redact ?? []), ...names.map((n) => env[n])];
  return values.filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_CHARS);
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * The base64 characters that depend only on the secret's bytes, for each alignment of the secret
 * inside a longer encoded stream (offset 0, 1 or 2 bytes mod 3). Padding is never part of a core,
 * so padded and unpadded encodings both match.
 */
function base64Cores(bytes: Uint8Array): string[] {
  const cores: string[] = [];
  for (let k = 0; k < 3; k++) {
    const shifted = new Uint8Array(k + bytes.length);
    shifted.set(bytes, k);
    const start = Math.ceil((8 * k) / 6);
    const end = Math.floor((8 * (k + bytes.length)) / 6);
    cores.push(base64(shifted).slice(start, end));
  }
  return cores;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every form of `secret` that is redacted, longest first. */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  if (secret.length >= MIN_FORM_CHARS) {
    const bytes = utf8(secret);
    for (const core of base64Cores(bytes)) {
      forms.add(core);
      forms.add(core.replace(/\+/g, "-").replace(/\//g, "_"));
    }
    const h = hex(bytes);
    forms.add(h);
    forms.add(h.toUpperCase());
    const pct = encodeURIComponent(secret);
    forms.add(pct);
    forms.add(pct.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  return [...forms].filter((f) => f === secret || f.length >= MIN_FORM_CHARS).sort((a, b) => b.length - a.length);
}

export type Redactor = {
  /** `text` with every known secret (in every form) and every key-shaped string replaced. */
  text(text: string): string;
  /** A JSON value with its strings redacted, object keys included. */
  value(value: unknown): unknown;
  /** Whether `text` holds anything that would be redacted. */
  leaks(text: string): boolean;
};

/** A redactor for these secrets (duplicates and too-short strings ignored). */
export function makeRedactor(secrets: readonly (string | undefined)[], patterns: readonly RegExp[] = KEY_PATTERNS): Redactor {
  const forms = [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_CHARS).flatMap(secretForms))].sort(
    (a, b) => b.length - a.length,
  );
  const text = (input: string): string => {
    let out = input;
    for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    for (const p of patterns) out = out.replace(new RegExp(p.source, "g"), REDACTED);
    return out;
  };
  const value = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return text(v);
    if (depth >= MAX_DEPTH && v !== null && typeof v === "object") return "[too deeply nested]";
    if (Array.isArray(v)) return v.map((x) => value(x, depth + 1));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const base = text(k);
        let key = base;
        // Two keys redacted to the same text must not overwrite each other.
        for (let i = 2; Object.prototype.hasOwnProperty.call(out, key); i++) key = `${base}#${i}`;
        // defineProperty: a "__proto__" key from JSON stays data, not the object's prototype.
        Object.defineProperty(out, key, { value: value(x, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  };
  return { text, value: (v) => value(v, 0), leaks: (s) => text(s) !== s };
}
