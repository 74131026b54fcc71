/**
 * transformers.js as a benchmark baseline for `runBenchmark` (`msd bench --transformers-js DIR`). A
 * separate entry, so that `msd` itself never loads `@huggingface/transformers` (an optional peer).
 *
 * @module msd/transformers-js
 */
export { loadTransformersJsBaseline, transformersJsBenchmarkBaseline } from './benchmark/transformers-js-baseline';
export type { TransformersJsBaseline, TransformersJsBaselineOptions, TransformersJsResult } from './benchmark/transformers-js-baseline';
