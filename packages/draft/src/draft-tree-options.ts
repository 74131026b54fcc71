import { checkTreeShape, InvalidArgumentError, type TreeShape } from '@msd/core';

/**
 * A {@link TreeShape} (`@msd/core`) plus the tokens that end a branch.
 *
 * @example
 * ```ts
 * import type { DraftTreeOptions } from '@msd/draft';
 *
 * const options: DraftTreeOptions = { depth: 5, branching: 10, totalTokens: 48 }; // the reference defaults
 * ```
 */
export interface DraftTreeOptions extends TreeShape {
  /**
   * Tokens that end a generation (the model's EOS). They are drafted like any other token but never
   * expanded: nothing after them is ever kept, so the draft calls for their children would be
   * wasted. On the bundled model's short answers this skips most of the deeper rounds of the last
   * step. Default: none.
   *
   * @example
   * ```ts
   * const options: DraftTreeOptions = { depth: 5, branching: 1, totalTokens: 5, stopTokenIds: [manifest.eosTokenId] };
   * ```
   */
  stopTokenIds?: readonly number[];
}

/**
 * Checks {@link DraftTreeOptions} against a runner's candidates per row (`checkTreeShape` of
 * `@msd/core`, the same check the pipeline's options use, plus `stopTokenIds`).
 *
 * @throws InvalidArgumentError naming the first bad option: `depth` or `totalTokens` not a positive
 *   integer, `branching` not an integer in `1..candidatesPerRow`, `stopTokenIds` not an array of token ids.
 *
 * @example
 * ```ts
 * import { checkDraftTreeOptions } from '@msd/draft';
 *
 * checkDraftTreeOptions({ depth: 5, branching: 10, totalTokens: 48 }, runner.candidatesPerRow);
 * ```
 */
export function checkDraftTreeOptions(options: DraftTreeOptions, candidatesPerRow: number): void {
  checkTreeShape(options, { maxBranching: candidatesPerRow });
  const stops = options.stopTokenIds;
  if (stops !== undefined && (!Array.isArray(stops) || !stops.every((id) => Number.isInteger(id) && id >= 0))) {
    throw new InvalidArgumentError({
      argument: 'stopTokenIds',
      message: `stopTokenIds must be an array of token ids (integers >= 0), got ${JSON.stringify(stops)}.`,
    });
  }
}
