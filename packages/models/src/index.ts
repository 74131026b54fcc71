/**
 * msd model directories on onnxruntime-node: the manifest (read and validated), the target and draft
 * runners the decode loop drives (`TargetRunner` of `@msd/core`, `DraftRunner` of `@msd/draft`), and a
 * prompt's inputs (expanded ids, token-type tags, pixels). What a custom decoder needs besides the
 * runtime-independent packages; `examples/custom-decoder.ts` builds one. onnxruntime-node and sharp are
 * loaded on first use.
 *
 * @module @msd/models
 */
export { readModelDirectory } from './model-directory';
export type { ModelDirectory } from './model-directory';
export { OnnxTargetRunner } from './onnx-target-runner';
export type { TargetForward } from './onnx-target-runner';
export { OnnxDraftRunner } from './onnx-draft-runner';
export { openGraph } from './open-graph';
export type { ModelFileReader, ModelSource } from './open-graph';
export { urlModelSource, fileModelSource, readModelJson, readModelManifest } from './model-sources';
export type { DownloadProgress, UrlModelSourceOptions } from './model-sources';
export { prepareInputs } from './prepare-inputs';
export type { PrepareInputsOptions, PreparedInputs } from './prepare-inputs';
