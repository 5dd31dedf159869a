/** Byte helpers for content sniffing: signatures, ASCII needles, hex dumps, "what it looks like". */

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function startsWithBytes(bytes: Uint8Array, sig: readonly number[]): boolean {
  if (bytes.length < sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[i] !== sig[i]) return false;
  return true;
}

export function asciiBytes(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/** Index of `needle` (ASCII) in `bytes[from..]`, or -1. */
export function indexOfBytes(bytes: Uint8Array, needle: readonly number[], from = 0): number {
  const first = needle[0];
  const last = bytes.length - needle.length;
  for (let i = Math.max(0, from); i <= last; i++) {
    if (bytes[i] !== first) continue;
    let j = 1;
    while (j < needle.length && bytes[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

export function hex(bytes: Uint8Array, from: number, count: number): string {
  const out: string[] = [];
  for (let i = from; i < Math.min(bytes.length, from + count); i++) {
    out.push(bytes[i].toString(16).toUpperCase().padStart(2, "0"));
  }
  return out.join(" ");
}

/** A short description of what the bytes look like, for "expected X" reasons. */
export function describeContent(bytes: Uint8Array): string {
  if (startsWithBytes(bytes, asciiBytes("%PDF-"))) return "it looks like a PDF";
  if (startsWithBytes(bytes, PNG_SIGNATURE)) return "it looks like a PNG image";
  if (startsWithBytes(bytes, [0xff, 0xd8, 0xff])) return "it looks like a JPEG image";
  if (startsWithBytes(bytes, asciiBytes("GIF8"))) return "it looks like a GIF image";
  if (startsWithBytes(bytes, [0x50, 0x4b, 0x03, 0x04])) return "it looks like a ZIP archive (docx/xlsx/zip)";
  if (startsWithBytes(bytes, asciiBytes("RIFF")) && indexOfBytes(bytes.subarray(8, 12), asciiBytes("WEBP")) === 0) {
    return "it looks like a WebP image";
  }
  const n = Math.min(bytes.length, 12);
  let printable = n > 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b < 0x20 || b > 0x7e) {
      if (b !== 0x09 && b !== 0x0a && b !== 0x0d) printable = false;
    }
  }
  if (printable) {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i]);
    return `it starts with ${JSON.stringify(s)}${bytes.length > n ? "…" : ""}`;
  }
  return `it starts with bytes ${hex(bytes, 0, 8)}`;
}
