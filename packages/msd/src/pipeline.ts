import { join } from 'node:path';
import { checkTreeShape, ConfigError, InvalidArgumentError, MsdError, type ModelManifest, type TreeShape } from '@msd/core';
import { resolveDevice, type CreateSessionOptions, type DeviceName } from '@msd/runtime';
import { IncrementalDetokenizer, Tokenizer } from '@msd/tokenizer';
import type { ImagePreprocessor, Resampler } from '@msd/vision';
import { type OnnxDraftRunner, type OnnxTargetRunner, prepareInputs, readModelDirectory, type PreparedInputs } from '@msd/models';
import { throwIfAborted } from './abort';
import { bundledModelDirectory } from './bundled-model';
import { checkContext, decode } from './decode-loop';
import { checkGenerateRequest, resolveGenerateOptions, type GenerateOptions, type ResolvedGenerateOptions } from './generate-options';
import { GenerationStatsRecorder } from './generation-stats';
import { PipelineStream, type GenerateResult, type GenerationStream } from './generation-stream';
import { checkThreads, resolvePipelineLimits, type PipelineLimits } from './pipeline-limits';
import { deviceFailure, openRunners } from './open-runners';
import { StepLock } from './step-lock';
import { SpeculationMemory } from './speculation-memory';
import { StopStringFilter } from './stop-strings';

/** Options of {@link MsdPipeline.create}. */
export interface PipelineOptions {
  /** Model directory (docs/model-format.md). Default: the bundled tiny LLaVA (`@msd/tiny-llava`). */
  modelDirectory?: string;
  /** Which draft of the manifest to use; `false` loads none (autoregressive only). Default: the manifest's default draft. */
  draft?: string | false;
  /**
   * Execution provider, or a fallback list tried in order. Default `'cpu'`. A GPU provider is used when a
   * session can really be created on it, and the model is opened on the next device of the list when
   * opening it on one fails; progress says what was chosen and why.
   */
  device?: DeviceName | DeviceName[];
  /**
   * Use WebGPU on a software adapter (a CPU-emulated GPU, e.g. Mesa's lavapipe on a machine without a GPU)
   * even when a later device of the list is usable. Default false: the CPU provider is far faster there.
   */
  allowSoftwareAdapter?: boolean;
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
  /**
   * Default tree shape of sampled requests (temperature > 0): see {@link DEFAULT_SAMPLING_TREE}. A
   * request's own `tree` overrides both defaults.
   */
  samplingTree?: Partial<TreeShape>;
  /** Called while models load, for progress output. */
  onProgress?: (message: string) => void;
  /**
   * Runs one short image request at load (default true), so the first user request is not slower
   * than the next ones (onnxruntime does its first-run work then). Costs one short generation.
   */
  warmUp?: boolean;
  /**
   * How images are resized (`@msd/vision`'s `Resampler`). Default `'pil'`: pixel values equal Hugging
   * Face's `CLIPImageProcessor`, so greedy answers equal transformers'. `'auto'` / `'sharp'` use libvips,
   * faster on large photos, within a few grey levels of it.
   */
  resampler?: Resampler;
  /** Safety limits, checked before any expensive work (see {@link PipelineLimits} for the defaults). */
  limits?: Partial<PipelineLimits>;
}

/**
 * Default tree: a chain of 5. On a 2-core CPU with the bundled model, side by side on the held-out sets
 * (`msd bench`, docs/benchmarks.md), it beat the wider tree `msd tune` rated close (depth 6, 3 children,
 * 9 nodes) on every greedy set: 2.13x vs 1.56x one-image, 1.73x vs 1.12x text-only, 1.82x vs 1.77x on
 * long answers. A draft call costs about a seventh of a target step here, so depth pays and width does
 * not. On a GPU, where wider trees are nearly free to verify, run `msd tune` (`tree: 'tuned'`).
 */
export const DEFAULT_TREE: TreeShape = { depth: 5, branching: 1, totalTokens: 5 };

/**
 * Default tree of sampled requests (temperature > 0): several candidates per node. At temperature 1
 * the target's token is often not the draft's best guess but its second or third, and the lossless
 * multi-candidate acceptance (`acceptSampling` of `@msd/verifier`) tries each child in turn, so
 * width pays there where it does not at temperature 0.
 */
export const DEFAULT_SAMPLING_TREE: TreeShape = { depth: 4, branching: 3, totalTokens: 9 };

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
  /** Held while a generation computes a step; generations take turns step by step. */
  private readonly lock = new StepLock();
  private closed = false;
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
    readonly target: OnnxTargetRunner,
    /** The draft, when one was loaded. */
    readonly draft: OnnxDraftRunner | undefined,
    /** The default tree shape of each step. */
    readonly treeShape: TreeShape,
    /** The default tree shape of each step of a sampled request (temperature > 0). */
    readonly samplingTreeShape: TreeShape,
    /** The execution provider in use. */
    readonly device: DeviceName,
    /** The safety limits requests are checked against. */
    readonly limits: PipelineLimits,
  ) {}

  /**
   * Loads the model directory: tokenizer, preprocessor, target graphs and the draft, each checked
   * against the manifest. Options, limits and the manifest are checked before any session opens.
   *
   * @example
   * ```ts
   * const pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 }, onProgress: console.error });
   * ```
   */
  static async create(options: PipelineOptions = {}): Promise<MsdPipeline> {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError({
        argument: 'options',
        message: `MsdPipeline.create takes an options object, got ${options === null ? 'null' : typeof options}.`,
      });
    }
    const progress = options.onProgress ?? (() => {});
    const limits = resolvePipelineLimits(options.limits);
    checkThreads(options.session?.intraOpNumThreads, 'session.intraOpNumThreads', limits);
    checkThreads(options.draftSession?.intraOpNumThreads, 'draftSession.intraOpNumThreads', limits);
    const directory = options.modelDirectory ?? (await bundledModelDirectory());
    const { manifest } = readModelDirectory(directory);
    const resolved = await resolveDevice(options.device ?? 'cpu', { allowSoftwareAdapter: options.allowSoftwareAdapter ?? false });
    const { skipped, fallbacks, note } = resolved;
    for (const entry of skipped) progress(`device ${entry.device} not used: ${entry.reason}`);
    if (note) progress(note);
    progress(`loading tokenizer and preprocessor from ${directory}`);
    const tokenizer = await Tokenizer.fromDirectory(directory);
    checkTokenIds(tokenizer, manifest, join(directory, 'manifest.json'));
    const { ImagePreprocessor } = await import('@msd/vision');
    const preprocessor = await ImagePreprocessor.load(directory, {
      limits: { maxBytes: limits.maxImageBytes, maxPixels: limits.maxImagePixels },
      ...(options.resampler ? { resampler: options.resampler } : {}),
    });
    const draftName = options.draft === false ? undefined : (options.draft ?? manifest.defaultDraft);
    const draftSpec = draftName === undefined ? undefined : manifest.drafts[draftName];
    if (draftName !== undefined && !draftSpec) {
      throw new InvalidArgumentError({
        argument: 'draft',
        message: `The model has no draft named '${draftName}'.`,
        hint: `Available: ${Object.keys(manifest.drafts).join(', ') || 'none'}.`,
      });
    }
    // A bad default tree fails before any session opens, not at the first generate.
    if (options.tree !== 'tuned') checkTreeShape({ ...DEFAULT_TREE, ...options.tree }, { maxBranching: draftSpec?.topK, prefix: 'tree.' });
    if (options.samplingTree !== undefined && (options.samplingTree === null || typeof options.samplingTree !== 'object')) {
      throw new InvalidArgumentError({ argument: 'samplingTree', message: 'samplingTree must be an object with depth, branching and totalTokens.' });
    }
    const samplingTree = { ...DEFAULT_SAMPLING_TREE, ...options.samplingTree };
    checkTreeShape(samplingTree, { maxBranching: draftSpec?.topK, prefix: 'samplingTree.' });
    // Opening the model can still fail on a device that passed its probe (an operator its provider lacks,
    // a driver that gives out under load): the next device of the preference list gets its turn.
    const candidates = [resolved.device, ...fallbacks];
    let opened: { target: OnnxTargetRunner; draft: OnnxDraftRunner | undefined; device: DeviceName } | undefined;
    for (const [index, candidate] of candidates.entries()) {
      progress(`using device ${candidate}`);
      try {
        opened = {
          ...(await openRunners({ directory, manifest, draftName, draftSpec, device: candidate, options, tokenizer, preprocessor, progress })),
          device: candidate,
        };
        break;
      } catch (error) {
        const next = candidates[index + 1];
        if (next === undefined || !deviceFailure(error, candidate)) throw error;
        progress(`opening the model on ${candidate} failed (${String((error as Error).message).split('\n')[0]}); falling back to ${next}`);
      }
    }
    const { target, draft, device } = opened!;
    const tree =
      options.tree === 'tuned' ? await tunedTree(directory, device, options.session?.intraOpNumThreads ?? 0, progress) : { ...DEFAULT_TREE, ...options.tree };
    progress('ready');
    return new MsdPipeline(tokenizer, preprocessor, target, draft, tree, samplingTree, device, limits);
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
   * Streams the answer as text deltas; `result` resolves with the whole result at the end. Several
   * streams of one pipeline take turns step by step; a stream whose consumer stops reading holds
   * nothing but its own caches. Aborting (`signal`), leaving the loop early or closing the pipeline
   * ends the generation with an `AbortError` (`AbortedError` of `@msd/core`) or `pipeline_closed`.
   *
   * @example
   * ```ts
   * const stream = pipeline.stream({ prompt: 'Describe the image.', images: ['scene.png'] });
   * for await (const delta of stream) process.stdout.write(delta);
   * console.log((await stream.result).stats);
   * ```
   */
  stream(options: GenerateOptions): GenerationStream {
    const signal = options !== null && typeof options === 'object' ? options.signal : undefined;
    const host = { lock: this.lock, unavailable: () => (this.closed ? closedError() : undefined) };
    return new PipelineStream(host, () => this.run(options), signal && typeof signal.aborted === 'boolean' ? signal : undefined);
  }

  /** Checks the request, then runs it: everything cheap before anything expensive. */
  private async *run(options: GenerateOptions): AsyncGenerator<string, GenerateResult> {
    checkGenerateRequest(options, this.limits);
    const resolved = resolveGenerateOptions(options, this.treeShape, this.samplingTreeShape);
    // The draft's candidates per row bound the branching: checked here, not after the prefill.
    if (resolved.speculative && this.draft) checkTreeShape(resolved.tree, { maxBranching: this.draft.candidatesPerRow, prefix: 'tree.' });
    const signal = options.signal;
    if (resolved.speculative && !this.draft && options.speculative === true) {
      throw new InvalidArgumentError({ argument: 'speculative', message: 'Speculative decoding was requested but the pipeline has no draft.' });
    }
    const images = options.images ?? [];
    const messages = options.messages ?? [
      { role: 'user' as const, content: [...images.map(() => ({ type: 'image' as const })), { type: 'text' as const, text: options.prompt ?? '' }] },
    ];
    if (!options.messages && !options.prompt?.trim()) {
      throw new InvalidArgumentError({
        argument: 'prompt',
        message: 'The prompt is empty.',
        hint: 'Pass a question in `prompt` or a conversation in `messages`.',
      });
    }
    throwIfAborted(signal);
    const stats = new GenerationStatsRecorder();
    const inputs = await stats.time('vision', () =>
      prepareInputs({
        tokenizer: this.tokenizer,
        preprocessor: this.preprocessor,
        imageTokensPerImage: this.target.manifest.imageTokensPerImage,
        messages,
        images,
        checkPromptLength: (positions) => checkContext(positions, resolved, this.target.manifest.maxPositions),
        // The user's text was checked against limits.maxPromptCharacters; the template adds a few characters.
        maxCharacters: Infinity,
        ...(signal ? { signal } : {}),
      }),
    );
    throwIfAborted(signal);
    stats.setPromptTokens(inputs.ids.length);
    return yield* this.decodeText(inputs, resolved, stats, signal, options.onToken);
  }

  /** Decodes, detokenizes and applies EOS and stop strings. */
  private async *decodeText(
    inputs: PreparedInputs,
    resolved: ResolvedGenerateOptions,
    stats: GenerationStatsRecorder,
    signal: AbortSignal | undefined,
    onToken: GenerateOptions['onToken'],
  ): AsyncGenerator<string, GenerateResult> {
    const detokenizer = new IncrementalDetokenizer(this.tokenizer, { skipSpecialTokens: true });
    const filter = new StopStringFilter(resolved.stopStrings);
    const tokenIds: number[] = [];
    let finishReason: GenerateResult['finishReason'] = 'length';
    let text = '';
    const { eosTokenId, maxPositions } = this.target.manifest;
    const run = {
      target: this.target,
      draft: this.draft,
      request: inputs,
      settings: resolved,
      eosTokenId,
      maxPositions,
      stats,
      signal,
      memory: this.speculationMemory,
    };
    outer: for await (const chunk of decode(run)) {
      for (const token of chunk) {
        if (token === eosTokenId) {
          finishReason = 'eos';
          break outer;
        }
        onToken?.({ id: token, index: tokenIds.length, source: stats.sourceOf(tokenIds.length) ?? 'target' });
        tokenIds.push(token);
        const delta = filter.push(detokenizer.push(token));
        if (delta) {
          throwIfAborted(signal);
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
      throwIfAborted(signal);
      text += rest;
      yield rest;
    }
    return { text, tokenIds, finishReason, stats: stats.finish() };
  }

  /**
   * Releases the onnxruntime sessions once the step in progress (if any) has finished. Streams still
   * open end with `pipeline_closed`; later calls of `generate` and `stream` fail with it too. Closing
   * twice is harmless.
   *
   * @example
   * ```ts
   * await pipeline.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lock.run(async () => {
      await this.target.close();
      await this.draft?.close();
    });
  }
}

function closedError(): MsdError {
  return new MsdError({ code: 'pipeline_closed', message: 'This pipeline has been closed.', hint: 'Create a new pipeline with MsdPipeline.create().' });
}

/**
 * The manifest's token ids must name tokens of the tokenizer: an EOS id the tokenizer never emits
 * would let generation run past the end of every answer, and an image id it does not know could never
 * be placed.
 */
function checkTokenIds(tokenizer: Tokenizer, manifest: ModelManifest, path: string): void {
  for (const field of ['eosTokenId', 'bosTokenId', 'imageTokenId'] as const) {
    const id = manifest[field];
    if (id === null) continue; // no BOS
    if (tokenizer.idToToken(id) === undefined) {
      throw new ConfigError({
        code: 'invalid_manifest',
        path,
        message: `${field} ${id} is not a token of tokenizer.json (${tokenizer.vocabSize} tokens).`,
        hint: 'Re-export the model, or fix manifest.json.',
      });
    }
  }
  const tokenizerEos = tokenizer.eosTokenId;
  if (tokenizerEos !== undefined && tokenizerEos !== manifest.eosTokenId) {
    throw new ConfigError({
      code: 'invalid_manifest',
      path,
      message: `eosTokenId is ${manifest.eosTokenId}, but the tokenizer's EOS token is ${tokenizerEos}.`,
      hint: 'Re-export the model, or fix manifest.json.',
    });
  }
  if (tokenizer.vocabSize > manifest.vocabSize) {
    throw new ConfigError({
      code: 'invalid_manifest',
      path,
      message: `The tokenizer has ${tokenizer.vocabSize} tokens, more than the model's vocabSize ${manifest.vocabSize}.`,
      hint: 'Use the tokenizer the model was trained with.',
    });
  }
}

async function tunedTree(directory: string, device: DeviceName, threads: number, progress: (message: string) => void): Promise<TreeShape> {
  const { readTuning, tuningKeyFor } = await import('./tuning-cache');
  const tuning = await readTuning(await tuningKeyFor(directory, device, threads));
  if (!tuning) {
    progress(`no tuned tree for this model on ${device} with ${threads || 'default'} threads; using the default (run \`msd tune\`)`);
    return DEFAULT_TREE;
  }
  const confidence = tuning.chosen.minConfidence ? `, min confidence ${tuning.chosen.minConfidence}` : '';
  progress(`tuned tree: depth ${tuning.chosen.depth}, branching ${tuning.chosen.branching}, ${tuning.chosen.totalTokens} nodes${confidence}`);
  return tuning.chosen;
}
