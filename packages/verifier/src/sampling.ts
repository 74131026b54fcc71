import { InvalidArgumentError } from '@msd/core';
import { processLogits } from './logits-processor';
import type { SamplingOptions } from './logits-processor';
import type { SeededRandom } from './seeded-random';

/**
 * Draws a token index from a probability vector (as {@link processLogits} returns; it need not sum to
 * exactly 1 — the draw is scaled by the actual total). Entries of 0 are never drawn.
 *
 * @throws InvalidArgumentError when the probabilities hold a negative or NaN entry or sum to 0.
 *
 * @example
 * ```ts
 * import { SeededRandom, sampleToken } from '@msd/verifier';
 *
 * const token = sampleToken(Float32Array.of(0.1, 0.6, 0.3), new SeededRandom({ seed: 7 }));
 * ```
 */
export function sampleToken(probabilities: Float32Array, random: SeededRandom): number {
  let total = 0;
  for (let index = 0; index < probabilities.length; index++) {
    const probability = probabilities[index]!;
    if (!(probability >= 0)) {
      throw new InvalidArgumentError({
        argument: 'probabilities',
        message: `probability ${index} is ${probability}; probabilities must be >= 0.`,
      });
    }
    total += probability;
  }
  if (!(total > 0) || !Number.isFinite(total)) {
    throw new InvalidArgumentError({
      argument: 'probabilities',
      message: `the probabilities sum to ${total}; there is nothing to sample.`,
    });
  }
  return drawFrom(probabilities, total, random);
}

/**
 * Draws an index with probability `probabilities[i] / total`, where `total` is the (positive) sum of the
 * entries. @internal
 */
export function drawFrom(probabilities: Float32Array, total: number, random: SeededRandom): number {
  let remaining = random.nextFloat() * total;
  let lastPositive = -1;
  for (let index = 0; index < probabilities.length; index++) {
    const probability = probabilities[index]!;
    if (probability <= 0) continue;
    remaining -= probability;
    if (remaining < 0) return index;
    lastPositive = index;
  }
  return lastPositive; // only reached through rounding: the draw landed on the very end of the mass
}

/**
 * Plain sampling for autoregressive decoding at T > 0: processes one row of logits with the same
 * processor the sampling acceptance uses ({@link processLogits}) and draws a token from it.
 *
 * @param logits - One row of logits (vocabulary size entries).
 * @param options - Temperature (> 0), top-k, top-p.
 * @param random - The random source; share one per generation.
 * @param scratch - Optional buffer of at least `logits.length` elements for the processed
 *   distribution (avoids an allocation per token).
 *
 * @example
 * ```ts
 * import { SeededRandom, sampleFromLogits } from '@msd/verifier';
 *
 * const random = new SeededRandom({ seed: 1 });
 * const token = sampleFromLogits(lastRowLogits, { temperature: 0.8, topK: 40 }, random);
 * ```
 */
export function sampleFromLogits(logits: Float32Array, options: SamplingOptions, random: SeededRandom, scratch?: Float32Array): number {
  return sampleToken(processLogits(logits, options, scratch), random);
}
