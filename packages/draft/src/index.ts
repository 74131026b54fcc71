/**
 * MSD's drafter logic, independent of the inference runtime: the decoupled draft inputs (image
 * patches enter as raw projector outputs) and EAGLE-2 dynamic tree drafting. The draft model is
 * reached through {@link DraftRunner}, which `@msd/models` implements over onnxruntime
 * (`OnnxDraftRunner`); {@link DraftState} keeps a generation's draft cache in step with the target.
 *
 * @module @msd/draft
 */
// Re-exported for decoders that import only this package.
/** The additive attention-mask value of a blocked position (the smallest float32; `0` means "may attend"); re-exported from `@msd/core`. */
export { blockedAttention } from '@msd/core';
/** Builds the additive causal mask `[length, past + length]` for `length` positions after `past` cached ones; re-exported from `@msd/core`. */
export { causalAttentionMask } from '@msd/core';
export type { DraftRunner, DraftStepInput, DraftStepOutput, DraftStepResult } from './draft-runner';
export { prefillDraftInputs } from './prefill-draft-inputs';
export type { PrefillDraftInputsOptions } from './prefill-draft-inputs';
export { updateDraftInputs } from './update-draft-inputs';
export type { UpdateDraftInputsOptions } from './update-draft-inputs';
export { draftRootFromOutput } from './draft-root';
export type { DraftRoot } from './draft-root';
export { checkDraftTreeOptions } from './draft-tree-options';
export type { DraftTreeOptions } from './draft-tree-options';
export { draftTree } from './draft-tree';
export { DraftState } from './draft-state';
export type { DraftStart } from './draft-state';
export type { DraftTreeResult, DraftTreeStats } from './draft-tree';
export { DraftOutputError } from './errors';
