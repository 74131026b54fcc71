import type { TokenTypeTags } from '@msd/core';
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
 * Each call replaces the cache with a new one and disposes the old one.
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

  private constructor(
    private readonly runner: DraftRunner<Cache>,
    private cache: Cache,
    private currentRoot: DraftRoot,
  ) {}

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
    const state = new DraftState(runner, emptyCache, undefined as unknown as DraftRoot);
    await state.advance(input, start.firstToken);
    return state;
  }

  /**
   * The root of the next tree: the newest token and the draft's candidates after it.
   *
   * @example
   * ```ts
   * state.root.topkIds[0]; // the draft's best guess for the next token
   * ```
   */
  get root(): DraftRoot {
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
    return draftTree(this.runner, this.cache, this.currentRoot, options);
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
    this.runner.disposeCache(this.cache);
  }

  private async catchUp(): Promise<void> {
    if (!this.pending) return;
    const { from, tokens, hidden } = this.pending;
    const rows = new Float32Array(hidden.length * this.runner.hiddenSize);
    hidden.forEach((row, index) => rows.set(row, index * this.runner.hiddenSize));
    this.pending = undefined;
    await this.advance(
      updateDraftInputs({ committedLength: from, tokens, targetHidden: rows, hiddenSize: this.runner.hiddenSize }),
      tokens[tokens.length - 1]!,
    );
  }

  /** Runs one draft call for the last row's candidates; the new cache replaces (and frees) the old. */
  private async advance(input: DraftStepInput, rootToken: number): Promise<void> {
    const result = await this.runner.run(this.cache, { ...input, topkRows: 'last' });
    this.runner.disposeCache(this.cache);
    this.cache = result.cache;
    this.currentRoot = draftRootFromOutput(this.runner, result.output, rootToken);
  }
}
