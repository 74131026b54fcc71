import { TokenTypeCode, type TokenTypeTags } from '@msd/core';
import { draftRootFromOutput, type DraftRoot } from './draft-root';
import type { DraftRunner, DraftStepInput } from './draft-runner';
import { draftTree, type DraftTreeResult } from './draft-tree';
import type { DraftTreeOptions } from './draft-tree-options';
import { prefillDraftInputs } from './prefill-draft-inputs';
import { updateDraftInputs } from './update-draft-inputs';

/** The target's prefill, as {@link DraftState.start} needs it. */
export interface DraftStart {
  /** The expanded prompt ids (what the target prefilled). */
  ids: ArrayLike<number>;
  /** Their token-type tags. */
  tags: TokenTypeTags;
  /** `[ids.length * hiddenSize]`: the target's hidden states of the prompt. */
  targetHidden: Float32Array;
  /** Projected image features, when the prompt has images. */
  imageFeatures: Float32Array | undefined;
  /** The target's first generated token: the first tree's root. */
  firstToken: number;
}

/**
 * The draft's side of a generation: its KV cache and the root of the next tree, kept in step with
 * the target. It is where the three draft calls of MSD live: the prefill ({@link DraftState.start}),
 * tree drafting ({@link DraftState.draft}) and the update after verification ({@link DraftState.commit}),
 * plus the catch-up after steps the target took alone ({@link DraftState.recordPlainStep}).
 * Each call replaces the cache with a new one and disposes the old one. A state made by
 * {@link DraftState.deferred} runs the prefill only when its first tree is drafted.
 *
 * @example
 * ```ts
 * import { DraftState } from '@msd/draft';
 *
 * const state = await DraftState.start(runner, runner.emptyCache(), { ids, tags, targetHidden, imageFeatures, firstToken });
 * const { tree } = await state.draft({ depth: 5, branching: 1, totalTokens: 5 });
 * // ... verify the tree with the target ...
 * await state.commit(past, [...acceptedTokens, bonusToken], acceptedHidden);
 * state.dispose();
 * ```
 */
export class DraftState<Cache> {
  /** Target steps taken without drafting since the last draft call: fed to the draft before the next tree. */
  private pending: { from: number; tokens: number[]; hidden: Float32Array[] } | undefined;
  /** The prefill of a deferred state until its first tree; the cache and the root exist only after it. */
  private prompt: DraftStart | undefined;
  private cache: Cache | undefined;
  private currentRoot: DraftRoot | undefined;

  private constructor(private readonly runner: DraftRunner<Cache>) {}

  /**
   * Runs the draft over the prompt (MSD's decoupled inputs: image positions take the projector output)
   * and returns the state whose root is the target's first token. The state owns `emptyCache` from
   * here: it is freed once the prefill has run, like every cache the state replaces.
   *
   * @example
   * ```ts
   * const state = await DraftState.start(runner, runner.emptyCache(), { ids, tags, targetHidden, imageFeatures, firstToken });
   * ```
   */
  static async start<Cache>(runner: DraftRunner<Cache>, emptyCache: Cache, start: DraftStart): Promise<DraftState<Cache>> {
    const input = prefillDraftInputs({
      ids: [...Array.from(start.ids), start.firstToken],
      tags: start.tags,
      targetHidden: start.targetHidden,
      imageFeatures: start.imageFeatures,
      hiddenSize: runner.hiddenSize,
    });
    const state = new DraftState(runner);
    state.cache = emptyCache;
    await state.advance(input, start.firstToken);
    return state;
  }

  /**
   * A state that owes the draft its prefill: no draft call is made (nor a cache made) until the first
   * {@link DraftState.draft}, which runs the prompt and every plain step recorded since in one call.
   * The draft's cache and root then equal those of {@link DraftState.start} followed by the catch-up,
   * so a generation that falls back from its first step pays for the draft only if it ever drafts.
   * The arrays of `start` are read then, not copied now: they must not change until the first tree.
   *
   * @example
   * ```ts
   * const state = DraftState.deferred(runner, { ids, tags, targetHidden, imageFeatures, firstToken });
   * state.recordPlainStep(past, token, hidden); // no draft call yet
   * const { tree } = await state.draft({ depth: 5, branching: 1, totalTokens: 5 }); // prefill, then the tree
   * ```
   */
  static deferred<Cache>(runner: DraftRunner<Cache>, start: DraftStart): DraftState<Cache> {
    const state = new DraftState(runner);
    state.prompt = start;
    return state;
  }

  /**
   * The root of the next tree: the newest token and the draft's candidates after it; `undefined`
   * while a {@link DraftState.deferred} state has not drafted yet.
   *
   * @example
   * ```ts
   * state.root?.topkIds[0]; // the draft's best guess for the next token
   * ```
   */
  get root(): DraftRoot | undefined {
    return this.currentRoot;
  }

  /**
   * Notes one target step taken without drafting (the speculation policy fell back): the pair
   * (the step's hidden state, the token it produced) the draft must see before its next tree.
   *
   * @param position - The step's position (the cache length before it).
   *
   * @example
   * ```ts
   * state.recordPlainStep(past, token, step.hidden.slice(0, hiddenSize));
   * ```
   */
  recordPlainStep(position: number, token: number, hidden: Float32Array): void {
    this.pending ??= { from: position, tokens: [], hidden: [] };
    this.pending.tokens.push(token);
    this.pending.hidden.push(hidden);
  }

  /**
   * Drafts a tree from the current root (EAGLE-2 dynamic tree, {@link draftTree}), after feeding the
   * draft any plain steps it missed. The state's cache is left as it was: the tree's rows are dropped.
   *
   * @example
   * ```ts
   * const { tree } = await state.draft({ depth: 5, branching: 1, totalTokens: 5, stopTokenIds: [eos] });
   * ```
   */
  async draft(options: DraftTreeOptions): Promise<DraftTreeResult> {
    await this.catchUp();
    return draftTree(this.runner, this.cache!, this.currentRoot!, options);
  }

  /**
   * Feeds the draft the verified path: the pairs (target hidden state at each accepted node, next
   * token), so its cache holds the committed positions and its root is the bonus token.
   *
   * @param committedLength - Positions committed before this step (the cache length before the tree).
   * @param tokens - The accepted drafted tokens, then the bonus token.
   * @param targetHidden - `[tokens.length * hiddenSize]`: the target's hidden states at the accepted
   *   nodes, root first (`selectRows(verified.hidden, acceptedNodes, hiddenSize)` of `@msd/verifier`).
   *
   * @example
   * ```ts
   * await state.commit(past, [...acceptance.acceptedTokens, acceptance.bonusToken], acceptedHidden);
   * ```
   */
  async commit(committedLength: number, tokens: readonly number[], targetHidden: Float32Array): Promise<void> {
    const input = updateDraftInputs({ committedLength, tokens, targetHidden, hiddenSize: this.runner.hiddenSize });
    await this.advance(input, tokens[tokens.length - 1]!);
  }

  /**
   * Frees the draft's cache.
   *
   * @example
   * ```ts
   * state.dispose();
   * ```
   */
  dispose(): void {
    if (this.cache !== undefined) this.runner.disposeCache(this.cache);
    this.cache = undefined;
  }

  private async catchUp(): Promise<void> {
    const { prompt, pending } = this;
    if (!prompt && !pending) return;
    const size = this.runner.hiddenSize;
    const rows = new Float32Array((pending?.hidden.length ?? 0) * size);
    pending?.hidden.forEach((row, index) => rows.set(row, index * size));
    const tokens = pending?.tokens ?? [];
    this.prompt = undefined;
    this.pending = undefined;
    if (!prompt) {
      await this.advance(updateDraftInputs({ committedLength: pending!.from, tokens, targetHidden: rows, hiddenSize: size }), tokens[tokens.length - 1]!);
      return;
    }
    // The plain steps continue the prompt, so one prefill over both is the prefill followed by the
    // catch-up: row i still pairs f_i with x_{i+1}, causal from position 0.
    const targetHidden = new Float32Array(prompt.targetHidden.length + rows.length);
    targetHidden.set(prompt.targetHidden);
    targetHidden.set(rows, prompt.targetHidden.length);
    const ids = [...Array.from(prompt.ids), prompt.firstToken, ...tokens];
    const input = prefillDraftInputs({
      ids,
      tags: textTagsThrough(prompt.tags, ids.length - 1),
      targetHidden,
      imageFeatures: prompt.imageFeatures,
      hiddenSize: size,
    });
    this.cache = this.runner.emptyCache();
    await this.advance(input, ids[ids.length - 1]!);
  }

  /** Runs one draft call for the last row's candidates; the new cache replaces (and frees) the old. */
  private async advance(input: DraftStepInput, rootToken: number): Promise<void> {
    const result = await this.runner.run(this.cache!, { ...input, topkRows: 'last' });
    this.runner.disposeCache(this.cache!);
    this.cache = result.cache;
    this.currentRoot = draftRootFromOutput(this.runner, result.output, rootToken);
  }
}

/** The prompt's tags, extended to `length` positions by generated tokens, which are text. */
function textTagsThrough(tags: TokenTypeTags, length: number): TokenTypeTags {
  const known = Math.min(tags.types.length, length);
  const types = new Uint8Array(length).fill(TokenTypeCode.text);
  types.set(tags.types.subarray(0, known));
  const imageIndex = new Int32Array(length).fill(-1);
  imageIndex.set(tags.imageIndex.subarray(0, known));
  const patchIndex = new Int32Array(length).fill(-1);
  patchIndex.set(tags.patchIndex.subarray(0, known));
  return { types, imageIndex, patchIndex, imageSpans: tags.imageSpans };
}
