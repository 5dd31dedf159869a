/** Small statistics and table helpers for the benchmark. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
export const median = (xs: number[]) => quantile(xs, 0.5);
export const p95 = (xs: number[]) => quantile(xs, 0.95);
/** `count` per second over `elapsedMs`. */
export const rate = (count: number, elapsedMs: number) => (count * 1000) / elapsedMs;
/** "min–max" of `xs` with `digits` decimals, for the spread of a figure over rounds. */
export function spread(xs: number[], digits = 0): string {
  if (xs.length === 0) return "n/a";
  return `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
}
export const ms = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms` : "n/a");

/**
 * Quiet time that lets a workflow park: longer than the workpool's 2 s cooldown (its loop keeps polling
 * for 2 s after any work, and new work meanwhile runs under the same lock in convex-test).
 */
export const WORKPOOL_QUIET_MS = 2_500;

export type Row = { section: string; metric: string; value: string; baseline?: string; ratio?: string };

export function table(rows: Row[]): string {
  const head: Row = { section: "section", metric: "metric", value: "ours", baseline: "baseline", ratio: "ratio" };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => (r[k] ?? "").length));
  const fmt = (r: Row) => (["section", "metric", "value", "baseline", "ratio"] as const).map((k) => (r[k] ?? "").padEnd(w(k))).join(" | ");
  return [fmt(head), (["section", "metric", "value", "baseline", "ratio"] as const).map((k) => "-".repeat(w(k))).join("-|-"), ...rows.map(fmt)].join("\n");
}

/** A cluster of samples: its share of all samples, its median and its size. */
export type Mode = { share: number; median: number; n: number };

/**
 * The samples as one mode, or two when they split cleanly: the split (in log space) that leaves the
 * least variance within the two groups, kept only when each group holds at least `minShare` of the
 * samples and the upper group's median is at least `minRatio` times the lower one's. A bimodal
 * distribution (a step that sometimes waits for a process boot) then reads as its two modes instead of
 * one median that lands on either.
 */
export function modes(xs: number[], opts: { minShare?: number; minRatio?: number } = {}): Mode[] {
  const s = [...xs].sort((a, b) => a - b);
  const whole: Mode[] = [{ share: 1, median: median(s), n: s.length }];
  if (s.length < 4) return whole;
  const logs = s.map((x) => Math.log(Math.max(x, 1e-6)));
  const prefix = [0];
  const prefixSq = [0];
  for (const l of logs) {
    prefix.push(prefix[prefix.length - 1] + l);
    prefixSq.push(prefixSq[prefixSq.length - 1] + l * l);
  }
  // Sum of squared deviations of logs[a..b) from their mean.
  const sse = (a: number, b: number) => prefixSq[b] - prefixSq[a] - (prefix[b] - prefix[a]) ** 2 / (b - a);
  let best = -1;
  let bestCost = Infinity;
  for (let i = 1; i < s.length; i++) {
    const cost = sse(0, i) + sse(i, s.length);
    if (cost < bestCost) [best, bestCost] = [i, cost];
  }
  const low = s.slice(0, best);
  const high = s.slice(best);
  const minN = Math.max(2, Math.ceil((opts.minShare ?? 0.05) * s.length));
  if (low.length < minN || high.length < minN || median(high) < (opts.minRatio ?? 2) * median(low)) return whole;
  return [
    { share: low.length / s.length, median: median(low), n: low.length },
    { share: high.length / s.length, median: median(high), n: high.length },
  ];
}

/** "5.10 ms" for one mode; "5.10 ms (82%) + 160 ms (18%)" for two. */
export function formatModes(ms_: Mode[]): string {
  if (ms_.length === 1) return ms(ms_[0].median);
  return ms_.map((m) => `${ms(m.median)} (${Math.round(m.share * 100)}%)`).join(" + ");
}
