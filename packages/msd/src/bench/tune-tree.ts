import { InvalidArgumentError, type TreeShape } from '@msd/core';
import type { ImageInput } from '@msd/vision';
import type { TuningSummary } from './benchmark/benchmark-report';
import type { GenerationStats } from '../generation-stats';
import type { MsdPipeline } from '../pipeline';
import { costAt, measureCostCurves, type CostCurves } from './cost-curves';
import { fitInLoopStepCost, type MeasuredStep } from './in-loop-step-cost';

/** A calibration prompt. */
export interface CalibrationPrompt {
  /** The question, passed as the `prompt` of each calibration generation (images go before it). */
  prompt: string;
  /** Its images (paths, bytes or data: URLs), in order. */
  images: readonly ImageInput[];
}

/** Options of {@link tuneTree}. */
export interface TuneTreeOptions {
  /** Prompts whose greedy decoding measures acceptance; the first one also sets the context for timing. */
  prompts: readonly CalibrationPrompt[];
  /** Tokens per calibration generation. Default 48. */
  maxNewTokens?: number;
  /** Tree shapes to consider. Default: {@link defaultTreeCandidates}. */
  candidates?: readonly TreeShape[];
  /** Timed calls per cost-curve size. Default 30. */
  repeat?: number;
  /** Progress lines. */
  onProgress?: (message: string) => void;
}

/**
 * The tree shapes `msd tune` considers: depth 2-6, branching 1-4, and for each a few node budgets between
 * a single chain and `depth x branching` nodes (never above 24: on a CPU, verifying more costs more than it
 * can win); then adaptive shapes (`minConfidence` 0.15, 0.3, 0.4, 0.5): chains of 8, 10 and 12, and depth 8
 * with branching 2.
 *
 * @example
 * ```ts
 * import { defaultTreeCandidates } from 'msd/bench';
 *
 * defaultTreeCandidates().length; // 76 shapes
 * ```
 */
export function defaultTreeCandidates(): TreeShape[] {
  const shapes: TreeShape[] = [];
  for (let depth = 2; depth <= 6; depth++) {
    for (let branching = 1; branching <= 4; branching++) {
      const most = Math.min(depth * branching, 24);
      const budgets = new Set([depth, Math.ceil(depth * 1.5), depth * 2, depth * 3].filter((total) => total <= most));
      for (const totalTokens of budgets) shapes.push({ depth, branching, totalTokens });
    }
  }
  // Adaptive depth: deep chains and narrow trees that stop where the draft is unsure.
  for (const minConfidence of [0.15, 0.3, 0.4, 0.5]) {
    for (const depth of [8, 10, 12]) shapes.push({ depth, branching: 1, totalTokens: depth, minConfidence });
    shapes.push({ depth: 8, branching: 2, totalTokens: 12, minConfidence });
  }
  return shapes;
}

/**
 * The tree a step actually drafted on average: with `minConfidence` (or EOS) a step drafts fewer nodes
 * and rounds than the shape allows, and it is those that cost time.
 */
function effectiveTree(tree: TreeShape, meanNodes: number): TreeShape {
  const totalTokens = Math.max(1, Math.min(tree.totalTokens, Math.round(meanNodes)));
  const depth = Math.max(1, Math.min(tree.depth, Math.ceil(totalTokens / tree.branching)));
  return { depth, branching: tree.branching, totalTokens };
}

/**
 * Predicted milliseconds of one speculative step with `tree` from measured costs: the verification
 * of `totalTokens + 1` positions, the draft update over the accepted tokens, `depth - 1` draft rounds
 * of `branching` rows, and the loop's own overhead per step.
 *
 * @example
 * ```ts
 * import { predictedStepMilliseconds } from 'msd/bench';
 *
 * predictedStepMilliseconds(curves, { depth: 4, branching: 2, totalTokens: 6 }, 3.1, 0.1);
 * ```
 */
export function predictedStepMilliseconds(curves: CostCurves, tree: TreeShape, tau: number, overheadPerStep: number): number {
  return (
    costAt(curves.verifyCost, tree.totalTokens + 1) +
    costAt(curves.draftCost, Math.max(1, tau)) +
    (tree.depth - 1) * costAt(curves.draftCost, tree.branching) +
    overheadPerStep
  );
}

/**
 * Hardware-aware tree shape: measures on the pipeline's device how verification cost grows with tree
 * nodes and draft cost with rows, decodes the calibration prompts greedily with every candidate shape
 * to measure its tau (acceptance does not depend on timing, so it is exact however noisy the machine),
 * and picks the shape that maximises predicted tokens per second: tau / step cost, against one
 * autoregressive step. Step costs come from one fit over every shape's calibration decodes of what a
 * step costs inside the loop ({@link fitInLoopStepCost}): isolated call costs underrate deep trees,
 * since only the first draft call after a verification pays for caches the target has flushed. With
 * fewer than four shapes, the isolated curves price them. MSD itself times the target alone; this also
 * prices the draft.
 *
 * @example
 * ```ts
 * import { MsdPipeline } from 'msd';
 * import { tuneTree } from 'msd/bench';
 *
 * const pipeline = await MsdPipeline.create();
 * const tuning = await tuneTree(pipeline, { prompts: [{ prompt: 'Describe the image.', images: ['scene.png'] }] });
 * console.log(tuning.chosen, tuning.predictedSpeedup);
 * ```
 */
export async function tuneTree(pipeline: MsdPipeline, options: TuneTreeOptions): Promise<TuningSummary> {
  const first = options.prompts[0];
  if (!first) throw new InvalidArgumentError({ argument: 'prompts', message: 'Tuning needs at least one calibration prompt.' });
  const progress = options.onProgress ?? (() => {});
  const maxNewTokens = options.maxNewTokens ?? 48;
  progress('timing target calls over 1-32 new positions and draft calls over 1-8 rows');
  const curves = await measureCostCurves(pipeline, { prompt: first.prompt, images: first.images, ...(options.repeat ? { repeat: options.repeat } : {}) });
  const autoregressive = await autoregressiveSteps(pipeline, options.prompts, maxNewTokens);
  const candidates = options.candidates ?? defaultTreeCandidates();
  const runs: Array<{ tree: TreeShape; tau: number; effective: TreeShape; overhead: number; measured: MeasuredStep }> = [];
  for (const [index, tree] of candidates.entries()) {
    let tokens = 0;
    let steps = 0;
    let overhead = 0;
    let drafted = 0;
    let milliseconds = 0;
    let rounds = 0;
    for (const prompt of options.prompts) {
      const { stats } = await pipeline.generate({ prompt: prompt.prompt, images: prompt.images, maxNewTokens, tree, adaptive: false });
      tokens += stats.tokens - 1;
      steps += stats.steps;
      overhead += stats.timings.overhead;
      drafted += stats.draftedTokens;
      rounds += stats.draftRounds;
      milliseconds += decodeMilliseconds(stats);
    }
    const tau = steps ? tokens / steps : 1;
    const draftedPerStep = steps ? drafted / steps : tree.totalTokens;
    const effective = effectiveTree(tree, draftedPerStep);
    const measured = {
      isolatedVerifyMs: costAt(curves.verifyCost, draftedPerStep + 1),
      rounds: steps ? rounds / steps : tree.depth - 1,
      milliseconds: steps ? milliseconds / steps : 0,
      steps,
    };
    runs.push({ tree, tau, effective, overhead: steps ? overhead / steps : 0, measured });
    progress(`shape ${index + 1}/${candidates.length} ${describeShape(tree)}: tau ${tau.toFixed(2)}, ${measured.milliseconds.toFixed(2)} ms a step`);
  }
  // Priced by one fit of in-loop step costs over all shapes (see fitInLoopStepCost); against an
  // autoregressive step also measured in the loop. Without a fit (too few or too alike shapes), by the
  // isolated curves as before.
  const inLoop = fitInLoopStepCost(runs.map((run) => run.measured));
  const autoregressiveStep = inLoop ? autoregressive.milliseconds : costAt(curves.verifyCost, 1) + autoregressive.overhead;
  const scored: TuningSummary['candidates'] = runs.map(({ tree, tau, effective, overhead, measured }) => {
    const step = inLoop
      ? inLoop.verifyScale * measured.isolatedVerifyMs + inLoop.perStepMs + inLoop.perRoundMs * measured.rounds
      : predictedStepMilliseconds(curves, effective, tau, overhead);
    return { tree, predictedTau: tau, predictedSpeedup: (tau * autoregressiveStep) / step };
  });
  if (inLoop) {
    progress(
      `in-loop step cost: ${inLoop.verifyScale.toFixed(2)} x isolated verification + ${inLoop.perStepMs.toFixed(2)} ms + ${inLoop.perRoundMs.toFixed(2)} ms a draft round; autoregressive step ${autoregressiveStep.toFixed(2)} ms`,
    );
  }
  scored.sort((a, b) => b.predictedSpeedup - a.predictedSpeedup);
  const best = scored[0]!;
  progress(`best: ${describeShape(best.tree)}, predicted ${best.predictedSpeedup.toFixed(2)}x`);
  return {
    device: pipeline.device,
    contextLength: curves.contextLength,
    verifyCost: curves.verifyCost,
    draftCost: curves.draftCost,
    ...(inLoop ? { inLoop } : {}),
    chosen: best.tree,
    predictedSpeedup: best.predictedSpeedup,
    candidates: scored,
  };
}

/** An autoregressive step on the prompts: its mean time in the loop, and the loop's own part of it. */
async function autoregressiveSteps(
  pipeline: MsdPipeline,
  prompts: readonly CalibrationPrompt[],
  maxNewTokens: number,
): Promise<{ milliseconds: number; overhead: number }> {
  let overhead = 0;
  let milliseconds = 0;
  let steps = 0;
  for (const prompt of prompts) {
    const { stats } = await pipeline.generate({ prompt: prompt.prompt, images: prompt.images, maxNewTokens, speculative: false });
    overhead += stats.timings.overhead;
    milliseconds += decodeMilliseconds(stats);
    steps += stats.steps;
  }
  return steps ? { milliseconds: milliseconds / steps, overhead: overhead / steps } : { milliseconds: 0, overhead: 0 };
}

/** A shape as the progress lines name it. */
function describeShape(tree: TreeShape): string {
  return `depth ${tree.depth} branching ${tree.branching} nodes ${tree.totalTokens}${tree.minConfidence ? ` min confidence ${tree.minConfidence}` : ''}`;
}

/** The decoding loop's wall time of one generation (the prompt's processing and first token excluded). */
function decodeMilliseconds(stats: GenerationStats): number {
  return stats.decodeTokensPerSecond > 0 ? ((stats.tokens - 1) * 1000) / stats.decodeTokensPerSecond : 0;
}
