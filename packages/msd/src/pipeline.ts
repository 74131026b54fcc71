import { join } from 'node:path';
import { InvalidArgumentError, MsdError } from '@msd/core';
import { resolveDevice, type CreateSessionOptions, type DeviceName } from '@msd/runtime';
import { IncrementalDetokenizer, Tokenizer } from '@msd/tokenizer';
import type { ImagePreprocessor } from '@msd/vision';
import { decode } from './decode-loop';
import { resolveGenerateOptions, type GenerateOptions, type TreeShape } from './generate-options';
import { GenerationStatsRecorder, type GenerationStats } from './generation-stats';
import { readModelDirectory } from './model-directory';
import { OnnxDraftRunner } from './onnx-draft-runner';
import { prepareInputs } from './prepare-inputs';
import { SpeculationMemory } from './speculation-memory';
import { StopStringFilter } from './stop-strings';
import { TargetModel } from './target-model';

/** Options of {@link MsdPipeline.create}. */
export interface PipelineOptions {
  /** Model directory (docs/model-format.md). Default: the bundled tiny LLaVA (`@msd/tiny-llava`). */
  modelDirectory?: string;
  /** Which draft of the manifest to use; `false` loads none (autoregressive only). Default: the manifest's default draft. */
  draft?: string | false;
  /** Execution provider, or a fallback list tried in order. Default `'cpu'`. */
  device?: DeviceName | DeviceName[];
  /** Other onnxruntime session options (threads, optimisation level). */
  session?: Omit<CreateSessionOptions, 'executionProviders'>;
  /**
   * Session options for the draft only, over `session` (e.g. `{ intraOpNumThreads: 1 }`: a draft call
   * is a handful of small operators, where waking a second thread can cost more than it saves).
   */
  draftSession?: Omit<CreateSessionOptions, 'executionProviders'>;
  /**
   * Default tree shape per step, or `'tuned'`: the shape `msd tune` measured for this model, device
   * and thread count (falls back to {@link DEFAULT_TREE}, with a progress message, when none is cached).
   */
  tree?: Partial<TreeShape> | 'tuned';
  /** Called while models load, for progress output. */
  onProgress?: (message: string) => void;
}

/** What `generate()` returns. */
export interface GenerateResult {
  /** The generated text (stop strings and EOS excluded). */
  text: string;
  /** The generated token ids (EOS excluded). */
  tokenIds: number[];
  /** Why generation ended. */
  finishReason: 'eos' | 'length' | 'stop';
  /** Timings and acceptance figures. */
  stats: GenerationStats;
}

/** A stream of text deltas, with the full result once it ends. */
export interface GenerationStream extends AsyncIterable<string> {
  /** Resolves when the stream ends (or rejects with its error). */
  result: Promise<GenerateResult>;
}

/**
 * Default tree: a chain of 5. On a 2-core CPU with the bundled model, side by side on the held-out
 * sets (`msd bench`, docs/benchmarks.md), chains of 4-6 decoded fastest: the self-distilled draft agrees
 * with the target's greedy token 93% of the time, while every draft call costs about a sixth of a
 * target step, so depth pays and width does not. On a GPU, where wider trees are nearly free to
 * verify, run `msd tune` (`tree: 'tuned'`).
 */
export const DEFAULT_TREE: TreeShape = { depth: 5, topK: 1, totalTokens: 5 };

/**
 * Multimodal speculative decoding of a vision-language model: tokenizer, image preprocessing, the
 * target and its MSD draft, loaded from one model directory.
 *
 * @example
 * ```ts
 * import { MsdPipeline } from 'msd';
 *
 * const pipeline = await MsdPipeline.create();
 * const { text, stats } = await pipeline.generate({ prompt: 'What colour is the circle?', images: ['scene.png'] });
 * console.log(text, stats.tau);
 * ```
 */
export class MsdPipeline {
  private busy = false;
  /**
   * Where the speculation policy of the last generation of each kind stopped; the next one of that
   * kind continues from it (see {@link SpeculationMemory}).
   */
  readonly speculationMemory = new SpeculationMemory();

  private constructor(
    /** The model's tokenizer. */
    readonly tokenizer: Tokenizer,
    /** The model's image preprocessor. */
    readonly preprocessor: ImagePreprocessor,
    /** The target model. */
    readonly target: TargetModel,
    /** The draft, when one was loaded. */
    readonly draft: OnnxDraftRunner | undefined,
    /** The default tree shape of each step. */
    readonly treeShape: TreeShape,
    /** The execution provider in use. */
    readonly device: DeviceName,
  ) {}

  /**
   * Loads the model directory: tokenizer, preprocessor, target graphs and the draft, each checked
   * against the manifest.
   *
   * @example
   * ```ts
   * const pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 }, onProgress: console.error });
   * ```
   */
  static async create(options: PipelineOptions = {}): Promise<MsdPipeline> {
    const progress = options.onProgress ?? (() => {});
    const directory = options.modelDirectory ?? (await import('@msd/tiny-llava')).tinyLlavaDirectory();
    const { device, skipped } = await resolveDevice(options.device ?? 'cpu');
    for (const entry of skipped) progress(`device ${entry.device} unavailable (${entry.reason}); trying the next`);
    progress(`using device ${device}`);
    const session: CreateSessionOptions = { ...options.session, executionProviders: [device] };
    const { manifest } = readModelDirectory(directory);
    progress(`loading tokenizer and preprocessor from ${directory}`);
    const tokenizer = await Tokenizer.fromDirectory(directory);
    const { ImagePreprocessor } = await import('@msd/vision');
    const preprocessor = await ImagePreprocessor.load(join(directory, 'preprocessor_config.json'));
    progress('loading target (vision encoder, embeddings, decoder)');
    const target = await TargetModel.load(directory, manifest, session);
    const draftName = options.draft === false ? undefined : (options.draft ?? manifest.defaultDraft);
    let draft: OnnxDraftRunner | undefined;
    if (draftName !== undefined) {
      const spec = manifest.drafts[draftName];
      if (!spec) {
        throw new InvalidArgumentError({ argument: 'draft', message: `The model has no draft named '${draftName}'.`, hint: `Available: ${Object.keys(manifest.drafts).join(', ') || 'none'}.` });
      }
      progress(`loading draft '${draftName}'`);
      draft = await OnnxDraftRunner.load(directory, spec, manifest.hiddenSize, { ...session, ...options.draftSession });
    }
    const tree = options.tree === 'tuned' ? await tunedTree(directory, device, options.session?.intraOpNumThreads ?? 0, progress) : { ...DEFAULT_TREE, ...options.tree };
    progress('ready');
    return new MsdPipeline(tokenizer, preprocessor, target, draft, tree, device);
  }

  /**
   * Generates an answer and returns it whole, with statistics.
   *
   * @example
   * ```ts
   * const result = await pipeline.generate({ prompt: 'How many shapes are there?', images: ['scene.png'], maxNewTokens: 32 });
   * ```
   */
  async generate(options: GenerateOptions): Promise<GenerateResult> {
    const stream = this.stream(options);
    for await (const _ of stream) {
      // The result collects the text.
    }
    return stream.result;
  }

  /**
   * Streams the answer as text deltas; `result` resolves with the whole result at the end.
   *
   * @example
   * ```ts
   * const stream = pipeline.stream({ prompt: 'Describe the image.', images: ['scene.png'] });
   * for await (const delta of stream) process.stdout.write(delta);
   * console.log((await stream.result).stats);
   * ```
   */
  stream(options: GenerateOptions): GenerationStream {
    let resolve!: (result: GenerateResult) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<GenerateResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => {});
    const iterate = async function* (this: MsdPipeline): AsyncGenerator<string> {
      try {
        const output = yield* this.run(options);
        resolve(output);
      } catch (error) {
        reject(error);
        throw error;
      }
    }.bind(this);
    return { [Symbol.asyncIterator]: () => iterate(), result };
  }

  private async *run(options: GenerateOptions): AsyncGenerator<string, GenerateResult> {
    if (this.busy) {
      throw new MsdError({ code: 'pipeline_busy', message: 'This pipeline is already generating.', hint: 'Await the running generation, or create a second pipeline.' });
    }
    this.busy = true;
    try {
      const resolved = resolveGenerateOptions(options, this.treeShape);
      if (resolved.speculative && !this.draft && options.speculative === true) {
        throw new InvalidArgumentError({ argument: 'speculative', message: 'Speculative decoding was requested but the pipeline has no draft.' });
      }
      const images = options.images ?? [];
      const messages = options.messages ?? [
        { role: 'user' as const, content: [...images.map(() => ({ type: 'image' as const })), { type: 'text' as const, text: options.prompt ?? '' }] },
      ];
      if (!options.messages && !options.prompt?.trim()) {
        throw new InvalidArgumentError({ argument: 'prompt', message: 'The prompt is empty.', hint: 'Pass a question in `prompt` or a conversation in `messages`.' });
      }
      const stats = new GenerationStatsRecorder();
      const inputs = await stats.time('vision', () =>
        prepareInputs({ tokenizer: this.tokenizer, preprocessor: this.preprocessor, imageTokensPerImage: this.target.manifest.imageTokensPerImage, messages, images }),
      );
      const detokenizer = new IncrementalDetokenizer(this.tokenizer, { skipSpecialTokens: true });
      const filter = new StopStringFilter(resolved.stopStrings);
      const tokenIds: number[] = [];
      let finishReason: GenerateResult['finishReason'] = 'length';
      let text = '';
      const eos = this.target.manifest.eosTokenId;
      outer: for await (const chunk of decode(this.target, resolved.speculative ? this.draft : undefined, inputs, resolved, stats, options.signal, this.speculationMemory)) {
        for (const token of chunk) {
          if (token === eos) {
            finishReason = 'eos';
            break outer;
          }
          tokenIds.push(token);
          const delta = filter.push(detokenizer.push(token));
          if (delta) {
            text += delta;
            yield delta;
          }
          if (filter.stopped) {
            finishReason = 'stop';
            break outer;
          }
        }
      }
      const rest = filter.push(detokenizer.flush()) + filter.flush();
      if (rest) {
        text += rest;
        yield rest;
      }
      return { text, tokenIds, finishReason, stats: stats.finish() };
    } finally {
      this.busy = false;
    }
  }

  /**
   * Releases the onnxruntime sessions.
   *
   * @example
   * ```ts
   * await pipeline.close();
   * ```
   */
  async close(): Promise<void> {
    await this.target.release();
    await this.draft?.close();
  }
}

async function tunedTree(directory: string, device: DeviceName, threads: number, progress: (message: string) => void): Promise<TreeShape> {
  const { readTuning, tuningKeyFor } = await import('./tuning/tuning-cache');
  const tuning = await readTuning(await tuningKeyFor(directory, device, threads));
  if (!tuning) {
    progress(`no tuned tree for this model on ${device} with ${threads || 'default'} threads; using the default (run \`msd tune\`)`);
    return DEFAULT_TREE;
  }
  progress(`tuned tree: depth ${tuning.chosen.depth}, top-k ${tuning.chosen.topK}, ${tuning.chosen.totalTokens} nodes`);
  return tuning.chosen;
}
