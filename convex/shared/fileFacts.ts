/**
 * What QA reads from binary deliverables without a full parser: a PDF's page count and an image's
 * dimensions. Bounded in time and memory (inputs are agent-chosen).
 */
import { Inflate, Unzlib } from "fflate";

const PNG_IHDR = [0x49, 0x48, 0x44, 0x52];

/**
 * Counts a PDF's pages without a PDF library: the number of page objects, i.e. occurrences of the
 * name `/Type /Page` (any whitespace, or none, between the two names; `/Type /Pages` tree nodes do
 * not count because the name must end there). Modern writers (pdf-lib included) put most objects,
 * page objects too, into compressed object streams (`/Type /ObjStm`, FlateDecode), so those streams
 * are inflated (bounded: at most MAX_OBJSTM streams and MAX_INFLATED bytes in total) and searched as
 * well. Limits: a file saved with incremental updates that rewrote page objects counts the old and
 * the new copies; object streams with other filters or predictors are not read.
 */
export function pdfPageCount(bytes: Uint8Array): number {
  const text = latin1(bytes);
  let pages = countPageObjects(text);
  const objStm = /\/Type\s*\/ObjStm(?=[\s\x00()<>[\]{}/%]|$)/g;
  let budget = MAX_INFLATED;
  let streams = 0;
  for (let m = objStm.exec(text); m && streams < MAX_OBJSTM && budget > 0; m = objStm.exec(text)) {
    streams++;
    const dictStart = text.lastIndexOf(" obj", m.index);
    let k = text.indexOf("stream", m.index);
    while (k > 0 && text.startsWith("endstream", k - 3)) k = text.indexOf("stream", k + 6);
    if (k < 0) break;
    const dict = text.slice(dictStart < 0 ? m.index : dictStart, k);
    if (/\/DecodeParms/.test(dict)) continue;
    const filter = /\/Filter\s*(\[\s*)?\/([A-Za-z0-9]+)/.exec(dict);
    let start = k + 6;
    if (text[start] === "\r") start++;
    if (text[start] === "\n") start++;
    const end = text.indexOf("endstream", start);
    if (end < 0) break;
    let data: Uint8Array | null;
    if (!filter) data = bytes.subarray(start, end);
    else if (filter[2] === "FlateDecode" && !/\/Filter\s*\[\s*\/FlateDecode\s*\/\w/.test(dict)) {
      data = inflateBounded(bytes.subarray(start, end), budget);
    } else data = null;
    if (!data) continue;
    budget -= data.length;
    pages += countPageObjects(latin1(data));
  }
  return pages;
}

const MAX_OBJSTM = 2_000;
const MAX_INFLATED = 32 * 1024 * 1024;

function countPageObjects(text: string): number {
  return (text.match(/\/Type\s*\/Page(?=[\s\x00()<>[\]{}/%]|$)/g) ?? []).length;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 8192)));
  }
  return s;
}

/**
 * Inflates a zlib (or raw deflate) stream with fflate, stopping as soon as the output passes `maxOut`
 * bytes; null for malformed data or output over the bound.
 */
export function inflateBounded(src: Uint8Array, maxOut: number): Uint8Array | null {
  const zlib = src.length >= 2 && (src[0] & 0x0f) === 8 && ((src[0] << 8) | src[1]) % 31 === 0;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  const onData = (chunk: Uint8Array) => {
    total += chunk.length;
    if (total > maxOut) {
      over = true;
      throw new Error("over bound");
    }
    chunks.push(chunk);
  };
  try {
    const stream = zlib ? new Unzlib(onData) : new Inflate(onData);
    stream.push(src, true);
  } catch {
    return null;
  }
  if (over) return null;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Image dimensions

/** Width and height from a PNG's IHDR chunk or a JPEG's first SOF marker, or null. */
export function imageSize(type: "png" | "jpeg", bytes: Uint8Array): { width: number; height: number } | null {
  const be16 = (i: number) => (bytes[i] << 8) | bytes[i + 1];
  const be32 = (i: number) => bytes[i] * 0x1000000 + ((bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]);
  if (type === "png") {
    if (bytes.length < 24 || !PNG_IHDR.every((b, k) => bytes[12 + k] === b)) return null;
    return { width: be32(16), height: be32(20) };
  }
  let i = 2;
  while (i + 3 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    while (bytes[i] === 0xff && i < bytes.length) i++; // fill bytes
    const marker = bytes[i++];
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan before any SOF
    if (i + 1 >= bytes.length) return null;
    const len = be16(i);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 6 >= bytes.length) return null;
      return { width: be16(i + 5), height: be16(i + 3) };
    }
    if (len < 2) return null;
    i += len;
  }
  return null;
}

