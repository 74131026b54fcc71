import { InvalidArgumentError } from './errors';

/**
 * The shape of an EAGLE-2 dynamic draft tree: one type for the drafter (`@msd/draft`'s `draftTree`),
 * the pipeline's options and `msd tune`'s candidates.
 *
 * @example
 * ```ts
 * import type { TreeShape } from '@msd/core';
 *
 * const chain: TreeShape = { depth: 5, branching: 1, totalTokens: 5 }; // a fixed chain of 5
 * const adaptive: TreeShape = { depth: 10, branching: 1, totalTokens: 10, minConfidence: 0.3 }; // as deep as the draft is sure
 * const reference: TreeShape = { depth: 5, branching: 10, totalTokens: 48 }; // EAGLE-2 on a GPU
 * ```
 */
export interface TreeShape {
  /**
   * Levels below the root: the most drafted tokens on one path. Drafting makes `depth - 1` draft
   * calls (depth-1 nodes come from the root's candidates).
   */
  depth: number;
  /**
   * Children proposed per expanded node, and nodes kept per level (EAGLE-2's "top-k"). At most the
   * draft's `candidatesPerRow`.
   */
  branching: number;
  /** Drafted nodes verified per step, the root not counted (the target checks `totalTokens + 1` positions). */
  totalTokens: number;
  /**
   * Adaptive depth (EAGLE-2's dynamic expansion, cut by confidence): a node is expanded only while the
   * draft's cumulative probability of its path is at least this, so drafting goes as deep as `depth`
   * where the draft is sure and stops after one or two tokens where it is not, saving the draft calls
   * and verified positions that would be rejected. A probability in `[0, 1)`; `0` (the default)
   * always drafts to `depth`.
   */
  minConfidence?: number;
}

/**
 * Checks a {@link TreeShape}: positive integers, `branching` at most `maxBranching` (the draft's
 * candidates per row). Throws an `InvalidArgumentError` naming the field as `${prefix}depth` and so on.
 *
 * @example
 * ```ts
 * import { checkTreeShape } from '@msd/core';
 *
 * checkTreeShape({ depth: 5, branching: 1, totalTokens: 5 }, { maxBranching: 10, prefix: 'tree.' });
 * ```
 */
export function checkTreeShape(shape: TreeShape, options: { maxBranching?: number; prefix?: string } = {}): void {
  const prefix = options.prefix ?? '';
  if (shape === null || typeof shape !== 'object') {
    throw new InvalidArgumentError({
      argument: prefix.replace(/\.$/, '') || 'tree',
      message: 'The tree shape must be an object with depth, branching and totalTokens.',
    });
  }
  const field = (name: 'depth' | 'branching' | 'totalTokens', max = Number.POSITIVE_INFINITY) => {
    const value = shape[name];
    if (!Number.isInteger(value) || value < 1 || value > max) {
      const range = Number.isFinite(max) ? `an integer from 1 to ${max} (the draft's candidates per row)` : 'a positive integer';
      throw new InvalidArgumentError({ argument: `${prefix}${name}`, message: `${prefix}${name} must be ${range}, got ${String(value)}.` });
    }
  };
  field('depth');
  field('branching', options.maxBranching);
  field('totalTokens');
  const confidence = shape.minConfidence;
  if (confidence !== undefined && !(typeof confidence === 'number' && confidence >= 0 && confidence < 1)) {
    throw new InvalidArgumentError({
      argument: `${prefix}minConfidence`,
      message: `${prefix}minConfidence must be a probability from 0 (inclusive) to 1 (exclusive), got ${String(confidence)}.`,
      hint: 'Try 0.1 to 0.4; leave it out to always draft to the full depth.',
    });
  }
}
