import {
  causalAttentionMask,
  ConfigError,
  InvalidArgumentError,
  TokenTypeCode,
  type ModelManifest,
  type PrefillOptions,
  type TargetRunner,
  type TargetStep,
  type TokenTypeTags,
} from '@msd/core';
import {
  createGatherSession,
  isCpuDevice,
  KvCache,
  loadOnnxRuntime,
  primaryDevice,
  type CreateSessionOptions,
  type InferenceSession,
  type OnnxRuntime,
} from '@msd/runtime';
import { type ModelSource, openGraph } from './open-graph';
import { rowSelection } from './row-selection';

/** What one decoder call over new positions returns (the ONNX runner's {@link TargetStep}). */
export type TargetForward = TargetStep<KvCache>;

/**
 * The target vision-language model on onnxruntime: vision encoder, token embedding and decoder
 * sessions, checked against the manifest when loaded; the {@link TargetRunner} the decode loop drives.
 * See `examples/custom-decoder.ts` for a decoder built on it.
 *
 * @example
 * ```ts
 * import { OnnxTargetRunner, readModelDirectory } from '@msd/models';
 *
 * const { path, manifest } = readModelDirectory('packages/tiny-llava/model');
 * const target = await OnnxTargetRunner.load(path, manifest);
 * ```
 */
export class OnnxTargetRunner implements TargetRunner<KvCache> {
  private constructor(
    private readonly ort: OnnxRuntime,
    /** The model's manifest. */
    readonly manifest: ModelManifest,
    private readonly vision: InferenceSession,
    private readonly embedding: InferenceSession,
    private readonly decoder: InferenceSession,
    private readonly gather: InferenceSession | undefined,
    private readonly selectsLogitsRows: boolean,
  ) {}

  /**
   * Opens the three target graphs and checks each against its manifest entry.
   *
   * @example
   * ```ts
   * const target = await OnnxTargetRunner.load(dir, manifest, { intraOpNumThreads: 2 });
   * ```
   */
  static async load(directory: ModelSource, manifest: ModelManifest, options: CreateSessionOptions = {}): Promise<OnnxTargetRunner> {
    const ort = await loadOnnxRuntime();
    const device = primaryDevice(options);
    // On a GPU the KV cache stays in device memory between calls; logits and hidden states come back.
    const kvOutputs = isCpuDevice(device) ? [] : manifest.graphs.decoder.outputs.map((output) => output.name).filter((name) => name.startsWith('present.'));
    const vision = await openGraph(directory, manifest.graphs.visionEncoder, options);
    const embedding = await openGraph(directory, manifest.graphs.embedTokens, options);
    const decoder = await openGraph(directory, manifest.graphs.decoder, { ...options, deviceOutputs: kvOutputs });
    const gather = isCpuDevice(device) ? undefined : await createGatherSession(device);
    // Decoders exported before `logits_rows` existed return logits for every new position.
    const selectsLogitsRows = manifest.graphs.decoder.inputs.some((input) => input.name === 'logits_rows');
    return new OnnxTargetRunner(ort, manifest, vision, embedding, decoder, gather, selectsLogitsRows);
  }

  /** Width of a logits row. */
  get vocabSize(): number {
    return this.manifest.vocabSize;
  }

  /** Width of a hidden-state row. */
  get hiddenSize(): number {
    return this.manifest.hiddenSize;
  }

  /**
   * An empty KV cache shaped for this decoder.
   *
   * @example
   * ```ts
   * const cache = target.emptyCache();
   * ```
   */
  emptyCache(): KvCache {
    const { numLayers, numKeyValueHeads, headDim } = this.manifest;
    return KvCache.empty(this.ort, { layers: numLayers, heads: numKeyValueHeads, headDim }, { gather: this.gather });
  }

  /**
   * Projected image features `[images, patches, hidden]` for preprocessed pixel values.
   *
   * @example
   * ```ts
   * const features = await target.encodeImages(pixelValues.data, pixelValues.dims);
   * ```
   */
  async encodeImages(pixels: Float32Array, dims: readonly number[]): Promise<Float32Array> {
    const output = await this.vision.run({ pixel_values: new this.ort.Tensor('float32', pixels, dims as number[]) });
    const features = output.image_features!;
    checkImageFeatureRows(features.dims, this.manifest.imageTokensPerImage);
    return features.data as Float32Array;
  }

  /**
   * Token embeddings `[T, hidden]`.
   *
   * @example
   * ```ts
   * const embeds = await target.embed(Int32Array.from([1, 306]));
   * ```
   */
  async embed(ids: ArrayLike<number>): Promise<Float32Array> {
    const data = new BigInt64Array(ids.length);
    for (let i = 0; i < ids.length; i++) data[i] = BigInt(ids[i]!);
    const output = await this.embedding.run({ input_ids: new this.ort.Tensor('int64', data, [1, ids.length]) });
    return output.inputs_embeds!.data as Float32Array;
  }

  /**
   * Input embeddings of a prompt: token embeddings at text and special positions, the image's
   * projected patch features at image positions (located by the token-type tags).
   *
   * @example
   * ```ts
   * const embeds = await target.fuse(inputs.ids, inputs.tags, features);
   * ```
   */
  async fuse(ids: ArrayLike<number>, tags: TokenTypeTags, imageFeatures: Float32Array | undefined): Promise<Float32Array> {
    const hidden = this.manifest.hiddenSize;
    const patches = this.manifest.imageTokensPerImage;
    // Image positions hold the image token id, which has an (unused) embedding row; overwrite them.
    const embeds = await this.embed(ids);
    for (let position = 0; position < ids.length; position++) {
      if (tags.types[position] !== TokenTypeCode.image) continue;
      if (!imageFeatures)
        throw new InvalidArgumentError({ argument: 'imageFeatures', message: 'The prompt has image positions but no image features were given.' });
      const row = (tags.imageIndex[position]! * patches + tags.patchIndex[position]!) * hidden;
      embeds.set(imageFeatures.subarray(row, row + hidden), position * hidden);
    }
    return embeds;
  }

  /**
   * The prompt's prefill: its input embeddings (see {@link OnnxTargetRunner.fuse}) through the decoder from
   * an empty cache, at positions 0..n-1 under a causal mask. With `{ logits: 'last' }` the logits
   * are the last position's row only (hidden states still cover every position).
   *
   * @example
   * ```ts
   * const { logits, hidden, cache } = await target.prefill(inputs.ids, inputs.tags, features, { logits: 'last' });
   * ```
   */
  async prefill(ids: ArrayLike<number>, tags: TokenTypeTags, imageFeatures: Float32Array | undefined, options: PrefillOptions = {}): Promise<TargetForward> {
    const length = ids.length;
    const embeds = await this.fuse(ids, tags, imageFeatures);
    return this.forwardEmbeddings(
      this.emptyCache(),
      embeds,
      Array.from({ length }, (_, i) => i),
      causalAttentionMask(0, length),
      options,
    );
  }

  /**
   * One decoder call over T new tokens with explicit positions and an additive `[T, past + T]` mask:
   * an autoregressive step (T = 1) or the verification of a tree.
   *
   * @example
   * ```ts
   * const { logits, hidden, cache: next } = await target.forward(cache, [306, 1552], [5, 6], mask);
   * ```
   */
  async forward(cache: KvCache, tokens: ArrayLike<number>, positions: ArrayLike<number>, mask: Float32Array): Promise<TargetForward> {
    return this.forwardEmbeddings(cache, await this.embed(tokens), positions, mask);
  }

  /**
   * {@link OnnxTargetRunner.forward} over input embeddings instead of tokens (what prefill feeds);
   * `options.logits` as in {@link OnnxTargetRunner.prefill}.
   *
   * @example
   * ```ts
   * const step = await target.forwardEmbeddings(cache, embeds, [5, 6], mask);
   * ```
   */
  async forwardEmbeddings(
    cache: KvCache,
    embeds: Float32Array,
    positions: ArrayLike<number>,
    mask: Float32Array,
    options: PrefillOptions = {},
  ): Promise<TargetForward> {
    const count = positions.length;
    const total = cache.length + count;
    if (mask.length !== count * total) {
      throw new InvalidArgumentError({
        argument: 'mask',
        message: `The mask has ${mask.length} entries; ${count} new positions over ${total} need ${count * total}.`,
      });
    }
    const positionIds = BigInt64Array.from(Array.from(positions, (position) => BigInt(position)));
    const rows = options.logits ?? 'all';
    const outputs = await this.decoder.run({
      inputs_embeds: new this.ort.Tensor('float32', embeds, [1, count, this.manifest.hiddenSize]),
      position_ids: new this.ort.Tensor('int64', positionIds, [1, count]),
      attention_mask: new this.ort.Tensor('float32', mask, [1, 1, count, total]),
      ...cache.feeds(),
      ...(this.selectsLogitsRows ? { logits_rows: rowSelection(this.ort, count, rows) } : {}),
    });
    const logits = outputs.logits!.data as Float32Array;
    return {
      logits: rows === 'last' && !this.selectsLogitsRows ? logits.subarray((count - 1) * this.vocabSize) : logits,
      hidden: outputs.last_hidden_state!.data as Float32Array,
      cache: cache.fromOutputs(outputs),
    };
  }

  /**
   * Keeps the positions in `keep` (ascending): the past and the accepted path of a verified tree.
   * Consumes `cache` (compacted within its own buffers on the CPU).
   *
   * @example
   * ```ts
   * cache = await target.compact(verified.cache, compactionIndices(acceptance.acceptedNodes, past));
   * ```
   */
  compact(cache: KvCache, keep: ArrayLike<number>): Promise<KvCache> {
    return cache.compactInPlace(keep);
  }

  /**
   * Frees a cache.
   *
   * @example
   * ```ts
   * target.disposeCache(cache);
   * ```
   */
  disposeCache(cache: KvCache): void {
    cache.dispose();
  }

  /**
   * Positions held in `cache`.
   *
   * @example
   * ```ts
   * const past = target.cacheLength(cache);
   * ```
   */
  cacheLength(cache: KvCache): number {
    return cache.length;
  }

  /**
   * Closes the sessions.
   *
   * @example
   * ```ts
   * await target.close();
   * ```
   */
  async close(): Promise<void> {
    await Promise.all([this.vision.release(), this.embedding.release(), this.decoder.release(), this.gather?.release()]);
  }
}

/**
 * Throws a `ConfigError` unless the vision encoder emitted the manifest's number of positions per image.
 * A graph with a dynamic position axis could emit another count (a "full" select strategy keeps CLS);
 * fusing would then misplace every image row without any error.
 *
 * @example
 * ```ts
 * checkImageFeatureRows([1, 144, 256], 144); // fine
 * ```
 */
export function checkImageFeatureRows(dims: readonly number[], imageTokensPerImage: number): void {
  const rows = dims[dims.length - 2];
  if (rows === imageTokensPerImage) return;
  throw new ConfigError({
    path: 'manifest.json imageTokensPerImage',
    message: `The vision encoder emitted ${rows} positions per image, but the manifest says ${imageTokensPerImage}.`,
    hint: 'Re-export the model with msd_training.export_real (it counts the CLS position for vision_feature_select_strategy "full").',
  });
}
