import { InvalidArgumentError } from '@msd/core';
import type { DraftStepOutput } from './draft-runner';

/**
 * The root of a draft tree: the newest token `x_n` (not yet fed to the target) with the draft's
 * prediction for the position before it, taken from the last row of the draft step that committed
 * position `n - 1` (prefill or update).
 *
 * @example
 * ```ts
 * import { draftRootFromOutput, type DraftRoot } from '@msd/draft';
 *
 * const root: DraftRoot = draftRootFromOutput(runner, output, firstToken);
 * ```
 */
export interface DraftRoot {
  /**
   * The root token `x_n`; node 0 of the tree.
   *
   * @example
   * ```ts
   * root.token; // e.g. the target's first generated token
   * ```
   */
  token: number;
  /**
   * `[hiddenSize]`: the draft's predicted feature `f_n` (its output row at position `n - 1`); the
   * hidden input of the root's children.
   *
   * @example
   * ```ts
   * root.hidden.length === runner.hiddenSize;
   * ```
   */
  hidden: Float32Array;
  /**
   * `[K]`: log-probabilities of the draft's candidates for `x_{n+1}` (`K = runner.candidatesPerRow`).
   *
   * @example
   * ```ts
   * root.topkLogprobs[0]; // best candidate's log-probability
   * ```
   */
  topkLogprobs: Float32Array;
  /**
   * `[K]`: token ids of those candidates.
   *
   * @example
   * ```ts
   * root.topkIds[0]; // best candidate for x_{n+1}
   * ```
   */
  topkIds: Int32Array;
}

/**
 * Takes row `row` (default: the last row) of a draft step's output as the tree root for `token`.
 * The arrays are copies, so the output can be dropped.
 *
 * @throws InvalidArgumentError when the output has no such row.
 *
 * @example
 * ```ts
 * import { draftRootFromOutput } from '@msd/draft';
 *
 * const { output, cache } = await runner.run(emptyCache, prefillInput);
 * const root = draftRootFromOutput(runner, output, firstToken);
 * ```
 */
export function draftRootFromOutput(
  sizes: { readonly hiddenSize: number; readonly candidatesPerRow: number },
  output: DraftStepOutput,
  token: number,
  row?: number,
): DraftRoot {
  const { hiddenSize, candidatesPerRow: topK } = sizes;
  const rows = output.hidden.length / hiddenSize;
  const index = row ?? rows - 1;
  // A step run with `topkRows: 'last'` carries candidates for its last row only.
  const candidateRows = output.topkIds.length / topK;
  const candidateIndex = candidateRows === rows ? index : index === rows - 1 && candidateRows === 1 ? 0 : -1;
  if (!Number.isInteger(index) || index < 0 || index >= rows || candidateIndex < 0 || output.topkLogprobs.length !== output.topkIds.length) {
    throw new InvalidArgumentError({
      argument: 'row',
      message: `The draft output has ${rows} row(s) of ${hiddenSize} hidden values and ${candidateRows} row(s) of ${topK} candidates; row ${index} has no candidates.`,
    });
  }
  return {
    token,
    hidden: output.hidden.slice(index * hiddenSize, (index + 1) * hiddenSize),
    topkLogprobs: output.topkLogprobs.slice(candidateIndex * topK, (candidateIndex + 1) * topK),
    topkIds: output.topkIds.slice(candidateIndex * topK, (candidateIndex + 1) * topK),
  };
}
