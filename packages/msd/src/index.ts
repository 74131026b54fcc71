/**
 * msd: multimodal speculative decoding for vision-language models. The front door: `MsdPipeline`
 * (load a model directory, generate, stream), the decode loop it runs (on the `TargetRunner` and
 * `DraftRunner` interfaces, so custom runners plug in), the speculation policy and the option checks.
 * The ONNX adapters are in `@msd/models`; the benchmark and tree tuning in the `msd/bench` subpath.
 * This entry loads no native module until a function that needs one runs.
 *
 * @module msd
 */
export { MsdPipeline, DEFAULT_TREE, DEFAULT_SAMPLING_TREE } from './pipeline';
export type { PipelineOptions } from './pipeline';
export { PipelineCore, checkTokenIds } from './pipeline-core';
export type { PipelineParts } from './pipeline-core';
export { PipelineStream } from './generation-stream';
export type { GenerateResult, GenerationStream, StreamHost } from './generation-stream';
export { StepLock } from './step-lock';
export { defaultPipelineLimits, resolvePipelineLimits } from './pipeline-limits';
export type { PipelineLimits } from './pipeline-limits';
export { resolveGenerateOptions, checkGenerateRequest } from './generate-options';
export type { GenerateOptions, GeneratedToken, ResolvedGenerateOptions, RequestLimits } from './generate-options';
export { GenerationStatsRecorder } from './generation-stats';
export type { GenerationStats, GenerationTimings } from './generation-stats';
export { StopStringFilter } from './stop-strings';
export { decode } from './decode-loop';
export type { DecodeOptions, DecodeRequest, DecodeChunk } from './decode-loop';
export { TokenSampler } from './token-sampler';
export type { TokenSamplerSettings } from './token-sampler';
export { SpeculationPolicy, SPECULATION_POLICY_DEFAULTS, PROBE_TREE } from './speculation-policy';
export type { SpeculationPolicyOptions, SpeculationState } from './speculation-policy';
export { SpeculationMemory } from './speculation-memory';
export { tuningCachePath, tuningKeyFor, readTuning, writeTuning } from './tuning-cache';
export type { TuningKey } from './tuning-cache';
