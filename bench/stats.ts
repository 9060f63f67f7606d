/** Small, dependency-free statistics for benchmark samples: percentiles, median and range. */

/** The q-quantile (0..1) of `sorted` (ascending) by nearest rank; NaN when empty. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface LatencySummary {
  /** How many samples the percentiles are over. */
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Percentiles of latency samples in ms; sorts a copy, so the caller's array is untouched. */
export function summarizeLatencies(samplesMs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  return {
    count: sorted.length,
    p50Ms: quantileOfSorted(sorted, 0.5),
    p90Ms: quantileOfSorted(sorted, 0.9),
    p99Ms: quantileOfSorted(sorted, 0.99),
    maxMs: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median (mean of the middle two for an even count), minimum and maximum; NaNs when empty. */
export function spreadOf(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = Math.floor(finite.length / 2);
  const median =
    finite.length % 2 === 1
      ? (finite[mid] as number)
      : ((finite[mid - 1] as number) + (finite[mid] as number)) / 2;
  return { median, min: finite[0] as number, max: finite[finite.length - 1] as number };
}

/** Per-percentile spread across runs: the median run's p50, p90, p99, and the worst max. */
export function combineLatencies(runs: readonly LatencySummary[]): LatencySummary & {
  p99RangeMs: [number, number];
} {
  const p99 = spreadOf(runs.map((r) => r.p99Ms));
  return {
    count: runs.reduce((sum, r) => sum + r.count, 0),
    p50Ms: spreadOf(runs.map((r) => r.p50Ms)).median,
    p90Ms: spreadOf(runs.map((r) => r.p90Ms)).median,
    p99Ms: p99.median,
    maxMs: runs.length === 0 ? Number.NaN : Math.max(...runs.map((r) => r.maxMs)),
    p99RangeMs: [p99.min, p99.max],
  };
}
