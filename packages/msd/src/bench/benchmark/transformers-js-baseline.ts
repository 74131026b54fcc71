/**
 * transformers.js (`@huggingface/transformers`) as a benchmark baseline: its own
 * `LlavaForConditionalGeneration.generate()`, greedy, on a model directory the toolchain exported in
 * transformers.js's LLaVA layout (`training/run.sh export-transformersjs`, same weights as the bundled
 * model), loaded fully offline.
 *
 * Two places where transformers.js v4 and msd do not agree, and what this module does about them:
 * - `LlavaProcessor` expands `<image>` with `String.replace`, i.e. only the first placeholder of a
 *   prompt: a two-image prompt gets one image's positions and generate() then fails ("Number of tokens
 *   and features do not match"). The prompt is therefore built with the tokenizer's chat template and
 *   every placeholder expanded here, with the count the processor itself uses; `processorPromptIds`
 *   runs the processor's own path for comparison.
 * - Its `CLIPImageProcessor` has no LLaVA pad-to-square (`do_pad` only pads to a fixed `pad_size`, after
 *   the crop), so for non-square images it sees a centre crop where msd sees the whole padded image.
 *   `imagePreprocessing: 'msd'` (the default) feeds the pixel values of `@msd/vision` instead, so both
 *   methods decode from identical inputs and any token difference is the decoder's.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '@msd/core';
import {
  AutoProcessor,
  BaseStreamer,
  env,
  LlavaForConditionalGeneration,
  RawImage,
  Tensor,
  type PreTrainedModel,
  type Processor,
} from '@huggingface/transformers';
import { ImagePreprocessor } from '@msd/vision';
import type { BenchmarkBaseline } from './run-benchmark';

/** Options of {@link loadTransformersJsBaseline}. */
export interface TransformersJsBaselineOptions {
  /** onnxruntime intra-op threads per session; set it to what msd runs with for a fair timing. */
  threads?: number;
  /**
   * Where the pixel values come from: `'msd'` (default; `@msd/vision` on the directory's
   * preprocessor_config.json, LLaVA pad-to-square: the pixels msd decodes from) or `'transformers.js'`
   * (its own CLIPImageProcessor: shortest-edge resize and centre crop, no padding).
   */
  imagePreprocessing?: 'msd' | 'transformers.js';
  /**
   * Further onnxruntime session options, over transformers.js's defaults (e.g. msd's
   * `{ extra: { session: { intra_op: { allow_spinning: '0' } } } }`-equivalent `extra` entries).
   */
  sessionOptions?: SessionOptions;
}

type SessionOptions = NonNullable<NonNullable<Parameters<typeof LlavaForConditionalGeneration.from_pretrained>[1]>['session_options']>;

/** One greedy generation of the baseline. */
export interface TransformersJsResult {
  /** The newly generated token ids, without the EOS that ended generation. */
  tokenIds: number[];
  /** Wall time of the whole call: prompt building, image preprocessing, vision encoder, prefill, decoding. */
  seconds: number;
  /** The prompt ids transformers.js's tokenizer produced (image positions expanded). */
  promptIds: number[];
  /**
   * Decoder steps after the first token per second of the time they took, EOS step included: the
   * figure msd reports as `stats.decodeTokensPerSecond`.
   */
  decodeTokensPerSecond: number;
}

/** A loaded transformers.js baseline. */
export interface TransformersJsBaseline {
  /** Greedy generation of at most `maxNewTokens` tokens (EOS included, as msd counts them) for a LLaVA prompt. */
  generate(prompt: string, imagePaths: string[], maxNewTokens: number): Promise<TransformersJsResult>;
  /**
   * Prompt ids from `LlavaProcessor` itself (`processor(images, text)`), for checking the prompt this
   * module builds; for two or more images it shows the processor's first-placeholder-only expansion.
   */
  processorPromptIds(prompt: string, imagePaths: string[]): Promise<number[]>;
  /** Releases the onnxruntime sessions. */
  dispose(): Promise<void>;
}

/** Records when generate() hands over each new token; the first `put` is the prompt. */
class StepClock extends BaseStreamer {
  readonly times: number[] = [];
  private seenPrompt = false;

  override put(): void {
    if (this.seenPrompt) this.times.push(performance.now());
    this.seenPrompt = true;
  }

  override end(): void {}
}

const IMAGE_TOKEN = '<image>';

/**
 * Loads an exported transformers.js LLaVA directory with remote loading switched off.
 *
 * @example
 * ```ts
 * const baseline = await loadTransformersJsBaseline('training/runs/default/model-transformersjs', { threads: 2 });
 * const { tokenIds, seconds } = await baseline.generate('What colour is the circle?', ['scene.png'], 48);
 * await baseline.dispose();
 * ```
 */
export async function loadTransformersJsBaseline(directory: string, options: TransformersJsBaselineOptions = {}): Promise<TransformersJsBaseline> {
  const absolute = resolve(directory);
  const modelId = basename(absolute);
  // transformers.js resolves a model id under localModelPath; anything else that looks like a path is
  // read relative to the working directory, so the id must be a plain name.
  if (!/^[\w.-]+$/.test(modelId)) {
    throw new ConfigError({
      code: 'invalid_model_directory',
      path: absolute,
      message: `The directory's name ${JSON.stringify(modelId)} is not a plain name transformers.js can resolve.`,
      hint: 'Rename it to letters, digits, dots, dashes and underscores.',
    });
  }
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(absolute)}/`;
  env.useFSCache = false;

  const processor: Processor = await AutoProcessor.from_pretrained(modelId);
  const model: PreTrainedModel = await LlavaForConditionalGeneration.from_pretrained(modelId, {
    dtype: 'fp32',
    device: 'cpu',
    session_options: { ...(options.threads ? { intraOpNumThreads: options.threads } : {}), ...options.sessionOptions },
  });
  const tokenizer = processor.tokenizer!;
  const config = processor.config as { patch_size: number; num_additional_image_tokens: number };
  const eos = Number((model.config as unknown as { text_config: { eos_token_id: number } }).text_config.eos_token_id);
  const msdPreprocessor = (options.imagePreprocessing ?? 'msd') === 'msd' ? await ImagePreprocessor.load(absolute) : undefined;

  const chatText = (prompt: string, images: number): string => {
    const content = [...Array.from({ length: images }, () => ({ type: 'image' })), { type: 'text', text: prompt }];
    // Its types say `content: string`; the model's chat template (and transformers.js's jinja) take part lists too.
    return tokenizer.apply_chat_template([{ role: 'user', content }] as never, { add_generation_prompt: true, tokenize: false }) as string;
  };

  const pixelValues = async (imagePaths: string[]): Promise<Tensor> => {
    if (msdPreprocessor) {
      const batch = await msdPreprocessor.preprocessBatch(imagePaths);
      return new Tensor('float32', batch.data, batch.dims);
    }
    const images = await Promise.all(imagePaths.map((path) => RawImage.read(path)));
    return (await processor.image_processor!(images)).pixel_values as Tensor;
  };

  const idsOf = (tensor: Tensor): number[] => (tensor.tolist() as bigint[][])[0]!.map(Number);

  return {
    async generate(prompt, imagePaths, maxNewTokens) {
      const started = performance.now();
      const pixels = imagePaths.length > 0 ? await pixelValues(imagePaths) : undefined;
      let text = chatText(prompt, imagePaths.length);
      if (pixels) {
        // The processor's own count: patches of the preprocessed image plus additional tokens.
        const [height, width] = pixels.dims.slice(-2) as [number, number];
        const perImage = Math.floor(height / config.patch_size) * Math.floor(width / config.patch_size) + config.num_additional_image_tokens;
        text = text.replaceAll(IMAGE_TOKEN, IMAGE_TOKEN.repeat(perImage));
      }
      // The chat template writes `<s>` itself.
      const { input_ids, attention_mask } = tokenizer(text, { add_special_tokens: false }) as { input_ids: Tensor; attention_mask: Tensor };
      const clock = new StepClock();
      const output = (await model.generate({
        input_ids,
        attention_mask,
        ...(pixels ? { pixel_values: pixels } : {}),
        max_new_tokens: maxNewTokens,
        do_sample: false,
        // The parameter type intersects BaseStreamer with GenerationConfig's TextStreamer; generate() only calls put/end.
        streamer: clock as never,
      })) as Tensor;
      const seconds = (performance.now() - started) / 1000;
      const promptIds = idsOf(input_ids);
      const generated = idsOf(output).slice(promptIds.length);
      const eosAt = generated.indexOf(eos);
      const decodeMs = clock.times.length > 1 ? clock.times.at(-1)! - clock.times[0]! : 0;
      return {
        tokenIds: eosAt >= 0 ? generated.slice(0, eosAt) : generated,
        seconds,
        promptIds,
        decodeTokensPerSecond: decodeMs > 0 ? ((clock.times.length - 1) * 1000) / decodeMs : 0,
      };
    },

    async processorPromptIds(prompt, imagePaths) {
      const text = chatText(prompt, imagePaths.length);
      if (imagePaths.length === 0) return idsOf((tokenizer(text, { add_special_tokens: false }) as { input_ids: Tensor }).input_ids);
      const images = await Promise.all(imagePaths.map((path) => RawImage.read(path)));
      const inputs = (await processor(images, text, { add_special_tokens: false })) as { input_ids: Tensor };
      return idsOf(inputs.input_ids);
    },

    async dispose() {
      await model.dispose();
    },
  };
}

/**
 * The baseline as `runBenchmark` times it (`msd bench --transformers-js DIR`): msd's pixel values and
 * session settings (threads, no spinning worker threads), so the two timings differ only by decoding code.
 *
 * @example
 * ```ts
 * import { runBenchmark } from 'msd/bench';
 * import { transformersJsBenchmarkBaseline } from 'msd/transformers-js';
 *
 * const baseline = await transformersJsBenchmarkBaseline('training/runs/default/model-transformersjs', 2);
 * await runBenchmark({ prompts, baselines: [baseline] });
 * ```
 */
export async function transformersJsBenchmarkBaseline(directory: string, threads: number): Promise<BenchmarkBaseline> {
  for (const file of ['config.json', 'onnx/decoder_model_merged.onnx', 'onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx']) {
    if (!existsSync(join(directory, file))) {
      throw new ConfigError({
        code: 'model_not_found',
        path: join(directory, file),
        message: 'The transformers.js model directory is incomplete.',
        hint: 'Export one with `training/run.sh export-transformersjs --run DIR` and pass DIR/model-transformersjs.',
      });
    }
  }
  const baseline = await loadTransformersJsBaseline(directory, {
    threads,
    sessionOptions: { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } as SessionOptions,
  });
  return {
    name: 'transformers.js',
    async generate(prompt, maxNewTokens) {
      const result = await baseline.generate(prompt.question, prompt.images, maxNewTokens);
      return { tokenIds: result.tokenIds, decodeTokensPerSecond: result.decodeTokensPerSecond, totalMilliseconds: result.seconds * 1000 };
    },
    dispose: () => baseline.dispose(),
  };
}
