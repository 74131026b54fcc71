import type { DeviceName } from '@msd/runtime';
import type { TreeShape } from '@msd/core';
import type { TuningSummary } from './benchmark/benchmark-report';
import { numberOption } from '../cli-arguments';
import { selectPrompts, type PromptSelection } from './select-prompts';
import { MsdPipeline } from '../pipeline';
import { defaultTreeCandidates, tuneTree } from './tune-tree';
import { tuningKeyFor, writeTuning } from '../tuning-cache';
import { bundledModelDirectory } from '../bundled-model';

/** Options of `msd tune`, as parsed from the command line. */
export interface TuneCommandOptions extends PromptSelection {
  model?: string;
  device?: string;
  threads?: string;
  draft?: string;
  'max-new-tokens'?: string;
  repeat?: string;
  quick?: boolean;
  json?: boolean;
}

/** `--quick`: a handful of shapes around the defaults, for smoke tests and CI. */
const QUICK_CANDIDATES = [
  { depth: 2, branching: 1, totalTokens: 2 },
  { depth: 3, branching: 2, totalTokens: 4 },
  { depth: 4, branching: 2, totalTokens: 6 },
];

/**
 * Measures the tree shape for this machine and model, caches it (`MsdPipeline.create({ tree: 'tuned' })`
 * and `msd bench --tuned` read it) and prints the cost curves and the best shapes.
 */
export async function runTune(options: TuneCommandOptions): Promise<{ code: number; tuning: TuningSummary; cachePath: string }> {
  const log = (message: string) => process.stderr.write(`[msd tune] ${message}\n`);
  const modelDirectory = options.model ?? (await bundledModelDirectory());
  const threads = numberOption(options.threads, 'threads');
  const device = (options.device ?? 'cpu') as DeviceName;
  const prompts = selectPrompts({ ...options, limit: options.limit ?? '4' }, modelDirectory);
  const pipeline = await MsdPipeline.create({
    modelDirectory,
    device,
    session: threads ? { intraOpNumThreads: threads } : {},
    ...(options.draft ? { draft: options.draft } : {}),
    onProgress: options.json ? () => {} : log,
  });
  try {
    const tuning = await tuneTree(pipeline, {
      prompts: prompts.map((prompt) => ({ prompt: prompt.question, images: prompt.images })),
      maxNewTokens: numberOption(options['max-new-tokens'], 'max-new-tokens') ?? 48,
      candidates: options.quick ? QUICK_CANDIDATES : defaultTreeCandidates(),
      ...(options.repeat ? { repeat: numberOption(options.repeat, 'repeat')! } : {}),
      onProgress: options.json ? () => {} : log,
    });
    const cachePath = await writeTuning(await tuningKeyFor(modelDirectory, pipeline.device, threads ?? 0), tuning);
    if (options.json) process.stdout.write(`${JSON.stringify({ ...tuning, cachePath }, null, 2)}\n`);
    else process.stdout.write(formatTuning(tuning, cachePath));
    return { code: 0, tuning, cachePath };
  } finally {
    await pipeline.close();
  }
}

function formatTuning(tuning: TuningSummary, cachePath: string): string {
  const lines = [`device ${tuning.device}, context ${tuning.contextLength} positions`, '', 'target call over N new positions (verify cost):'];
  for (const point of tuning.verifyCost)
    lines.push(`  N=${String(point.size).padStart(2)}  ${point.milliseconds.toFixed(3)} ms  ${'#'.repeat(Math.round(point.milliseconds * 10))}`);
  lines.push('draft call over N rows:');
  for (const point of tuning.draftCost)
    lines.push(`  N=${String(point.size).padStart(2)}  ${point.milliseconds.toFixed(3)} ms  ${'#'.repeat(Math.round(point.milliseconds * 10))}`);
  if (tuning.inLoop) {
    const { verifyScale, perStepMs, perRoundMs } = tuning.inLoop;
    lines.push(
      '',
      `a step inside the loop: ${verifyScale.toFixed(2)} x the verification above + ${perStepMs.toFixed(2)} ms + ${perRoundMs.toFixed(2)} ms per draft round`,
    );
  }
  lines.push('', 'best shapes (predicted):');
  for (const candidate of tuning.candidates.slice(0, 8)) {
    const { depth, branching, totalTokens } = candidate.tree;
    lines.push(
      `  depth ${depth} branching ${branching} nodes ${String(totalTokens).padStart(2)}${confidence(candidate.tree)}: tau ${candidate.predictedTau.toFixed(2)}, ${candidate.predictedSpeedup.toFixed(2)}x`,
    );
  }
  const { depth, branching, totalTokens } = tuning.chosen;
  lines.push(
    '',
    `chosen: depth ${depth}, branching ${branching}, ${totalTokens} nodes${confidence(tuning.chosen)} (predicted ${tuning.predictedSpeedup.toFixed(2)}x over autoregressive)`,
    `cached in ${cachePath}`,
    '',
  );
  return lines.join('\n');
}

function confidence(tree: TreeShape): string {
  return tree.minConfidence === undefined ? '' : `, min confidence ${tree.minConfidence}`;
}
