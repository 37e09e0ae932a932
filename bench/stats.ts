/** Latency samples and their percentiles (nearest rank); a sample that never completed counts as infinite. */

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Summarises `samples` (ms); `missing` samples that never completed are counted as infinite. */
export function summarize(samples: ArrayLike<number>, missing = 0): LatencySummary {
  const all = new Float64Array(samples.length + Math.max(0, missing));
  all.set(Array.from(samples));
  all.fill(Number.POSITIVE_INFINITY, samples.length);
  all.sort();
  return { count: samples.length, p50: percentile(all, 50), p99: percentile(all, 99), max: all[all.length - 1] ?? 0 };
}

export function median(values: number[]): number {
  return percentile(Float64Array.from(values).sort(), 50);
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
