/**
 * The inputs of one draft forward over `T` new positions (batch 1), laid out as the draft graph's
 * inputs (see `docs/model-format.md`, `draft_{name}`), row-major, without the batch axis.
 *
 * Row `t` is the draft pair of sequence position `positionIds[t]` = `i`: the feature `f_i` (the
 * target's last hidden state after its final norm, or a draft prediction of it) and the token
 * `x_{i+1}`; the draft predicts `f_{i+1}` from it.
 *
 * @example
 * ```ts
 * import { causalAttentionMask, type DraftStepInput } from '@msd/draft';
 *
 * const step: DraftStepInput = {
 *   inputIds: Int32Array.of(42),
 *   hiddenStates: new Float32Array(hiddenSize),
 *   imageEmbeds: undefined,
 *   imageMask: undefined,
 *   positionIds: Int32Array.of(past),
 *   attentionMask: causalAttentionMask(past, 1),
 * };
 * ```
 */
export interface DraftStepInput {
  /**
   * `[T]`: token `x_{i+1}` per row. At decoupled image rows the graph ignores it and msd writes 0,
   * which keeps the embedding lookup in range for any vocabulary.
   *
   * @example
   * ```ts
   * input.inputIds[0]; // the token that follows position input.positionIds[0]
   * ```
   */
  inputIds: Int32Array;
  /**
   * `[T * hiddenSize]`: feature `f_i` per row (target hidden state, or the draft's own prediction
   * inside a tree).
   *
   * @example
   * ```ts
   * const row0 = input.hiddenStates.subarray(0, hiddenSize);
   * ```
   */
  hiddenStates: Float32Array;
  /**
   * `[T * hiddenSize]`: the projector output of the image patch at position `i+1` where
   * `imageMask` is 1, zeros elsewhere; `undefined` means all zeros (no image row in this step).
   *
   * @example
   * ```ts
   * const embeds = input.imageEmbeds ?? new Float32Array(input.inputIds.length * hiddenSize);
   * ```
   */
  imageEmbeds: Float32Array | undefined;
  /**
   * `[T]`: 1 where position `i+1` is an image patch (the decoupled graph skips `fc` there), else 0;
   * `undefined` means all zeros. Defined exactly when `imageEmbeds` is.
   *
   * @example
   * ```ts
   * const mask = input.imageMask ?? new Float32Array(input.inputIds.length);
   * ```
   */
  imageMask: Float32Array | undefined;
  /**
   * `[T]`: the sequence position `i` of each row (tree nodes of equal depth share one).
   *
   * @example
   * ```ts
   * input.positionIds; // Int32Array [n, n, n] for three tree nodes at depth 1
   * ```
   */
  positionIds: Int32Array;
  /**
   * `[T * (past + T)]`: additive mask, row `t` over the `past` cached positions then the `T` new
   * ones; 0 where row `t` may attend, {@link blockedAttention} elsewhere (`past = runner.cacheLength(cache)`).
   *
   * @example
   * ```ts
   * const width = input.attentionMask.length / input.inputIds.length; // past + T
   * ```
   */
  attentionMask: Float32Array;
  /**
   * Which rows need candidates: `'all'` (default; tree rounds) or `'last'` (prefill and update, whose
   * last row is the next tree root). With `'last'` a runner may return `hidden`, `topkLogprobs` and
   * `topkIds` for the last row only (every row still enters the cache), which spares the queries, MLP
   * and vocabulary projection of every other row: a 165-row prompt pass of the bundled draft costs
   * 1.9 ms instead of 5.4.
   *
   * @example
   * ```ts
   * const candidates = input.topkRows === 'last' ? 1 : input.inputIds.length;
   * ```
   */
  topkRows?: 'all' | 'last';
}

/**
 * The outputs of one draft forward over `T` positions, row-major without the batch axis.
 *
 * @example
 * ```ts
 * import type { DraftStepOutput } from '@msd/draft';
 *
 * function bestNext(output: DraftStepOutput, row: number, candidatesPerRow: number): number {
 *   return output.topkIds[row * candidatesPerRow]!; // candidates are sorted best first by the graph's TopK
 * }
 * ```
 */
export interface DraftStepOutput {
  /**
   * `[T * hiddenSize]`: the predicted feature `f_{i+1}` per row (`last_hidden_state`); `[hiddenSize]`,
   * the last row's, when a `topkRows: 'last'` step's runner computes that row only.
   *
   * @example
   * ```ts
   * const predicted = output.hidden.subarray(row * hiddenSize, (row + 1) * hiddenSize);
   * ```
   */
  hidden: Float32Array;
  /**
   * `[T * K]` (or `[K]` for a `topkRows: 'last'` step), `K` = the runner's `candidatesPerRow`:
   * log-softmax values of the best `K` candidates for `x_{i+2}` per row.
   *
   * @example
   * ```ts
   * output.topkLogprobs[row * runner.candidatesPerRow]; // log-probability of the best candidate of `row`
   * ```
   */
  topkLogprobs: Float32Array;
  /**
   * `[T * K]`: token ids of those candidates.
   *
   * @example
   * ```ts
   * output.topkIds[row * runner.candidatesPerRow]; // the best candidate of `row`
   * ```
   */
  topkIds: Int32Array;
}

/**
 * What {@link DraftRunner.run} resolves to.
 *
 * @example
 * ```ts
 * import type { DraftStepResult } from '@msd/draft';
 *
 * const { output, cache: next }: DraftStepResult<MyCache> = await runner.run(cache, input);
 * ```
 */
export interface DraftStepResult<Cache> {
  /**
   * The step's outputs, one row per input row.
   *
   * @example
   * ```ts
   * result.output.topkIds;
   * ```
   */
  output: DraftStepOutput;
  /**
   * A new cache: the input cache with the step's rows appended. The input cache stays valid.
   *
   * @example
   * ```ts
   * runner.cacheLength(result.cache); // runner.cacheLength(cache) + input.inputIds.length
   * ```
   */
  cache: Cache;
}

/**
 * The draft model as msd drives it, independent of the inference runtime: `@msd/models`'
 * `OnnxDraftRunner` implements it over an onnxruntime session of `draft_{name}.onnx`, tests use a
 * deterministic fake. Its sibling is `@msd/core`'s `TargetRunner`.
 *
 * `Cache` is the runner's KV-cache handle. Caches are values: `run` returns a new cache with the
 * `T` new positions appended and leaves the input cache valid and unchanged, so a tree round can
 * be discarded by disposing of its cache. Each cache returned by `run` is disposed of with
 * `disposeCache` exactly once by whoever owns it. A runner may share storage between a cache and
 * the caches grown from it (`OnnxDraftRunner` on the CPU does): once a cache is extended again, the
 * caches grown from it before are stale, which is how the drafter uses them anyway (a tree's rounds
 * are dropped before the committed cache takes the accepted tokens).
 *
 * @example
 * ```ts
 * import type { DraftRunner } from '@msd/draft';
 *
 * const runner: DraftRunner<MyCache> = {
 *   hiddenSize: 4096,
 *   candidatesPerRow: 10,
 *   emptyCache: () => MyCache.empty(),
 *   cacheLength: (cache) => cache.length,
 *   run: async (cache, input) => ({ output: await forward(cache, input), cache: appended(cache, input) }),
 *   disposeCache: (cache) => cache.dispose(),
 * };
 * ```
 */
export interface DraftRunner<Cache> {
  /**
   * Width `d` of features (`hidden_states`, `last_hidden_state`, `image_embeds`).
   *
   * @example
   * ```ts
   * new Float32Array(rows * runner.hiddenSize);
   * ```
   */
  readonly hiddenSize: number;
  /**
   * Number `K` of candidates the graph returns per row (`topk_logprobs` / `topk_ids`; the manifest's draft
   * `topK`). A tree's `branching` is at most this.
   *
   * @example
   * ```ts
   * await draftTree(runner, cache, root, { depth: 5, branching: Math.min(10, runner.candidatesPerRow), totalTokens: 48 });
   * ```
   */
  readonly candidatesPerRow: number;
  /**
   * Runs the draft over `input`'s rows after the positions held in `cache`, returning the outputs
   * and a new cache with the rows appended (`cacheLength(result.cache) === cacheLength(cache) + T`).
   *
   * @example
   * ```ts
   * const { output, cache: next } = await runner.run(cache, input);
   * ```
   */
  run(cache: Cache, input: DraftStepInput): Promise<DraftStepResult<Cache>>;
  /**
   * A cache holding no positions: where a generation's draft prefill starts.
   *
   * @example
   * ```ts
   * const state = await DraftState.start(runner, runner.emptyCache(), start);
   * ```
   */
  emptyCache(): Cache;
  /**
   * Frees a cache returned by `run` (device memory, tensors). Called once per cache.
   *
   * @example
   * ```ts
   * runner.disposeCache(roundCache);
   * ```
   */
  disposeCache(cache: Cache): void;
  /**
   * Number of positions held in `cache` (the `past` length of the next step).
   *
   * @example
   * ```ts
   * const past = runner.cacheLength(cache);
   * ```
   */
  cacheLength(cache: Cache): number;
}
