/** Strict UTF-8 decoding: decodes once, and on failure names the offset of the first bad byte. */
import { hex } from "./bytes.js";

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // > U+10FFFF
    } else return i;
    if (i + need >= n) return i; // truncated sequence
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const min = k === 1 ? lo : 0x80;
      const max = k === 1 ? hi : 0xbf;
      if (c === undefined || c < min || c > max) return i;
    }
    i += need + 1;
  }
  return -1;
}

type Decoded = { ok: true; text: string } | { ok: false; reason: string };

/** Decodes once with a fatal decoder; on failure locates the first bad byte for the reason. */
export function decodeUtf8(bytes: Uint8Array): Decoded {
  let text: string | null = null;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  // A runtime whose TextDecoder ignored `fatal` would have produced U+FFFD: verify in that case.
  const bad = text === null || text.includes("\uFFFD") ? firstInvalidUtf8(bytes) : -1;
  if (text !== null && bad < 0) return { ok: true, text };
  const at = bad < 0 ? 0 : bad;
  return {
    ok: false,
    reason: `not valid UTF-8: invalid byte sequence at offset ${at} (${hex(bytes, at, 4)}); save the file as UTF-8 text`,
  };
}
