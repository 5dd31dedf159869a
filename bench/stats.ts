/** Small statistics and table helpers for the benchmark. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
export const median = (xs: number[]) => quantile(xs, 0.5);
export const p95 = (xs: number[]) => quantile(xs, 0.95);
export const ms = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms` : "n/a");

export type Row = { section: string; metric: string; value: string; baseline?: string; ratio?: string };

export function table(rows: Row[]): string {
  const head: Row = { section: "section", metric: "metric", value: "ours", baseline: "baseline", ratio: "ratio" };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => (r[k] ?? "").length));
  const fmt = (r: Row) => (["section", "metric", "value", "baseline", "ratio"] as const).map((k) => (r[k] ?? "").padEnd(w(k))).join(" | ");
  return [fmt(head), (["section", "metric", "value", "baseline", "ratio"] as const).map((k) => "-".repeat(w(k))).join("-|-"), ...rows.map(fmt)].join("\n");
}
