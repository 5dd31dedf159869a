import type { ReactNode } from "react";
import { parseCsv } from "../csv.js";

/** Rows shown at most. */
const MAX_ROWS = 500;

/** CSV as a `<table>`: the first row as the header, then up to 500 rows (it says when there are more). */
export function CsvTable({ text, delimiter, caption }: { text: string; delimiter?: string; caption?: string }): ReactNode {
  const { rows, more } = parseCsv(text, { delimiter, maxRows: MAX_ROWS + 1 });
  if (rows.length === 0) return <p className="lk-empty">Empty CSV.</p>;
  const [header, ...body] = rows;
  const shown = body.slice(0, MAX_ROWS);
  return (
    <div className="lk-scroll">
      <table className="lk-table lk-csv">
        {caption ? <caption>{caption}</caption> : null}
        <thead>
          <tr>
            {header.map((h, i) => (
              <th key={i} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {more || body.length > MAX_ROWS ? <p className="lk-note">Only the first {MAX_ROWS} rows are shown.</p> : null}
    </div>
  );
}
