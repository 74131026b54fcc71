import { InvalidArgumentError } from '@msd/core';

/**
 * The shape of an EAGLE-2 dynamic draft tree.
 *
 * @example
 * ```ts
 * import type { DraftTreeOptions } from '@msd/draft';
 *
 * const options: DraftTreeOptions = { depth: 5, topK: 10, totalTokens: 48 }; // the reference defaults
 * ```
 */
export interface DraftTreeOptions {
  /**
   * Maximum depth of a drafted token (the root has depth 0). Drafting makes `depth - 1` draft
   * calls: depth-1 nodes come from the root's candidates, each call expands one depth. At least 1.
   *
   * @example
   * ```ts
   * { depth: 5 } // up to 5 drafted tokens per path, 4 draft calls
   * ```
   */
  depth: number;
  /**
   * Children proposed per expanded node, and the size of the frontier kept per depth. Between 1 and
   * the runner's `topK`.
   *
   * @example
   * ```ts
   * { topK: 10 }
   * ```
   */
  topK: number;
  /**
   * Maximum number of drafted nodes in the tree, the root not counted (the verifier then checks
   * `totalTokens + 1` positions). At least 1.
   *
   * @example
   * ```ts
   * { totalTokens: 48 }
   * ```
   */
  totalTokens: number;
  /**
   * Tokens that end a generation (the model's EOS). They are drafted like any other token but never
   * expanded: nothing after them is ever kept, so the draft calls for their children would be
   * wasted. On the bundled model's short answers this skips most of the deeper rounds of the last
   * step. Default: none.
   *
   * @example
   * ```ts
   * { depth: 5, topK: 1, totalTokens: 5, stopTokenIds: [manifest.eosTokenId] }
   * ```
   */
  stopTokenIds?: readonly number[];
}

function positiveInteger(name: keyof DraftTreeOptions, value: number, max = Number.POSITIVE_INFINITY): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    const range = Number.isFinite(max) ? `an integer between 1 and ${max} (the draft's topK)` : 'a positive integer';
    throw new InvalidArgumentError({ argument: name, message: `${name} must be ${range}, got ${value}.` });
  }
}

/**
 * Checks {@link DraftTreeOptions} against a runner's `topK`.
 *
 * @throws InvalidArgumentError naming the first bad option: `depth` or `totalTokens` not a positive
 *   integer, `topK` not an integer in `1..runnerTopK`, `stopTokenIds` not an array of token ids.
 *
 * @example
 * ```ts
 * import { checkDraftTreeOptions } from '@msd/draft';
 *
 * checkDraftTreeOptions({ depth: 5, topK: 10, totalTokens: 48 }, runner.topK);
 * ```
 */
export function checkDraftTreeOptions(options: DraftTreeOptions, runnerTopK: number): void {
  positiveInteger('depth', options.depth);
  positiveInteger('topK', options.topK, runnerTopK);
  positiveInteger('totalTokens', options.totalTokens);
  const stops = options.stopTokenIds;
  if (stops !== undefined && (!Array.isArray(stops) || !stops.every((id) => Number.isInteger(id) && id >= 0))) {
    throw new InvalidArgumentError({ argument: 'stopTokenIds', message: `stopTokenIds must be an array of token ids (integers >= 0), got ${JSON.stringify(stops)}.` });
  }
}
