/**
 * `msd/bench`: the benchmark (`msd bench`) and tree tuning (`msd tune`) of msd, with their reports and
 * charts. Nothing in the `msd` entry imports this subpath; the CLI loads it when those commands run.
 *
 * @module msd/bench
 */
export { runBenchmark, BenchmarkMismatchError } from './benchmark/run-benchmark';
export type { BenchmarkOptions, BenchmarkBaseline } from './benchmark/run-benchmark';
export { spread } from './benchmark/spread';
export { readBenchmarkPrompts, heldoutPromptFile } from './benchmark/benchmark-prompts';
export type { BenchmarkPrompt } from './benchmark/benchmark-prompts';
export type { BenchmarkReport, MethodResult, Spread, PhaseTimes, CostPoint, TuningSummary } from './benchmark/benchmark-report';
export { IMAGE_DEPENDENT_WORDS, imageDependentTokens, acceptanceByKind } from './benchmark/token-kinds';
export type { AcceptanceByKind } from './benchmark/token-kinds';
export { measureResizeCost } from './benchmark/resize-cost';
export type { ResizeCost } from './benchmark/resize-cost';
export { writeBenchmarkReport } from './benchmark/write-report';
export { markdownReport } from './benchmark/markdown-report';
export type { ReportCharts } from './benchmark/markdown-report';
export { tokensPerSecondChart, tauDistributionChart, costCurveChart } from './benchmark/svg-charts';
export type { ChartOptions } from './benchmark/svg-charts';
export { measureCostCurves, costAt } from './cost-curves';
export type { CostCurves, MeasureCostOptions } from './cost-curves';
export { tuneTree, defaultTreeCandidates, predictedStepMilliseconds } from './tune-tree';
export { fitInLoopStepCost } from './in-loop-step-cost';
export type { InLoopStepCost, MeasuredStep } from './in-loop-step-cost';
export type { TuneTreeOptions, CalibrationPrompt } from './tune-tree';
