/**
 * Tree verification for speculative decoding: tree attention masks and position ids, greedy and
 * lossless sampling acceptance, the logits processor and seeded random source sampling uses, and KV
 * compaction. Pure TypeScript; works on plain typed arrays.
 *
 * @module @msd/verifier
 */
export { InvalidDraftTreeError } from './errors';
export { treeAttentionMask, treePositionIds } from './tree-attention';
export { ancestors, treeChildren, treePaths } from './tree-paths';
export type { Acceptance } from './acceptance';
export { argmax, argmaxPerRow } from './argmax';
export { selectRows } from './select-rows';
export { acceptGreedy } from './greedy-acceptance';
export { SeededRandom } from './seeded-random';
export type { SeededRandomOptions } from './seeded-random';
export { assertSamplingOptions, processLogits } from './logits-processor';
export type { SamplingOptions } from './logits-processor';
export { sampleFromLogits, sampleToken } from './sampling';
export { acceptSampling } from './sampling-acceptance';
export { acceptPositionCoupled } from './position-coupled-acceptance';
export { compactionIndices } from './kv-compaction';
export { chiSquareSurvival, chiSquareTest } from './chi-square';
export type { ChiSquareResult } from './chi-square';
