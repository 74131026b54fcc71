import { describeValue, InvalidArgumentError, type TreeShape } from '@msd/core';

/**
 * Default tree: a chain that goes on while the draft is sure of it, up to 10 tokens (EAGLE-2's dynamic
 * depth: a branch stops once its cumulative probability falls below `minConfidence` 0.4). Side by side
 * on the bundled model and a 2-core CPU (`msd bench`, docs/benchmarks.md) it beat the fixed chain of 5
 * that preceded it on every greedy set: 2.84x vs 2.49x decode on long answers (tau 7.0 vs 4.9), 2.60x
 * vs 2.22x one-image, 2.71x vs 2.09x two-image. A draft call costs about a seventh of a target step
 * here, so depth pays and width does not; where the draft doubts, the chain stops and saves the calls.
 * On a GPU, where wider trees are nearly free to verify, run `msd tune` (`tree: 'tuned'`).
 */
export const DEFAULT_TREE: TreeShape = { depth: 10, branching: 1, totalTokens: 10, minConfidence: 0.4 };

/**
 * Default tree of sampled requests (temperature > 0): two candidates per node, as deep as the draft is
 * sure (up to 8, `minConfidence` 0.3). At temperature 1 the target's token is often not the draft's
 * best guess but its second, and the lossless multi-candidate acceptance (`acceptSampling` of
 * `@msd/verifier`) tries each child in turn, so some width pays there where it does not at
 * temperature 0. Side by side it beat the fixed depth 4 x 3 with 9 nodes before it: 2.26x vs 1.97x
 * decode on long answers, 2.32x vs 1.87x one-image.
 */
export const DEFAULT_SAMPLING_TREE: TreeShape = { depth: 8, branching: 2, totalTokens: 12, minConfidence: 0.3 };

/**
 * `base` with the fields `override` sets. A shape is taken whole: an override that sets `depth`,
 * `branching` or `totalTokens` drops `base`'s `minConfidence` unless it sets its own, so
 * `{ depth: 5, branching: 1, totalTokens: 5 }` is a fixed chain of 5, not an adaptive one inherited
 * from the default; `{ minConfidence: 0.2 }` alone keeps the rest of `base`.
 *
 * @throws InvalidArgumentError naming `argument` when `override` is not an object.
 *
 * @example
 * ```ts
 * overrideTree(DEFAULT_TREE, { depth: 5, branching: 1, totalTokens: 5 }); // { depth: 5, branching: 1, totalTokens: 5 }
 * ```
 */
export function overrideTree(base: TreeShape, override: Partial<TreeShape> | undefined, argument = 'tree'): TreeShape {
  if (override === undefined) return base;
  // Spread, a number or a string would add nothing and be ignored without a word.
  if (override === null || typeof override !== 'object' || Array.isArray(override)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be an object with any of depth, branching, totalTokens and minConfidence, got ${describeValue(override)}.`,
    });
  }
  const reshaped = override.depth !== undefined || override.branching !== undefined || override.totalTokens !== undefined;
  const { minConfidence: _inherited, ...fixed } = base;
  return { ...(reshaped ? fixed : base), ...override };
}
