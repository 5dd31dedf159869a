/** Which required deliverables are not (yet) in the output folder. */
import { stat } from "node:fs/promises";
import { resolve, sep } from "node:path";

export type Deliverable = { name: string; type: string; required?: boolean };

export async function missingDeliverables(
  outputDir: string,
  deliverables: readonly Deliverable[],
): Promise<Array<{ name: string; problem: "missing" | "empty" }>> {
  const out: Array<{ name: string; problem: "missing" | "empty" }> = [];
  for (const d of deliverables) {
    if (d.required === false) continue;
    const path = resolve(outputDir, d.name);
    if (!path.startsWith(outputDir + sep)) {
      out.push({ name: d.name, problem: "missing" });
      continue;
    }
    try {
      const st = await stat(path);
      if (!st.isFile()) out.push({ name: d.name, problem: "missing" });
      else if (st.size === 0) out.push({ name: d.name, problem: "empty" });
    } catch {
      out.push({ name: d.name, problem: "missing" });
    }
  }
  return out;
}
