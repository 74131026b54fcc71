/**
 * The browser entry of msd (the `browser` export condition): `BrowserPipeline` on onnxruntime-web, and
 * the same decode loop, speculation policy, sampler and option checks as the Node entry. No Node module
 * is imported on this path; `MsdPipeline` (which reads local folders) is the Node entry's.
 *
 * @module msd/browser
 */
export { BrowserPipeline } from './browser/browser-pipeline';
export type { BrowserPipelineOptions, BrowserLoadProgress } from './browser/browser-pipeline';
export { PipelineCore, checkTokenIds } from './pipeline-core';
export type { PipelineParts } from './pipeline-core';
export { DEFAULT_TREE, DEFAULT_SAMPLING_TREE } from './tree-defaults';
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
