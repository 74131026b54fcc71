/**
 * msd: multimodal speculative decoding for vision-language models. This entry composes the leaf
 * packages and loads no native module until a function that needs one runs.
 *
 * @module msd
 */
export { prepareInputs } from './prepare-inputs';
export type { PrepareInputsOptions, PreparedInputs } from './prepare-inputs';
