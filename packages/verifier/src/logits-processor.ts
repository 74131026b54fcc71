import { InvalidArgumentError } from '@msd/core';
import { assertCapacity } from './validate';

/**
 * How target logits become the distribution tokens are sampled from (T > 0). Applied in Hugging Face's
 * order: temperature, then top-k, then top-p. Greedy decoding is not a temperature of 0: use
 * `acceptGreedy` / `argmaxPerRow` for it.
 *
 * @example
 * ```ts
 * import type { SamplingOptions } from '@msd/verifier';
 *
 * const options: SamplingOptions = { temperature: 0.7, topP: 0.9 };
 * ```
 */
export interface SamplingOptions {
  /** Divides the logits before the softmax; must be finite and > 0 (1 leaves them as they are). */
  temperature: number;
  /**
   * Keep only the `topK` most likely tokens (tokens tied with the k-th are kept too, as Hugging Face
   * does); an integer >= 1. Leave out to disable.
   */
  topK?: number;
  /**
   * Nucleus sampling: keep the smallest set of most likely tokens whose probability sums to at least
   * `topP` (at least one token is always kept); in (0, 1]. Leave out (or 1) to disable.
   */
  topP?: number;
}

/**
 * Throws an `InvalidArgumentError` unless `options` are usable for sampling: temperature finite and
 * > 0, topK an integer >= 1, topP in (0, 1].
 *
 * @example
 * ```ts
 * import { assertSamplingOptions } from '@msd/verifier';
 *
 * assertSamplingOptions({ temperature: 0.7, topK: 50 }); // ok
 * assertSamplingOptions({ temperature: 0 }); // throws: greedy must be requested explicitly
 * ```
 */
export function assertSamplingOptions(options: SamplingOptions): void {
  const { temperature, topK, topP } = options;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `temperature must be a finite number > 0 for sampling, got ${temperature}.`,
      hint: 'For greedy decoding use acceptGreedy and argmaxPerRow instead of a temperature of 0.',
    });
  }
  if (topK !== undefined && (!Number.isSafeInteger(topK) || topK < 1)) {
    throw new InvalidArgumentError({
      argument: 'topK',
      message: `topK must be an integer >= 1, got ${topK}.`,
      hint: 'Leave topK out to disable top-k filtering.',
    });
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    throw new InvalidArgumentError({
      argument: 'topP',
      message: `topP must be in (0, 1], got ${topP}.`,
      hint: 'Leave topP out (or pass 1) to disable nucleus filtering.',
    });
  }
}

/** Mass thresholds tried (relative to the total) before sorting the whole vocabulary for top-p. */
const nucleusThresholds = [1e-4, 1e-8, 0];

/**
 * Turns one row of raw logits into the probability distribution sampling draws from: softmax of
 * `logits / temperature`, restricted by top-k and then top-p, renormalised. Filtered tokens get
 * probability 0. `-Infinity` logits are allowed (probability 0).
 *
 * @param logits - One row of logits (vocabulary size entries).
 * @param options - Temperature, top-k, top-p.
 * @param out - Optional buffer of at least `logits.length` elements; the result is a view of its first
 *   `logits.length`.
 * @throws InvalidArgumentError for bad options, an empty row, a NaN or +Infinity logit, or a row that is
 *   all `-Infinity`.
 *
 * @example
 * ```ts
 * import { processLogits } from '@msd/verifier';
 *
 * const probabilities = processLogits(Float32Array.of(2, 1, 0, -1), { temperature: 0.7, topP: 0.9 });
 * ```
 */
export function processLogits(logits: Float32Array, options: SamplingOptions, out?: Float32Array): Float32Array {
  assertSamplingOptions(options);
  const size = logits.length;
  if (size === 0) throw new InvalidArgumentError({ argument: 'logits', message: 'logits must not be empty.' });
  if (out) assertCapacity(out, size, 'out');
  const result = out ? out.subarray(0, size) : new Float32Array(size);

  let max = -Infinity;
  for (let index = 0; index < size; index++) {
    const value = logits[index]!;
    if (Number.isNaN(value) || value === Infinity) {
      throw new InvalidArgumentError({
        argument: 'logits',
        message: `logit ${index} is ${value}; logits must be finite or -Infinity.`,
        hint: 'Check the model output for numerical problems (overflow in float16, a bad input).',
      });
    }
    if (value > max) max = value;
  }
  if (max === -Infinity) {
    throw new InvalidArgumentError({ argument: 'logits', message: 'every logit is -Infinity; no token can be sampled.' });
  }

  // Divide rather than multiply by 1 / T: for a subnormal T, 1 / T is Infinity and 0 * Infinity is
  // NaN at the top token, while 0 / T stays 0 (and the distribution becomes the argmax).
  const temperature = options.temperature;
  const weights = new Float64Array(size);
  for (let index = 0; index < size; index++) weights[index] = Math.exp((logits[index]! - max) / temperature);

  if (options.topK !== undefined && options.topK < size) {
    const sorted = Float64Array.from(weights).sort();
    const threshold = sorted[size - options.topK]!;
    for (let index = 0; index < size; index++) if (weights[index]! < threshold) weights[index] = 0;
  }

  let total = 0;
  for (let index = 0; index < size; index++) total += weights[index]!;

  if (options.topP !== undefined && options.topP < 1) total = keepNucleus(weights, total, options.topP);

  const scale = 1 / total;
  for (let index = 0; index < size; index++) result[index] = weights[index]! * scale;
  return result;
}

/** Zeroes every weight outside the nucleus and returns the mass that is left. */
function keepNucleus(weights: Float64Array, total: number, topP: number): number {
  const target = topP * total;
  for (const threshold of nucleusThresholds) {
    // The nucleus is a prefix of the tokens sorted by weight; when the tokens at or above a threshold
    // already reach the target mass, the nucleus lies among them and only they need sorting.
    const floor = threshold * total;
    const candidates: number[] = [];
    let candidateMass = 0;
    for (let index = 0; index < weights.length; index++) {
      const weight = weights[index]!;
      if (weight > 0 && weight >= floor) {
        candidates.push(index);
        candidateMass += weight;
      }
    }
    if (candidateMass < target && threshold > 0) continue;
    candidates.sort((a, b) => weights[b]! - weights[a]! || a - b);
    let kept = 0;
    let cumulative = 0;
    while (kept < candidates.length) {
      cumulative += weights[candidates[kept]!]!;
      kept++;
      if (cumulative >= target) break;
    }
    const keep = new Uint8Array(weights.length);
    for (let index = 0; index < kept; index++) keep[candidates[index]!] = 1;
    for (let index = 0; index < weights.length; index++) if (keep[index] === 0) weights[index] = 0;
    return cumulative;
  }
  return total;
}
