import { InvalidArgumentError } from '@msd/core';
import type { DeviceName } from '@msd/runtime';
import { RESAMPLERS, type Resampler } from '@msd/vision';
import { beforeLoading, checkImageFiles, numberOption as number } from './cli-arguments';
import { resolveGenerateOptions } from './generate-options';
import { DEFAULT_TREE, MsdPipeline } from './pipeline';
import { checkThreads, defaultPipelineLimits } from './pipeline-limits';
import type { GenerationStats } from './generation-stats';

/** Options of the `msd generate` command, as parsed from the command line. */
export interface GenerateCommandOptions {
  image?: string[];
  prompt?: string;
  'prompt-file'?: string;
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
  resampler?: string;
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

/** The largest prompt file read: far more text than any model's context holds. */
const MAX_PROMPT_FILE_BYTES = 16 * 1024 * 1024;

/** The prompt from `--prompt`, or from `--prompt-file PATH` (`-`: standard input), which take any length. */
async function readPrompt(options: GenerateCommandOptions): Promise<string> {
  if (options.prompt !== undefined && options['prompt-file'] !== undefined) {
    throw new InvalidArgumentError({ argument: 'prompt', message: 'Pass either --prompt or --prompt-file, not both.' });
  }
  const file = options['prompt-file'];
  const prompt = file === undefined ? options.prompt : await readPromptFile(file);
  if (!prompt?.trim())
    throw new InvalidArgumentError({
      argument: 'prompt',
      message: '--prompt (or --prompt-file) is required and must not be empty.',
      hint: 'Run `msd generate --help` for usage.',
    });
  return prompt;
}

/** How the CLI lets `msd generate` stop cleanly on Ctrl-C. */
export interface GenerateInterruption {
  /** Fires on Ctrl-C while generating. */
  signal: AbortSignal;
  /** Tells the CLI whether Ctrl-C should stop the generation (true) or end the process at once. */
  interruptible: (value: boolean) => void;
}

async function readPromptFile(file: string): Promise<string> {
  const { createReadStream } = await import('node:fs');
  const source = file === '-' ? process.stdin : createReadStream(file);
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of source) {
      bytes += (chunk as Buffer).length;
      if (bytes > MAX_PROMPT_FILE_BYTES)
        throw new InvalidArgumentError({ argument: 'prompt-file', message: `The prompt file is over ${MAX_PROMPT_FILE_BYTES} bytes.` });
      chunks.push(chunk as Buffer);
    }
  } catch (cause) {
    if (InvalidArgumentError.isInstance(cause)) throw cause;
    throw new InvalidArgumentError({
      argument: 'prompt-file',
      message: `Cannot read the prompt from ${file === '-' ? 'standard input' : file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}.`,
      cause,
    });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Checks every option and file of `msd generate`; a bad one is a usage error (exit 2) before loading. */
async function validate(options: GenerateCommandOptions) {
  const prompt = await readPrompt(options);
  const threads = number(options.threads, 'threads');
  checkThreads(threads, 'threads', defaultPipelineLimits());
  const settings = {
    temperature: number(options.temperature, 'temperature'),
    topP: number(options['top-p'], 'top-p'),
    topK: number(options['top-k'], 'top-k'),
    seed: number(options.seed, 'seed'),
    maxNewTokens: number(options['max-new-tokens'], 'max-new-tokens'),
  };
  resolveGenerateOptions(settings, DEFAULT_TREE);
  const resampler = options.resampler;
  if (resampler !== undefined && !(RESAMPLERS as readonly string[]).includes(resampler)) {
    throw new InvalidArgumentError({
      argument: 'resampler',
      message: `--resampler must be ${RESAMPLERS.join(', ')}, got '${resampler}'.`,
      hint: 'pil (default) reproduces Hugging Face exactly; auto and sharp resize large images faster with libvips.',
    });
  }
  const images = options.image ?? [];
  await checkImageFiles(images);
  const devices = (options.device ?? 'cpu').split(',').map((device) => device.trim()) as DeviceName[];
  if (devices.some((device) => !device)) throw new InvalidArgumentError({ argument: 'device', message: `--device has an empty name: '${options.device}'.` });
  return { prompt, threads, settings, resampler: resampler as Resampler | undefined, images, devices };
}

/**
 * Runs `msd generate`: streams the answer to stdout, statistics to stderr; returns the exit code
 * (0, or 130 when Ctrl-C stopped the generation).
 */
export async function runGenerate(options: GenerateCommandOptions, interruption?: GenerateInterruption): Promise<number> {
  const { prompt, threads, settings, resampler, images, devices } = await beforeLoading(() => validate(options));
  const log = (message: string) => process.stderr.write(`[msd] ${message}\n`);
  const pipeline = await MsdPipeline.create({
    ...(options.model ? { modelDirectory: options.model } : {}),
    ...(options['no-speculative'] ? { draft: false as const } : options.draft ? { draft: options.draft } : {}),
    device: devices,
    session: threads === undefined ? {} : { intraOpNumThreads: threads },
    ...(resampler ? { resampler } : {}),
    onProgress: options.json ? () => {} : log,
  });
  const abort = new AbortController();
  interruption?.signal.addEventListener('abort', () => abort.abort(interruption.signal.reason), { once: true });
  // A reader that goes away (`| head -c 10`) ends the generation quietly, not with an EPIPE trace.
  let readerGone = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    readerGone = true;
    abort.abort();
  });
  let pieces = 0;
  interruption?.interruptible(true);
  try {
    const stream = pipeline.stream({
      prompt,
      images,
      ...settings,
      speculative: !options['no-speculative'],
      adaptive: !options['no-adaptive'],
      signal: abort.signal,
    });
    let result;
    try {
      for await (const delta of stream) {
        pieces++;
        if (!options.json) process.stdout.write(delta);
      }
      result = await stream.result;
    } catch (error) {
      if (readerGone) return 0;
      if (interruption?.signal.aborted) {
        if (!options.json) process.stdout.write('\n');
        log(`interrupted after ${pieces} streamed piece(s) of text`);
        return 130;
      }
      throw error;
    }
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      // The answer alone on stdout (`> answer.txt` captures just it); statistics beside the progress.
      process.stdout.write('\n');
      process.stderr.write(`\n${formatStats(result.stats)}\n`);
    }
    return 0;
  } finally {
    interruption?.interruptible(false);
    await pipeline.close();
  }
}
