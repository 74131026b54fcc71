import type { DraftTree } from '@msd/core';
import {
  acceptGreedy,
  acceptPositionCoupled,
  argmax,
  argmaxPerRow,
  sampleFromLogits,
  SeededRandom,
  type Acceptance,
  type SamplingOptions,
} from '@msd/verifier';

/** The sampling settings a {@link TokenSampler} needs. */
export interface TokenSamplerSettings {
  /** 0 is greedy. */
  temperature: number;
  /** Nucleus threshold in (0, 1]. */
  topP: number;
  /** Top-k filter; 0 is off. */
  topK: number;
  /** Seed of the per-position random sources. */
  seed: number;
}

/**
 * Chooses the target's tokens: greedily at temperature 0, otherwise by sampling with one random source
 * per output position (`SeededRandom.forPosition`), so that a plain step and an accepted draft path
 * produce the same token at the same position for the same seed.
 *
 * @example
 * ```ts
 * import { TokenSampler } from 'msd';
 *
 * const sampler = new TokenSampler({ temperature: 0.7, topP: 0.9, topK: 0, seed: 7 }, vocabSize);
 * const first = sampler.choose(prefill.logits, promptLength - 1, 0);
 * const acceptance = sampler.accept(tree, verified.logits, produced);
 * ```
 */
export class TokenSampler {
  private readonly sampling: SamplingOptions;

  constructor(
    private readonly settings: TokenSamplerSettings,
    private readonly vocabSize: number,
  ) {
    this.sampling = { temperature: settings.temperature, topP: settings.topP, ...(settings.topK > 0 ? { topK: settings.topK } : {}) };
  }

  /**
   * The token at output `position` from row `row` of `logits`.
   *
   * @example
   * ```ts
   * const token = sampler.choose(step.logits, 0, produced);
   * ```
   */
  choose(logits: Float32Array, row: number, position: number): number {
    const rowLogits = logits.subarray(row * this.vocabSize, (row + 1) * this.vocabSize);
    if (this.settings.temperature === 0) return argmax(rowLogits);
    return sampleFromLogits(rowLogits, this.sampling, SeededRandom.forPosition(this.settings.seed, position));
  }

  /**
   * The verified path of `tree`, whose root's successor is output position `produced`.
   *
   * @example
   * ```ts
   * const { acceptedNodes, acceptedTokens, bonusToken } = sampler.accept(tree, verified.logits, produced);
   * ```
   */
  accept(tree: DraftTree, logits: Float32Array, produced: number): Acceptance {
    if (this.settings.temperature === 0) return acceptGreedy(tree, argmaxPerRow(logits, this.vocabSize));
    return acceptPositionCoupled(tree, logits, this.sampling, (depth) => SeededRandom.forPosition(this.settings.seed, produced + depth - 1));
  }
}
