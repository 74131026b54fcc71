import { ConfigError, InvalidArgumentError, MsdError, type ModelManifest, type TreeShape, checkTreeShape } from '@msd/core';
import type { DeviceName } from '@msd/runtime';
import { IncrementalDetokenizer, type Tokenizer } from '@msd/tokenizer';
import type { ImagePreprocessor } from '@msd/vision';
import { type OnnxDraftRunner, type OnnxTargetRunner, prepareInputs, type PreparedInputs } from '@msd/models';
import { throwIfAborted } from './abort';
import { checkContext, decode } from './decode-loop';
import { checkGenerateRequest, resolveGenerateOptions, type GenerateOptions, type ResolvedGenerateOptions } from './generate-options';
import { GenerationStatsRecorder } from './generation-stats';
import { PipelineStream, type GenerateResult, type GenerationStream } from './generation-stream';
import type { PipelineLimits } from './pipeline-limits';
import { StepLock } from './step-lock';
import { SpeculationMemory } from './speculation-memory';
import { StopStringFilter } from './stop-strings';

/** The opened parts a pipeline generates with (what `MsdPipeline.create` or `BrowserPipeline.create` opened). */
export interface PipelineParts {
  /** The model's tokenizer. */
  tokenizer: Tokenizer;
  /** The model's image preprocessor. */
  preprocessor: ImagePreprocessor;
  /** The target model. */
  target: OnnxTargetRunner;
  /** The draft, when one was loaded. */
  draft: OnnxDraftRunner | undefined;
  /** The default tree shape of each step. */
  treeShape: TreeShape;
  /** The default tree shape of each step of a sampled request (temperature > 0). */
  samplingTreeShape: TreeShape;
  /** The execution provider in use. */
  device: DeviceName;
  /** The safety limits requests are checked against. */
  limits: PipelineLimits;
}

/**
 * The generation half of a pipeline, the same in Node (`MsdPipeline`) and in a browser
 * (`BrowserPipeline`): checks a request, prepares its inputs, runs the decode loop, detokenizes and
 * streams. Each platform's pipeline only adds how the parts are opened.
 *
 * @example
 * ```ts
 * import { PipelineCore } from 'msd';
 *
 * const pipeline = new PipelineCore({ tokenizer, preprocessor, target, draft, treeShape, samplingTreeShape, device: 'cpu', limits });
 * const { text } = await pipeline.generate({ prompt: 'Hello' });
 * ```
 */
export class PipelineCore {
  /** Held while a generation computes a step; generations take turns step by step. */
  private readonly lock = new StepLock();
  private closed = false;
  /**
   * Where the speculation policy of the last generation of each kind stopped; the next one of that
   * kind continues from it (see {@link SpeculationMemory}).
   */
  readonly speculationMemory = new SpeculationMemory();
  /** The model's tokenizer. */
  readonly tokenizer: Tokenizer;
  /** The model's image preprocessor. */
  readonly preprocessor: ImagePreprocessor;
  /** The target model. */
  readonly target: OnnxTargetRunner;
  /** The draft, when one was loaded. */
  readonly draft: OnnxDraftRunner | undefined;
  /** The default tree shape of each step. */
  readonly treeShape: TreeShape;
  /** The default tree shape of each step of a sampled request (temperature > 0). */
  readonly samplingTreeShape: TreeShape;
  /** The execution provider in use. */
  readonly device: DeviceName;
  /** The safety limits requests are checked against. */
  readonly limits: PipelineLimits;

  constructor(parts: PipelineParts) {
    this.tokenizer = parts.tokenizer;
    this.preprocessor = parts.preprocessor;
    this.target = parts.target;
    this.draft = parts.draft;
    this.treeShape = parts.treeShape;
    this.samplingTreeShape = parts.samplingTreeShape;
    this.device = parts.device;
    this.limits = parts.limits;
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
 * Checks the manifest's token ids against the tokenizer (`path` names the manifest in errors).
 * The manifest's token ids must name tokens of the tokenizer: an EOS id the tokenizer never emits
 * would let generation run past the end of every answer, and an image id it does not know could never
 * be placed.
 */
export function checkTokenIds(tokenizer: Tokenizer, manifest: ModelManifest, path: string): void {
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
