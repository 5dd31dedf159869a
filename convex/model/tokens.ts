/**
 * Session tokens: 256 random bits, handed to the runtime once through its process environment and
 * stored only as a SHA-256 hash. The token names its session so a request needs one header.
 * Format: `lkt.<sessionId>.<43 chars base64url>`.
 */
const PREFIX = "lkt";

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Only in actions: mutations are deterministic and must not mint secrets. */
export function mintToken(sessionId: string): string {
  const secret = new Uint8Array(32);
  crypto.getRandomValues(secret);
  return `${PREFIX}.${sessionId}.${base64url(secret)}`;
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The session id a token claims, or null when it is not shaped like one of ours. */
export function tokenSessionId(token: string): string | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX || parts[1].length === 0 || parts[2].length !== 43) return null;
  return parts[1];
}

/** A pattern for redacting any token of ours from text. */
export const TOKEN_PATTERN = /lkt\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/g;
