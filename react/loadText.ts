/** Reads the first `maxBytes` of a URL as text (the rest is not downloaded), for artifact previews. */
export type LoadedText = { text: string; truncated: boolean };
export type TextLoader = (url: string, maxBytes: number, signal: AbortSignal) => Promise<LoadedText>;

/** One MiB: what a preview reads at most; the Download link has the rest. */
export const PREVIEW_MAX_BYTES = 1024 * 1024;

export const fetchText: TextLoader = async (url, maxBytes, signal) => {
  const res = await fetch(url, { signal });
  if (!res.ok) throw new Error(`could not read the artifact: HTTP ${res.status} from its URL`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - size;
      if (value.byteLength > room) {
        chunks.push(value.subarray(0, room));
        size = maxBytes;
        truncated = true;
        await reader.cancel();
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } else {
    const all = new Uint8Array(await res.arrayBuffer());
    truncated = all.byteLength > maxBytes;
    chunks.push(all.subarray(0, maxBytes));
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  // `stream: true` leaves a UTF-8 sequence cut at the limit out instead of showing a replacement character.
  return { text: new TextDecoder("utf-8").decode(bytes, { stream: truncated }), truncated };
};
