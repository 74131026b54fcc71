import type { Spread } from './benchmark-report';

/**
 * Median, 10th and 90th percentile and mean of a sample (nearest-rank percentiles).
 *
 * @example
 * ```ts
 * import { spread } from 'msd/bench';
 *
 * spread([1, 2, 3, 4]).median; // 2.5
 * ```
 */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: 0, p10: 0, p90: 0, mean: 0, count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
  return {
    median: sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2,
    p10: at(0.1),
    p90: at(0.9),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    count: sorted.length,
  };
}
