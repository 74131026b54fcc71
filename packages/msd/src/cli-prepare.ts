import { InvalidArgumentError, countTokenTypes } from '@msd/core';
import { Tokenizer } from '@msd/tokenizer';
import { prepareInputs, readModelDirectory } from '@msd/models';
import { beforeLoading, checkImageFiles } from './cli-arguments';
import { bundledModelDirectory } from './bundled-model';

/** Options of the `msd prepare` command, as parsed from the command line. */
export interface PrepareCommandOptions {
  image?: string[];
  prompt?: string;
  tokenizer?: string;
  preprocessor?: string;
  'image-tokens'?: string;
  model?: string;
  json?: boolean;
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new InvalidArgumentError({ argument: flag, message: `--${flag} is required.`, hint: 'Run `msd prepare --help` for usage.' });
  return value;
}

/** Where the tokenizer, the image processor and the image positions per image come from. */
async function sources(options: PrepareCommandOptions) {
  const needsModel = !options.tokenizer || !options['image-tokens'] || (!options.preprocessor && (options.image ?? []).length > 0);
  const model = needsModel ? readModelDirectory(options.model ?? (await bundledModelDirectory())) : undefined;
  const perImage = options['image-tokens'] === undefined ? model!.manifest.imageTokensPerImage : Number(options['image-tokens']);
  if (!Number.isInteger(perImage) || perImage < 1) {
    throw new InvalidArgumentError({ argument: 'image-tokens', message: `--image-tokens must be a positive integer, got ${options['image-tokens']}.` });
  }
  await checkImageFiles(options.image ?? []);
  // A preprocessor_config.json path or a directory holding the image processor's config.
  const preprocessor = options.preprocessor ?? model?.path;
  return { tokenizer: options.tokenizer ?? model!.path, preprocessor, perImage };
}

/** Runs `msd prepare` and prints what the model would receive; returns the exit code. */
export async function runPrepare(options: PrepareCommandOptions): Promise<number> {
  const images = options.image ?? [];
  const prompt = await beforeLoading(() => required(options.prompt, 'prompt'));
  const { tokenizer: tokenizerSource, preprocessor: preprocessorSource, perImage } = await beforeLoading(() => sources(options));
  const tokenizer = await Tokenizer.fromDirectory(tokenizerSource);
  const preprocessor = images.length && preprocessorSource ? await (await import('@msd/vision')).ImagePreprocessor.load(preprocessorSource) : undefined;
  const started = performance.now();
  const inputs = await prepareInputs({
    tokenizer,
    preprocessor,
    imageTokensPerImage: perImage,
    messages: [{ role: 'user', content: [...images.map(() => ({ type: 'image' as const })), { type: 'text', text: prompt }] }],
    images,
  });
  const elapsed = performance.now() - started;
  const pixels = inputs.pixelValues;
  const summary = {
    positions: inputs.ids.length,
    types: countTokenTypes(inputs.tags),
    imageSpans: inputs.tags.imageSpans,
    prompt: tokenizer.decode(Array.from(inputs.ids).filter((id) => id !== tokenizer.imageTokenId)),
    pixelValues: pixels ? { dims: pixels.dims, mean: mean(pixels.data), min: min(pixels.data), max: max(pixels.data) } : null,
    milliseconds: Math.round(elapsed),
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(
    [
      `prompt (image positions elided): ${JSON.stringify(summary.prompt)}`,
      `positions: ${summary.positions}  text ${summary.types.text}  image ${summary.types.image}  special ${summary.types.special}`,
      ...summary.imageSpans.map((span) => `image ${span.imageIndex}: positions ${span.start}..${span.start + span.length - 1}`),
      pixels
        ? `pixel_values: [${pixels.dims.join(', ')}] mean ${summary.pixelValues?.mean.toFixed(4)} range ${summary.pixelValues?.min.toFixed(3)}..${summary.pixelValues?.max.toFixed(3)}`
        : 'pixel_values: none (text-only prompt)',
      `prepared in ${summary.milliseconds} ms`,
    ].join('\n') + '\n',
  );
  return 0;
}

function mean(data: Float32Array): number {
  let sum = 0;
  for (const value of data) sum += value;
  return sum / data.length;
}
function min(data: Float32Array): number {
  let result = Infinity;
  for (const value of data) if (value < result) result = value;
  return result;
}
function max(data: Float32Array): number {
  let result = -Infinity;
  for (const value of data) if (value > result) result = value;
  return result;
}
