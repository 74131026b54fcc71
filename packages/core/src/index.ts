/**
 * Dependency-free core of msd: the error classes and the shared types the
 * other packages exchange.
 *
 * @module @msd/core
 */
export { MsdError } from './msd-error';
export type { MsdErrorOptions } from './msd-error';
export { InvalidArgumentError, ConfigError, AbortedError, LimitExceededError } from './errors';
export { validateModelManifest } from './validate-manifest';
export { describeValue } from './describe-value';
export { TokenTypeCode, tokenTypeAt, countTokenTypes } from './token-types';
export type { TokenType, ImageSpan, TokenTypeTags } from './token-types';
export type { ModelManifest, GraphSpec, DraftSpec, TensorSpec, TensorDataType } from './model-manifest';
export { draftTreeProblem } from './draft-tree';
export { checkTreeShape } from './tree-shape';
export type { TreeShape } from './tree-shape';
export { lastLogitsRow } from './target-runner';
export type { TargetRunner, TargetStep, PrefillOptions } from './target-runner';
export type { DraftTree } from './draft-tree';
export { blockedAttention, causalAttentionMask } from './attention-mask';
export { gatherSequence } from './gather-sequence';
