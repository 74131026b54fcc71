import type { TreeShape } from '@msd/core';

/**
 * Default tree: a chain of 5. On a 2-core CPU with the bundled model, side by side on the held-out sets
 * (`msd bench`, docs/benchmarks.md), it beat the wider tree `msd tune` rated close (depth 6, 3 children,
 * 9 nodes) on every greedy set: 2.13x vs 1.56x one-image, 1.73x vs 1.12x text-only, 1.82x vs 1.77x on
 * long answers. A draft call costs about a seventh of a target step here, so depth pays and width does
 * not. On a GPU, where wider trees are nearly free to verify, run `msd tune` (`tree: 'tuned'`).
 */
export const DEFAULT_TREE: TreeShape = { depth: 5, branching: 1, totalTokens: 5 };

/**
 * Default tree of sampled requests (temperature > 0): several candidates per node. At temperature 1
 * the target's token is often not the draft's best guess but its second or third, and the lossless
 * multi-candidate acceptance (`acceptSampling` of `@msd/verifier`) tries each child in turn, so
 * width pays there where it does not at temperature 0.
 */
export const DEFAULT_SAMPLING_TREE: TreeShape = { depth: 4, branching: 3, totalTokens: 9 };
