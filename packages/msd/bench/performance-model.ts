/**
 * The cost model of docs/performance-model.md: predicted speedup of MSD from tau, the tree shape and
 * the cost of target and draft calls, checked against this machine's measurements and projected to
 * LLaVA-1.5-7B / 13B sizes on CPU and GPU. Projections, not measurements.
 *
 *   pnpm exec tsx --conditions=@msd/source packages/msd/bench/performance-model.ts [--results bench-results/.../results.json]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TreeShape } from '@msd/core';
import { DEFAULT_TREE } from 'msd';
import { costAt, type BenchmarkReport } from 'msd/bench';

const { values } = parseArgs({ options: { results: { type: 'string' } } });

/** Decoder sizes: layers, width, MLP width, vocabulary. */
interface ModelSize {
  name: string;
  layers: number;
  hidden: number;
  intermediate: number;
  vocab: number;
}

/** A machine: memory bandwidth (bytes/s), usable matrix throughput (FLOP/s), fixed cost per call and per layer (s). */
interface Machine {
  name: string;
  bandwidth: number;
  flops: number;
  bytesPerWeight: number;
  perCall: number;
  perLayer: number;
}

const LLAVA_7B: ModelSize = { name: 'LLaVA-1.5-7B', layers: 32, hidden: 4096, intermediate: 11008, vocab: 32000 };
const LLAVA_13B: ModelSize = { name: 'LLaVA-1.5-13B', layers: 40, hidden: 5120, intermediate: 13824, vocab: 32000 };

const layerWeights = (model: ModelSize) => 4 * model.hidden ** 2 + 3 * model.hidden * model.intermediate;
/** Weights one target token reads: every layer and lm_head. */
const targetWeights = (model: ModelSize) => model.layers * layerWeights(model) + model.vocab * model.hidden;
/** Weights one draft call reads: MSD's one layer, fc over [embedding, feature], and the shared lm_head. */
const draftWeights = (model: ModelSize) => layerWeights(model) + 2 * model.hidden ** 2 + model.vocab * model.hidden;

/** Seconds of one call over `rows` new positions: weight reads or arithmetic, whichever bounds it, plus fixed costs. */
function callSeconds(weights: number, layers: number, rows: number, machine: Machine): number {
  return Math.max((weights * machine.bytesPerWeight) / machine.bandwidth, (2 * weights * rows) / machine.flops) + machine.perCall + layers * machine.perLayer;
}

/** Predicted speedup of one speculative step over autoregressive decoding (see the doc for the formula). */
function speedup(tau: number, tree: TreeShape, target: (rows: number) => number, draft: (rows: number) => number, overhead: number): number {
  const step = target(tree.totalTokens + 1) + draft(Math.max(1, tau)) + (tree.depth - 1) * draft(tree.branching) + overhead;
  return (tau * target(1)) / step;
}

const machines: Machine[] = [
  // This VM: 10 GB/s is what the bundled target's fp32 step reaches (25.6 MB of weights in about 2.5 ms);
  // 170 GFLOP/s is OpenBLAS's measured matmul rate here (training/README.md).
  { name: '2-core CPU (this machine), fp32 weights', bandwidth: 10e9, flops: 170e9, bytesPerWeight: 4, perCall: 0.2e-3, perLayer: 0.03e-3 },
  // H100 SXM: 3.35 TB/s and ~990 TFLOP/s fp16 dense, at 70% and 50% efficiency; ~10 kernels of ~5 us per layer.
  { name: 'H100, fp16 weights', bandwidth: 0.7 * 3.35e12, flops: 0.5 * 989e12, bytesPerWeight: 2, perCall: 0.1e-3, perLayer: 0.05e-3 },
];

const report = values.results ? (JSON.parse(readFileSync(values.results, 'utf8')) as BenchmarkReport) : undefined;
const measured = report?.results.find(
  (result) => result.temperature === 0 && result.set === 'multimodal' && result.draft === 'msd' && result.kind === 'speculative',
);
const tree: TreeShape = measured?.tree ?? DEFAULT_TREE;
const taus = [...new Set([2.5, 3, 3.5, 4, ...(measured ? [Number(measured.tau.mean.toFixed(2))] : [])])].sort((a, b) => a - b);

if (report?.tuning && measured) {
  const curves = report.tuning;
  const predicted = speedup(
    measured.tau.mean,
    tree,
    (rows) => costAt(curves.verifyCost, rows),
    (rows) => costAt(curves.draftCost, rows),
    0,
  );
  console.log(
    `this machine, measured costs, tau ${measured.tau.mean.toFixed(2)}, tree ${JSON.stringify(tree)}: predicted ${predicted.toFixed(2)}x, measured ${measured.ratioToFastestAutoregressive.toFixed(2)}x (median)`,
  );
}

console.log(`\ntree ${JSON.stringify(tree)}; rows: tau; columns: model on machine`);
const columns: string[] = [];
const table: string[][] = taus.map((tau) => [tau.toFixed(2)]);
for (const model of [LLAVA_7B, LLAVA_13B]) {
  for (const machine of machines) {
    columns.push(`${model.name}, ${machine.name}`);
    const target = (rows: number) => callSeconds(targetWeights(model), model.layers, rows, machine);
    const draft = (rows: number) => callSeconds(draftWeights(model), 1, rows, machine);
    taus.forEach((tau, i) => table[i]!.push(`${speedup(tau, tree, target, draft, 0).toFixed(2)}x`));
    console.log(
      `${model.name} on ${machine.name}: target step ${(target(1) * 1e3).toFixed(1)} ms, verify ${tree.totalTokens + 1} ${(target(tree.totalTokens + 1) * 1e3).toFixed(1)} ms, draft call ${(draft(1) * 1e3).toFixed(2)} ms (ratio ${(draft(1) / target(1)).toFixed(3)})`,
    );
  }
}
console.log(`\n| tau | ${columns.join(' | ')} |\n|${'---|'.repeat(columns.length + 1)}`);
for (const row of table) console.log(`| ${row.join(' | ')} |`);
