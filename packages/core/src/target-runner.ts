import { InvalidArgumentError } from './errors';
import type { TokenTypeTags } from './token-types';

/**
 * What one target call over new positions returns.
 *
 * @example
 * ```ts
 * import type { TargetStep } from '@msd/core';
 *
 * const step: TargetStep<MyCache> = await target.forward(cache, tokens, positions, mask);
 * const { logits, hidden, cache: next } = step;
 * ```
 */
export interface TargetStep<Cache> {
  /**
   * `[T * vocabSize]`: logits of the new positions, row-major; after a prefill asked for
   * `{ logits: 'last' }`, `[vocabSize]`, the last position's only (read it with {@link lastLogitsRow}).
   */
  logits: Float32Array;
  /** `[T * hiddenSize]`: hidden states after the final norm (what an MSD draft consumes). */
  hidden: Float32Array;
  /** A new cache: the input cache with the new positions appended. The input cache stays valid. */
  cache: Cache;
}

/**
 * Options of {@link TargetRunner.prefill}.
 *
 * @example
 * ```ts
 * import type { PrefillOptions } from '@msd/core';
 *
 * const options: PrefillOptions = { logits: 'last' };
 * const prefill = await target.prefill(ids, tags, features, options);
 * ```
 */
export interface PrefillOptions {
  /**
   * `'all'` (default): a logits row per prompt position. `'last'`: the last position's row only, which
   * is all a generation needs; a decoder graph with a `logits_rows` input then skips the vocabulary
   * projection of every other position (for llava-1.5-7b over a 600-position prompt, 157 GFLOP and
   * 77 MB of logits). Runners that cannot select rows may still return every row; read the result with
   * {@link lastLogitsRow}, which takes the last row either way.
   */
  logits?: 'all' | 'last';
}

/**
 * The last position's logits of a target step: its last `vocabSize` entries, whether the step returned
 * a row per position or, after `prefill(..., { logits: 'last' })`, only that one.
 *
 * @example
 * ```ts
 * import { lastLogitsRow } from '@msd/core';
 *
 * const prefill = await target.prefill(ids, tags, features, { logits: 'last' });
 * const next = lastLogitsRow(prefill, target.vocabSize); // Float32Array of vocabSize
 * ```
 */
export function lastLogitsRow(step: Pick<TargetStep<unknown>, 'logits'>, vocabSize: number): Float32Array {
  const { logits } = step;
  if (vocabSize <= 0 || logits.length < vocabSize || logits.length % vocabSize !== 0) {
    throw new InvalidArgumentError({
      argument: 'step.logits',
      message: `${logits.length} logits are not whole rows of ${vocabSize}.`,
      hint: "Pass the target's vocabSize.",
    });
  }
  return logits.subarray(logits.length - vocabSize);
}

/**
 * The target of speculative decoding, as the decode loop needs it: a vision-language model that
 * encodes images, prefills a prompt, runs new positions under an explicit mask (a tree), and keeps
 * a KV cache that can be compacted to the accepted path. `@msd/models`' `OnnxTargetRunner` is the
 * onnxruntime implementation; implement this to decode another runtime, or a fake in tests. Its
 * sibling is `@msd/draft`'s `DraftRunner`.
 *
 * @example
 * ```ts
 * import type { TargetRunner } from '@msd/core';
 *
 * async function greedyStep<Cache>(target: TargetRunner<Cache>, cache: Cache, token: number) {
 *   const past = target.cacheLength(cache);
 *   return target.forward(cache, [token], [past], new Float32Array(past + 1));
 * }
 * ```
 */
export interface TargetRunner<Cache> {
  /** Width of a logits row. */
  readonly vocabSize: number;
  /** Width of a hidden-state row. */
  readonly hiddenSize: number;
  /** `[images * imageTokensPerImage * hiddenSize]` projected image features for preprocessed pixels. */
  encodeImages(pixels: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  /**
   * The prompt from an empty cache: image positions (by `tags`) take `imageFeatures`, positions 0..n-1,
   * causal. Hidden states come back for every position; logits for every position, or the last only
   * when `options.logits` is `'last'` and the runner can select rows (see {@link PrefillOptions}).
   */
  prefill(ids: ArrayLike<number>, tags: TokenTypeTags, imageFeatures: Float32Array | undefined, options?: PrefillOptions): Promise<TargetStep<Cache>>;
  /**
   * `tokens` after the cached positions, at `positions`, under an additive `[T * (past + T)]` mask (0: may
   * attend; `blockedAttention`: may not).
   */
  forward(cache: Cache, tokens: ArrayLike<number>, positions: ArrayLike<number>, mask: Float32Array): Promise<TargetStep<Cache>>;
  /** A cache of only the positions in `keep` (ascending). Consumes `cache`: it must not be used afterwards. */
  compact(cache: Cache, keep: ArrayLike<number>): Promise<Cache>;
  /** Frees a cache (device memory, tensors). */
  disposeCache(cache: Cache): void;
  /** Positions held in `cache`. */
  cacheLength(cache: Cache): number;
}
