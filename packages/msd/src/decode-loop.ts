import { causalAttentionMask, lastLogitsRow, MsdError, type TargetRunner, type TokenTypeTags } from '@msd/core';
import { DraftState, type DraftRunner } from '@msd/draft';
import { compactionIndices, selectRows, treeAttentionMask, treePositionIds } from '@msd/verifier';
import { throwIfAborted } from './abort';
import type { ResolvedGenerateOptions } from './generate-options';
import { GenerationStatsRecorder } from './generation-stats';
import type { SpeculationMemory } from './speculation-memory';
import { PROBE_TREE, SpeculationPolicy } from './speculation-policy';
import { TokenSampler } from './token-sampler';

/** The prefill inputs of one request. */
export interface DecodeRequest {
  /** Expanded prompt ids. */
  ids: Int32Array;
  /** Their token-type tags. */
  tags: TokenTypeTags;
  /** Preprocessed images, if any. */
  pixelValues: { data: Float32Array; dims: readonly number[] } | undefined;
}

/** Tokens a decoding step produced, in order. */
export type DecodeChunk = readonly number[];

/** What {@link decode} runs: the models, the request and the settings. */
export interface DecodeOptions<TargetCache, DraftCache> {
  /** The target model (`OnnxTargetRunner` of `@msd/models`, or your own). */
  target: TargetRunner<TargetCache>;
  /** The draft; without one (or with `settings.speculative` false) every step is a plain target step. */
  draft?: DraftRunner<DraftCache>;
  /** The prompt. */
  request: DecodeRequest;
  /** Validated generation settings (`resolveGenerateOptions`). */
  settings: ResolvedGenerateOptions;
  /** The token that ends the answer. */
  eosTokenId: number;
  /** The model's context; a request that cannot fit fails before any model call. Default: unchecked. */
  maxPositions?: number;
  /** Where timings and acceptance figures accumulate. */
  stats?: GenerationStatsRecorder;
  /** Stops between steps with an `AbortError`. */
  signal?: AbortSignal;
  /** Where the speculation policy of the last generation of this kind stopped (see {@link SpeculationMemory}). */
  memory?: SpeculationMemory;
}

/** The target's side of a generation: its cache, the newest token and how many tokens were emitted. */
interface TargetState<Cache> {
  cache: Cache;
  last: number;
  produced: number;
}

/** Everything a step reads; the steps below change only the target state and the draft state. */
interface StepContext<TargetCache> {
  target: TargetRunner<TargetCache>;
  settings: ResolvedGenerateOptions;
  eosTokenId: number;
  sampler: TokenSampler;
  stats: GenerationStatsRecorder;
  policy: SpeculationPolicy | undefined;
}

/**
 * Decodes one request: the target's prefill, then steps until EOS or `maxNewTokens`. Each step is
 * either a plain target step (`autoregressiveStep`) or an MSD step (`speculativeStep`:
 * draft a tree, verify it in one target call, accept, compact both caches); the speculation policy
 * (`settings.adaptive`) chooses. Yields the tokens of each step as soon as they are known. Caches are
 * immutable values: each call returns a new one and the loop frees the old.
 *
 * @example
 * ```ts
 * import { decode, resolveGenerateOptions, DEFAULT_TREE } from 'msd';
 *
 * const settings = resolveGenerateOptions({ maxNewTokens: 32 }, DEFAULT_TREE);
 * for await (const tokens of decode({ target, draft, request: inputs, settings, eosTokenId: manifest.eosTokenId })) {
 *   console.log(tokens);
 * }
 * ```
 */
export async function* decode<TargetCache, DraftCache>(options: DecodeOptions<TargetCache, DraftCache>): AsyncGenerator<DecodeChunk> {
  const { target, request, settings, eosTokenId, signal } = options;
  const stats = options.stats ?? new GenerationStatsRecorder();
  checkContext(request.ids.length, settings, options.maxPositions);
  const sampler = new TokenSampler(settings, target.vocabSize);

  // Phase 1: prefill, target then draft (the draft's deferred while the policy starts in a fallback).
  const pixels = request.pixelValues;
  const features = pixels ? await stats.time('vision', () => target.encodeImages(pixels.data, pixels.dims)) : undefined;
  throwIfAborted(signal);
  // Only the last position's logits are read: a decoder that selects rows skips the rest.
  const prefill = await stats.time('prefill', () => target.prefill(request.ids, request.tags, features, { logits: 'last' }));
  const state: TargetState<TargetCache> = { cache: prefill.cache, last: sampler.choose(lastLogitsRow(prefill, target.vocabSize), 0, 0), produced: 1 };
  let drafting: DraftState<DraftCache> | undefined;
  try {
    stats.addStep(1, 0);
    yield [state.last];
    throwIfAborted(signal);
    const draft = settings.speculative && !isFinished(state, settings, eosTokenId) ? options.draft : undefined;
    const kind = { temperature: settings.temperature, hasImages: pixels !== undefined };
    const policy = draft && settings.adaptive ? new SpeculationPolicy(settings.adaptive, options.memory?.recall(kind)) : undefined;
    if (draft) {
      const start = { ids: request.ids, tags: request.tags, targetHidden: prefill.hidden, imageFeatures: features, firstToken: state.last };
      // A generation that starts in a fallback (drafting did not pay for the last one of its kind) may
      // never draft: its draft prefill waits for the first tree, joined with the plain steps before it.
      drafting =
        policy?.shouldSpeculate() === false
          ? DraftState.deferred(draft, start)
          : await stats.time('draftPrefill', () => DraftState.start(draft, draft.emptyCache(), start));
    }
    const context: StepContext<TargetCache> = { target, settings, eosTokenId, sampler, stats, policy };

    // Phase 2: steps.
    stats.startDecode();
    try {
      while (!isFinished(state, settings, eosTokenId)) {
        throwIfAborted(signal);
        const speculate = drafting !== undefined && (policy?.shouldSpeculate() ?? true);
        yield speculate ? await speculativeStep(context, state, drafting!) : await autoregressiveStep(context, state, drafting);
      }
    } finally {
      if (policy) options.memory?.remember(kind, policy.state());
      stats.endDecode();
    }
  } finally {
    target.disposeCache(state.cache);
    drafting?.dispose();
  }
}

function isFinished(state: TargetState<unknown>, settings: ResolvedGenerateOptions, eosTokenId: number): boolean {
  return state.produced >= settings.maxNewTokens || state.last === eosTokenId;
}

/**
 * Throws `context_too_long` unless the prompt (images expanded), the answer and one tree fit the model's
 * positions. The pipeline calls it after tokenizing, before any image is read; the loop again at its start.
 */
export function checkContext(promptLength: number, settings: ResolvedGenerateOptions, maxPositions: number | undefined): void {
  if (maxPositions === undefined || promptLength + settings.maxNewTokens + settings.tree.depth + 1 <= maxPositions) return;
  throw new MsdError({
    code: 'context_too_long',
    message: `The prompt (${promptLength} positions, images included) plus maxNewTokens (${settings.maxNewTokens}) exceeds the model's ${maxPositions} positions.`,
    hint: 'Shorten the prompt, use fewer images, or lower maxNewTokens.',
  });
}

/**
 * One plain target step: the newest token through the target, the next token chosen from its logits.
 * With a draft, the step is recorded so the draft catches up before its next tree.
 */
async function autoregressiveStep<TargetCache, DraftCache>(
  context: StepContext<TargetCache>,
  state: TargetState<TargetCache>,
  drafting: DraftState<DraftCache> | undefined,
): Promise<DecodeChunk> {
  const { target, sampler, stats, policy } = context;
  const began = performance.now();
  const past = target.cacheLength(state.cache);
  const step = await stats.time('verify', () => target.forward(state.cache, [state.last], [past], causalAttentionMask(past, 1)));
  target.disposeCache(state.cache);
  state.cache = step.cache;
  state.last = sampler.choose(step.logits, 0, state.produced);
  state.produced++;
  drafting?.recordPlainStep(past, state.last, step.hidden.slice(0, target.hiddenSize));
  stats.addStep(1, 0, 0, { speculative: false });
  policy?.recordAutoregressive({ milliseconds: performance.now() - began });
  return [state.last];
}

/**
 * One MSD step, EAGLE's three phases: draft a tree from the current root, evaluate it in one target
 * call over every node (tree mask, per-node positions) and accept the longest verified path, then
 * update: compact the target's cache to that path and feed it to the draft.
 */
async function speculativeStep<TargetCache, DraftCache>(
  context: StepContext<TargetCache>,
  state: TargetState<TargetCache>,
  drafting: DraftState<DraftCache>,
): Promise<DecodeChunk> {
  const { target, settings, eosTokenId, sampler, stats, policy } = context;
  const began = performance.now();
  const past = target.cacheLength(state.cache);

  // Draft a tree (one token when the policy probes after a fallback).
  const probe = policy?.probeNext() ?? false;
  const shape = probe ? { ...settings.tree, ...PROBE_TREE } : settings.tree;
  const { tree, stats: treeStats } = await stats.time('draft', () => drafting.draft({ ...shape, stopTokenIds: [eosTokenId] }));
  stats.addDraftRounds(treeStats.draftCalls);

  // Evaluate it.
  const verifyStarted = performance.now();
  const verified = await stats.time('verify', () => target.forward(state.cache, tree.tokens, treePositionIds(tree, past), treeAttentionMask(tree, past)));
  const verifyMilliseconds = performance.now() - verifyStarted;
  const acceptance = sampler.accept(tree, verified.logits, state.produced);

  // Update: the target keeps the accepted path; the draft is fed it unless the answer ends here.
  const compacted = await stats.time('overhead', () => target.compact(verified.cache, compactionIndices(acceptance.acceptedNodes, past)));
  target.disposeCache(state.cache);
  state.cache = compacted;
  const tokens = [...acceptance.acceptedTokens, acceptance.bonusToken];
  const kept = keptTokens(tokens, eosTokenId, settings.maxNewTokens - state.produced);
  state.produced += kept.length;
  state.last = kept.includes(eosTokenId) ? eosTokenId : tokens[tokens.length - 1]!;
  // The last step of a generation needs no draft update (no tree follows it), nor does it tell the
  // policy how well drafting works: the answer's end, not the draft, cut its tokens short.
  if (!isFinished(state, settings, eosTokenId)) {
    const acceptedHidden = selectRows(verified.hidden, acceptance.acceptedNodes, target.hiddenSize);
    await stats.time('draft', () => drafting.commit(past, tokens, acceptedHidden));
    policy?.recordSpeculative({ tokens: tokens.length, milliseconds: performance.now() - began, verifyMilliseconds, probe });
  }
  stats.addStep(kept.length, tree.tokens.length - 1, acceptance.acceptedNodes.length - 1, { speculative: true });
  return kept;
}

/** The tokens of a step that are emitted: up to and including EOS, and no more than the room left. */
function keptTokens(tokens: readonly number[], eosTokenId: number, room: number): number[] {
  const eos = tokens.indexOf(eosTokenId);
  return tokens.slice(0, Math.min(eos >= 0 ? eos + 1 : tokens.length, room));
}
