import type { DraftSpec } from '@msd/core';
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
import type { DraftRunner, DraftStepInput, DraftStepOutput } from '@msd/draft';

// Everything but the whole cache (`present.*`): its copy out of onnxruntime costs more than the new rows.
const GROWING_FETCHES = ['last_hidden_state', 'topk_logprobs', 'topk_ids', 'present_rows.0.key', 'present_rows.0.value'];

/**
 * The draft graph run by onnxruntime, as the tree drafter of `@msd/draft` calls it. Every run returns
 * a new {@link KvCache} and leaves the one it was given valid, so tree rounds can be dropped. On the
 * CPU a fused draft's cache grows in place (`KvCache.growable`): a run fetches only its new rows, and a
 * dropped round's cache becomes unusable once the committed one is extended.
 *
 * @example
 * ```ts
 * import { OnnxDraftRunner } from '@msd/models';
 *
 * const draft = await OnnxDraftRunner.load(dir, manifest.drafts.msd, manifest.hiddenSize);
 * ```
 */
export class OnnxDraftRunner implements DraftRunner<KvCache> {
  private constructor(
    private readonly ort: OnnxRuntime,
    private readonly session: InferenceSession,
    /** The draft's manifest entry. */
    readonly spec: DraftSpec,
    /** Width of hidden states. */
    readonly hiddenSize: number,
    private readonly heads: number,
    private readonly headDim: number,
    private readonly gather: InferenceSession | undefined,
    private readonly selectsRows: boolean,
    private readonly cacheFormat: 'heads' | 'rows',
    /** On the CPU with a graph that returns its new rows: fetch those and grow the cache in place. */
    private readonly growsCache: boolean,
  ) {}

  /**
   * Candidates per position the graph returns (the manifest's draft `topK`): the most `branching` a tree can use.
   *
   * @example
   * ```ts
   * const tree = { depth: 5, branching: Math.min(4, draft.candidatesPerRow), totalTokens: 12 };
   * ```
   */
  get candidatesPerRow(): number {
    return this.spec.topK;
  }

  /**
   * Opens the draft graph and checks it against its manifest entry.
   *
   * @example
   * ```ts
   * const draft = await OnnxDraftRunner.load(dir, manifest.drafts.msd!, manifest.hiddenSize);
   * ```
   */
  static async load(directory: ModelSource, spec: DraftSpec, hiddenSize: number, options: CreateSessionOptions = {}): Promise<OnnxDraftRunner> {
    const ort = await loadOnnxRuntime();
    const device = primaryDevice(options);
    const cpu = isCpuDevice(device);
    const session = await openGraph(directory, spec, { ...options, deviceOutputs: cpu ? [] : ['present.0.key', 'present.0.value'] });
    const key = spec.inputs.find((input) => input.name === 'past_key_values.0.key');
    // Fused drafts keep the cache in rows, [batch, seq, heads * headDim]: one "head" as wide as a row
    // (only the width matters to a cache that never splits heads); traced ones [batch, heads, seq, headDim].
    const cacheFormat = key?.dims.length === 3 ? 'rows' : 'heads';
    const [heads, headDim] = cacheFormat === 'rows' ? [1, Number(key?.dims[2])] : [Number(key?.dims[1]), Number(key?.dims[3])];
    const growsCache = cpu && cacheFormat === 'rows' && spec.outputs.some((output) => output.name === 'present_rows.0.key');
    const gather = cpu ? undefined : await createGatherSession(device);
    // Graphs exported before `topk_rows` existed return candidates for every row.
    const selectsRows = spec.inputs.some((input) => input.name === 'topk_rows');
    return new OnnxDraftRunner(ort, session, spec, hiddenSize, heads, headDim, gather, selectsRows, cacheFormat, growsCache);
  }

  /**
   * An empty draft KV cache.
   *
   * @example
   * ```ts
   * const cache = draft.emptyCache();
   * ```
   */
  emptyCache(): KvCache {
    const layout = { layers: 1, heads: this.heads, headDim: this.headDim, format: this.cacheFormat };
    return this.growsCache ? KvCache.growable(this.ort, layout) : KvCache.empty(this.ort, layout, { gather: this.gather });
  }

  /**
   * Number of positions in `cache`.
   *
   * @example
   * ```ts
   * const past = draft.cacheLength(cache);
   * ```
   */
  cacheLength(cache: KvCache): number {
    return cache.length;
  }

  /**
   * Runs the draft over T new positions on top of `cache`; the input cache stays valid.
   *
   * @example
   * ```ts
   * const { output, cache: next } = await draft.run(cache, input);
   * ```
   */
  async run(cache: KvCache, input: DraftStepInput): Promise<{ output: DraftStepOutput; cache: KvCache }> {
    const count = input.inputIds.length;
    const d = this.hiddenSize;
    const total = cache.length + count;
    const ids = new BigInt64Array(count);
    const positions = new BigInt64Array(count);
    for (let i = 0; i < count; i++) {
      ids[i] = BigInt(input.inputIds[i]!);
      positions[i] = BigInt(input.positionIds[i]!);
    }
    const feeds = {
      input_ids: new this.ort.Tensor('int64', ids, [1, count]),
      hidden_states: new this.ort.Tensor('float32', input.hiddenStates, [1, count, d]),
      image_embeds: new this.ort.Tensor('float32', input.imageEmbeds ?? new Float32Array(count * d), [1, count, d]),
      image_mask: new this.ort.Tensor('float32', input.imageMask ?? new Float32Array(count), [1, count]),
      position_ids: new this.ort.Tensor('int64', positions, [1, count]),
      attention_mask: new this.ort.Tensor('float32', input.attentionMask, [1, 1, count, total]),
      ...cache.feeds(),
      ...(this.selectsRows ? { topk_rows: rowSelection(this.ort, count, input.topkRows ?? 'all') } : {}),
    };
    const outputs = this.growsCache ? await this.session.run(feeds, GROWING_FETCHES) : await this.session.run(feeds);
    const topkIds = outputs.topk_ids!.data as BigInt64Array;
    const output: DraftStepOutput = {
      hidden: outputs.last_hidden_state!.data as Float32Array,
      topkLogprobs: outputs.topk_logprobs!.data as Float32Array,
      topkIds: Int32Array.from(topkIds, Number),
    };
    return { output, cache: this.growsCache ? cache.appendRows(outputs) : cache.fromOutputs(outputs) };
  }

  /**
   * Frees a cache the drafter no longer needs.
   *
   * @example
   * ```ts
   * draft.disposeCache(roundCache);
   * ```
   */
  disposeCache(cache: KvCache): void {
    cache.dispose();
  }

  /**
   * Closes the session.
   *
   * @example
   * ```ts
   * await draft.close();
   * ```
   */
  async close(): Promise<void> {
    await Promise.all([this.session.release(), this.gather?.release()]);
  }
}
