/**
 * A minimal `multipart/form-data` parser for envd's `POST /files` (the SDK's `files.write` sends one
 * `file` part per file; the part's filename is the destination path when the query has none).
 */
export type FilePart = { name: string; filename: string | undefined; data: Buffer };

export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Undoes the escaping browsers and undici apply to quoted filenames (`"` `\r` `\n` as %22 %0D %0A). */
function unescapeFilename(s: string): string {
  return s.replace(/%22/g, '"').replace(/%0D/gi, "\r").replace(/%0A/gi, "\n");
}

export function parseMultipart(body: Buffer, boundary: string): FilePart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FilePart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new Error("multipart body without its boundary");
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === "--") break; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() === "\r\n") pos += 2;
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) throw new Error("malformed multipart part");
    const headers = body.subarray(pos, headerEnd).toString("utf8");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    if (next < 0) throw new Error("multipart body is truncated");
    const disposition = /^content-disposition:(.*)$/im.exec(headers)?.[1] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? "";
    const filenameMatch = /\bfilename="([^"]*)"/i.exec(disposition);
    parts.push({
      name,
      filename: filenameMatch ? unescapeFilename(filenameMatch[1]!) : undefined,
      data: body.subarray(headerEnd + 4, next),
    });
    pos = next + 2;
  }
  return parts;
}
