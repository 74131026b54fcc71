import { InvalidArgumentError } from '@msd/core';
import type { DeviceName } from '@msd/runtime';
import { numberOption as number } from './cli-arguments';
import { MsdPipeline } from './pipeline';
import type { GenerationStats } from './generation-stats';

/** Options of the `msd generate` command, as parsed from the command line. */
export interface GenerateCommandOptions {
  image?: string[];
  prompt?: string;
  model?: string;
  device?: string;
  threads?: string;
  temperature?: string;
  'top-p'?: string;
  'top-k'?: string;
  seed?: string;
  'max-new-tokens'?: string;
  'no-speculative'?: boolean;
  'no-adaptive'?: boolean;
  draft?: string;
  json?: boolean;
}

function formatStats(stats: GenerationStats): string {
  const t = stats.timings;
  return [
    `tokens ${stats.tokens}  steps ${stats.steps} (${stats.autoregressiveSteps} without drafting)  tau ${stats.tau.toFixed(2)}  decode ${stats.decodeTokensPerSecond.toFixed(1)} tok/s  end to end ${stats.tokensPerSecond.toFixed(1)} tok/s`,
    `drafted ${stats.draftedTokens}  accepted ${stats.acceptedTokens}  accepted-length histogram [${stats.acceptedLengthHistogram.join(', ')}]`,
    `time ms: vision ${t.vision.toFixed(1)}  prefill ${t.prefill.toFixed(1)}  draft prefill ${t.draftPrefill.toFixed(1)}  draft ${t.draft.toFixed(1)}  verify ${t.verify.toFixed(1)}  overhead ${t.overhead.toFixed(1)}  total ${t.total.toFixed(1)}`,
  ].join('\n');
}

/** Runs `msd generate`: streams the answer to stdout and prints statistics; returns the exit code. */
export async function runGenerate(options: GenerateCommandOptions): Promise<number> {
  if (!options.prompt) throw new InvalidArgumentError({ argument: 'prompt', message: '--prompt is required.', hint: 'Run `msd --help` for usage.' });
  const threads = number(options.threads, 'threads');
  const devices = (options.device ?? 'cpu').split(',') as DeviceName[];
  const log = (message: string) => process.stderr.write(`[msd] ${message}\n`);
  const pipeline = await MsdPipeline.create({
    ...(options.model ? { modelDirectory: options.model } : {}),
    ...(options['no-speculative'] ? { draft: false as const } : options.draft ? { draft: options.draft } : {}),
    device: devices,
    session: threads ? { intraOpNumThreads: threads } : {},
    onProgress: options.json ? () => {} : log,
  });
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  try {
    const stream = pipeline.stream({
      prompt: options.prompt,
      images: options.image ?? [],
      temperature: number(options.temperature, 'temperature'),
      topP: number(options['top-p'], 'top-p'),
      topK: number(options['top-k'], 'top-k'),
      seed: number(options.seed, 'seed'),
      maxNewTokens: number(options['max-new-tokens'], 'max-new-tokens'),
      speculative: !options['no-speculative'],
      adaptive: !options['no-adaptive'],
      signal: abort.signal,
    });
    for await (const delta of stream) if (!options.json) process.stdout.write(delta);
    const result = await stream.result;
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`\n\n${formatStats(result.stats)}\n`);
    return 0;
  } finally {
    await pipeline.close();
  }
}
