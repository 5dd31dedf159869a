/**
 * A small CSV reader for previews: RFC 4180 quoting (`""` inside quotes), `\n` or `\r\n` rows, a BOM
 * skipped. It reads at most `maxRows` rows and says whether it stopped early; a quote left open at the
 * end (e.g. a preview cut mid-file) ends the last field.
 */
export type CsvRows = { rows: string[][]; more: boolean };

export function parseCsv(text: string, opts: { delimiter?: string; maxRows?: number } = {}): CsvRows {
  const delim = opts.delimiter ?? ",";
  const maxRows = opts.maxRows ?? 1000;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false;
  const endRow = () => {
    row.push(field);
    rows.push(row);
    row = [];
    field = "";
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === delim) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      if (rows.length >= maxRows) return { rows, more: i + 1 < text.length };
    } else field += c;
    i++;
  }
  if (field !== "" || row.length > 0) endRow();
  return { rows, more: false };
}
