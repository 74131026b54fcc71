import { join } from 'node:path';
import { InvalidArgumentError } from '@msd/core';
import type { DeviceName } from '@msd/runtime';
import type { BenchmarkReport, MethodResult } from './benchmark/benchmark-report';
import { BenchmarkMismatchError, runBenchmark, type BenchmarkBaseline } from './benchmark/run-benchmark';
import { writeBenchmarkReport } from './benchmark/write-report';
import { numberOption } from '../cli-arguments';
import { selectPrompts, type PromptSelection } from './select-prompts';
import { readTuning, tuningKeyFor } from '../tuning-cache';
import { bundledModelDirectory } from '../bundled-model';

/** Options of `msd bench`, as parsed from the command line. */
export interface BenchCommandOptions extends PromptSelection {
  model?: string;
  device?: string;
  threads?: string;
  'draft-threads'?: string;
  rounds?: string;
  'max-new-tokens'?: string;
  temperature?: string[];
  drafts?: string;
  depth?: string;
  branching?: string;
  'total-tokens'?: string;
  'min-confidence'?: string;
  tuned?: boolean;
  'transformers-js'?: string;
  out?: string;
  json?: boolean;
}

/**
 * Runs `msd bench`: every method on the same prompts, interleaved; prints a summary, writes the
 * report folder, and exits non-zero when greedy outputs differ.
 */
export async function runBench(options: BenchCommandOptions, command: string): Promise<number> {
  const log = (message: string) => process.stderr.write(`[msd bench] ${message}\n`);
  const modelDirectory = options.model ?? (await bundledModelDirectory());
  const threads = numberOption(options.threads, 'threads') ?? 2;
  const device = (options.device ?? 'cpu') as DeviceName;
  const tree = {
    ...(options.depth ? { depth: numberOption(options.depth, 'depth')! } : {}),
    ...(options.branching ? { branching: numberOption(options.branching, 'branching')! } : {}),
    ...(options['total-tokens'] ? { totalTokens: numberOption(options['total-tokens'], 'total-tokens')! } : {}),
    ...(options['min-confidence'] ? { minConfidence: numberOption(options['min-confidence'], 'min-confidence')! } : {}),
  };
  const tuning = options.tuned ? await readTuning(await tuningKeyFor(modelDirectory, device, threads)) : undefined;
  if (options.tuned && !tuning)
    log(`no tuned tree cached for this model, ${device} and ${threads} threads: run \`msd tune --threads ${threads}\` first; continuing without it`);
  const baselines: BenchmarkBaseline[] = [];
  if (options['transformers-js']) {
    const { transformersJsBenchmarkBaseline } = await import('./transformers-js').catch((cause: unknown) => {
      throw new InvalidArgumentError({
        argument: 'transformers-js',
        message: `transformers.js could not be loaded (${String((cause as Error)?.message ?? cause)}).`,
        hint: 'Install it beside msd: `pnpm add @huggingface/transformers`.',
        cause,
      });
    });
    baselines.push(await transformersJsBenchmarkBaseline(options['transformers-js'], threads));
  }
  const out = options.out ?? join('bench-results', new Date().toISOString().replace(/[:.]/g, '-'));
  let report: BenchmarkReport;
  let code = 0;
  try {
    report = await runBenchmark({
      modelDirectory,
      prompts: selectPrompts(options, modelDirectory),
      rounds: numberOption(options.rounds, 'rounds') ?? 3,
      maxNewTokens: numberOption(options['max-new-tokens'], 'max-new-tokens') ?? 200,
      temperatures: options.temperature?.length ? options.temperature.map((value) => numberOption(value, 'temperature')!) : [0, 1],
      device,
      threads,
      ...(options['draft-threads'] ? { draftThreads: numberOption(options['draft-threads'], 'draft-threads')! } : {}),
      ...(options.drafts ? { drafts: options.drafts.split(',') } : {}),
      tree,
      ...(tuning ? { tuning } : {}),
      baselines,
      command,
      onProgress: options.json ? () => {} : log,
    });
  } catch (error) {
    if (!(error instanceof BenchmarkMismatchError)) throw error;
    // Keep the evidence: the report is written, then the command fails loudly.
    report = error.report;
    process.stderr.write(`msd bench: ${error.message}\n`);
    code = 1;
  }
  const { files } = await writeBenchmarkReport(report, out);
  if (options.json) process.stdout.write(`${JSON.stringify({ ...report, files }, null, 2)}\n`);
  else process.stdout.write(`${summary(report.results)}\nreport: ${join(out, 'report.md')} (${files.length} files)\n`);
  return code;
}

function summary(results: readonly MethodResult[]): string {
  const lines: string[] = [];
  let heading = '';
  for (const result of results) {
    const current = `temperature ${result.temperature}, ${result.set}`;
    if (current !== heading) lines.push('', `${current}:`);
    heading = current;
    const identical = result.identicalToReference ? `  identical ${result.identicalToReference.identical}/${result.identicalToReference.total}` : '';
    const tau = result.kind === 'speculative' ? `  tau ${result.tau.median.toFixed(2)}` : '';
    const firstToken = result.timeToFirstTokenMs?.count ? `  first token ${result.timeToFirstTokenMs.median.toFixed(1)} ms` : '';
    const endToEnd = `  end to end ${(result.endToEndRatio ?? 0).toFixed(2)}x`;
    lines.push(
      `  ${result.method.padEnd(40)} ${result.tokensPerSecond.median.toFixed(1).padStart(7)} tok/s  decode ${result.ratioToFastestAutoregressive.toFixed(2)}x${endToEnd}${firstToken}${tau}${identical}`,
    );
  }
  return lines.join('\n');
}
