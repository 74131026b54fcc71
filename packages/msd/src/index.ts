/**
 * msd: multimodal speculative decoding for vision-language models. This entry composes the leaf
 * packages and loads no native module until a function that needs one runs.
 *
 * @module msd
 */
export { prepareInputs } from './prepare-inputs';
export type { PrepareInputsOptions, PreparedInputs } from './prepare-inputs';
export { MsdPipeline, DEFAULT_TREE } from './pipeline';
export type { PipelineOptions } from './pipeline';
export { PipelineStream } from './generation-stream';
export type { GenerateResult, GenerationStream, StreamHost } from './generation-stream';
export { StepLock } from './step-lock';
export { defaultPipelineLimits, resolvePipelineLimits } from './pipeline-limits';
export type { PipelineLimits } from './pipeline-limits';
export { resolveGenerateOptions, checkGenerateRequest } from './generate-options';
export type { GenerateOptions, ResolvedGenerateOptions, TreeShape, RequestLimits } from './generate-options';
export { GenerationStatsRecorder } from './generation-stats';
export type { GenerationStats, GenerationTimings } from './generation-stats';
export { StopStringFilter } from './stop-strings';
export { readModelDirectory } from './model-directory';
export type { ModelDirectory } from './model-directory';
export { TargetModel } from './target-model';
export type { TargetForward } from './target-model';
export { OnnxDraftRunner } from './onnx-draft-runner';
export { decode } from './decode-loop';
export { SpeculationPolicy, SPECULATION_POLICY_DEFAULTS } from './speculation-policy';
export type { SpeculationPolicyOptions, SpeculationState } from './speculation-policy';
export { SpeculationMemory } from './speculation-memory';
export type { DecodeRequest, DecodeChunk } from './decode-loop';
export { runBenchmark, BenchmarkMismatchError } from './benchmark/run-benchmark';
export { spread } from './benchmark/spread';
export type { BenchmarkOptions, BenchmarkBaseline } from './benchmark/run-benchmark';
export { readBenchmarkPrompts, heldoutPromptFile } from './benchmark/benchmark-prompts';
export type { BenchmarkPrompt } from './benchmark/benchmark-prompts';
export type { BenchmarkReport, MethodResult, Spread, PhaseTimes, CostPoint, TuningSummary } from './benchmark/benchmark-report';
export { writeBenchmarkReport } from './benchmark/write-report';
export { markdownReport } from './benchmark/markdown-report';
export { tokensPerSecondChart, tauDistributionChart, costCurveChart } from './benchmark/svg-charts';
export { measureCostCurves, costAt } from './tuning/cost-curves';
export type { CostCurves, MeasureCostOptions } from './tuning/cost-curves';
export { tuneTree, defaultTreeCandidates, predictedStepMilliseconds } from './tuning/tune-tree';
export type { TuneTreeOptions, CalibrationPrompt } from './tuning/tune-tree';
export { tuningCachePath, tuningKeyFor, readTuning, writeTuning } from './tuning/tuning-cache';
export type { TuningKey } from './tuning/tuning-cache';
export type { ChartOptions } from './benchmark/svg-charts';
export type { ReportCharts } from './benchmark/markdown-report';
