import { InvalidArgumentError } from '@msd/core';
import { causalAttentionMask } from '@msd/core';
import type { DraftStepInput } from './draft-runner';

/**
 * What {@link updateDraftInputs} needs after one verification step.
 *
 * @example
 * ```ts
 * import type { UpdateDraftInputsOptions } from '@msd/draft';
 *
 * const options: UpdateDraftInputsOptions = { committedLength: n, tokens: [a1, a2, bonus], targetHidden, hiddenSize: 4096 };
 * ```
 */
export interface UpdateDraftInputsOptions {
  /**
   * `n`: the draft cache length before the update, which is also the position of the old root
   * `x_n` (the draft cache holds the pairs of positions `0..n-1`).
   *
   * @example
   * ```ts
   * const committedLength = runner.cacheLength(committedCache);
   * ```
   */
  committedLength: number;
  /**
   * The `T` tokens that follow the old root, `x_{n+1}..x_{n+T}`: the accepted drafted tokens
   * `a_1..a_m` then the bonus token `b` (`T = m + 1`). The last one is the new root.
   *
   * @example
   * ```ts
   * const tokens = [...acceptedTokens, bonusToken];
   * ```
   */
  tokens: ArrayLike<number>;
  /**
   * `[T * hiddenSize]`: the target's last hidden states (after the final norm) at positions
   * `n..n+T-1`, i.e. at the old root and at each accepted node, in path order, as the verification
   * forward computed them.
   *
   * @example
   * ```ts
   * const targetHidden = gatherRows(verifyHidden, [0, ...acceptedNodes], hiddenSize);
   * ```
   */
  targetHidden: Float32Array;
  /**
   * The feature width `d`.
   *
   * @example
   * ```ts
   * updateDraftInputs({ committedLength, tokens, targetHidden, hiddenSize: runner.hiddenSize });
   * ```
   */
  hiddenSize: number;
}

/**
 * Builds the draft step that commits a verification result: rows `j = 0..T-1` pair
 * `f_{n+j}` (`targetHidden` row `j`) with `x_{n+j+1}` (`tokens[j]`) at position `n + j`, causal
 * over the committed cache. With accepted nodes `[root, a_1..a_m]` and bonus `b` the pairs are
 * `(f_root, a_1), (f_a1, a_2), ..., (f_am, b)` at positions `n..n+m`. Generated tokens are text, so
 * there are no image rows. Afterwards the cache length is `n + T`, the new root is `b` at position
 * `n + T`, and the step's last output row predicts its feature (see {@link draftRootFromOutput}).
 *
 * @throws InvalidArgumentError when `tokens` is empty or `targetHidden` has the wrong size.
 *
 * @example
 * ```ts
 * import { draftRootFromOutput, updateDraftInputs } from '@msd/draft';
 *
 * const input = updateDraftInputs({ committedLength: runner.cacheLength(cache), tokens: [...accepted, bonus], targetHidden, hiddenSize: runner.hiddenSize });
 * const { output, cache: next } = await runner.run(cache, input);
 * runner.disposeCache(cache);
 * const root = draftRootFromOutput(runner, output, bonus);
 * ```
 */
export function updateDraftInputs(options: UpdateDraftInputsOptions): DraftStepInput {
  const { committedLength, tokens, targetHidden, hiddenSize } = options;
  if (!Number.isInteger(hiddenSize) || hiddenSize < 1) {
    throw new InvalidArgumentError({ argument: 'hiddenSize', message: `hiddenSize must be a positive integer, got ${hiddenSize}.` });
  }
  if (!Number.isInteger(committedLength) || committedLength < 0) {
    throw new InvalidArgumentError({ argument: 'committedLength', message: `committedLength must be a non-negative integer, got ${committedLength}.` });
  }
  const count = tokens.length;
  if (count < 1) throw new InvalidArgumentError({ argument: 'tokens', message: 'tokens must hold at least the bonus token.' });
  if (targetHidden.length !== count * hiddenSize) {
    throw new InvalidArgumentError({
      argument: 'targetHidden',
      message: `targetHidden must hold ${count} x ${hiddenSize} values (one row per token, at the position before it); got ${targetHidden.length}.`,
    });
  }
  const inputIds = new Int32Array(count);
  const positionIds = new Int32Array(count);
  for (let j = 0; j < count; j++) {
    inputIds[j] = tokens[j]!;
    positionIds[j] = committedLength + j;
  }
  return {
    inputIds,
    hiddenStates: targetHidden.slice(),
    imageEmbeds: undefined,
    imageMask: undefined,
    positionIds,
    attentionMask: causalAttentionMask(committedLength, count),
    // Only the last row becomes the tree root.
    topkRows: 'last',
  };
}
