import { AbortedError, causalAttentionMask, MsdError, type TokenTypeTags } from '@msd/core';
import { draftRootFromOutput, draftTree, prefillDraftInputs, updateDraftInputs, type DraftRoot } from '@msd/draft';
import type { KvCache } from '@msd/runtime';
import {
  acceptGreedy,
  acceptPositionCoupled,
  argmaxPerRow,
  compactionIndices,
  sampleFromLogits,
  SeededRandom,
  treeAttentionMask,
  treePositionIds,
  type Acceptance,
} from '@msd/verifier';
import type { ResolvedGenerateOptions } from './generate-options';
import type { OnnxDraftRunner } from './onnx-draft-runner';
import { GenerationStatsRecorder } from './generation-stats';
import type { SpeculationMemory } from './speculation-memory';
import { SpeculationPolicy } from './speculation-policy';
import type { TargetModel } from './target-model';

/** The prefill inputs of one request. */
export interface DecodeRequest {
  /** Expanded prompt ids. */
  ids: Int32Array;
  /** Their token-type tags. */
  tags: TokenTypeTags;
  /** Preprocessed images, if any. */
  pixelValues: { data: Float32Array; dims: readonly number[] } | undefined;
}

function concatenate(rows: readonly Float32Array[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, index) => out.set(row, index * width));
  return out;
}

/** Tokens a decoding step produced, in order. */
export type DecodeChunk = readonly number[];

function abortError(signal: AbortSignal): AbortedError {
  return new AbortedError({ message: 'Generation was aborted.', cause: signal.reason });
}

/**
 * Decodes one request: target prefill, then either plain autoregressive steps or MSD steps
 * (draft a tree, verify it in one target call, accept, compact both caches). Yields the tokens of each
 * step as soon as they are known; statistics accumulate in `stats`. With `memory`, the speculation
 * policy continues where the last generation of the same kind left it.
 */
export async function* decode(
  target: TargetModel,
  draft: OnnxDraftRunner | undefined,
  request: DecodeRequest,
  options: ResolvedGenerateOptions,
  stats: GenerationStatsRecorder,
  signal?: AbortSignal,
  memory?: SpeculationMemory,
): AsyncGenerator<DecodeChunk> {
  const { manifest } = target;
  const vocab = manifest.vocabSize;
  const hiddenSize = manifest.hiddenSize;
  const sampling = { temperature: options.temperature, topP: options.topP, ...(options.topK > 0 ? { topK: options.topK } : {}) };
  // Each output position draws from its own random source, so a seed gives the same tokens whether
  // a position was reached by a plain step or inside an accepted draft path (the speculation policy
  // changes that from run to run with the measured timings).
  const randomAt = (position: number) => SeededRandom.forPosition(options.seed, position);
  const choose = (logits: Float32Array, row: number, position: number): number => {
    const rowLogits = logits.subarray(row * vocab, (row + 1) * vocab);
    return options.temperature === 0 ? argmaxPerRow(rowLogits, vocab)[0]! : sampleFromLogits(rowLogits, sampling, randomAt(position));
  };
  const length = request.ids.length;
  if (length + options.maxNewTokens + options.tree.depth + 1 > manifest.maxPositions) {
    throw new MsdError({
      code: 'context_too_long',
      message: `The prompt (${length} positions) plus maxNewTokens (${options.maxNewTokens}) exceeds the model's ${manifest.maxPositions} positions.`,
      hint: 'Shorten the prompt, use fewer images, or lower maxNewTokens.',
    });
  }

  // Prefill.
  let features: Float32Array | undefined;
  if (request.pixelValues) {
    features = await stats.time('vision', () => target.encodeImages(request.pixelValues!.data, request.pixelValues!.dims));
  }
  const prefill = await stats.time('prefill', () => target.prefill(request.ids, request.tags, features));
  let cache: KvCache = prefill.cache;
  let produced = 0;
  let last = choose(prefill.logits, length - 1, 0);
  stats.addStep(1, 0);
  yield [last];
  produced++;
  if (signal?.aborted) throw abortError(signal);

  let draftCache: KvCache | undefined;
  let root: DraftRoot | undefined;
  if (draft && options.speculative) {
    const started = await stats.time('draftPrefill', () =>
      draft.run(draft.emptyCache(), prefillDraftInputs({ ids: [...request.ids, last], tags: request.tags, targetHidden: prefill.hidden, imageFeatures: features, hiddenSize })),
    );
    draftCache = started.cache;
    root = draftRootFromOutput(draft, started.output, last);
  }
  // EOS ends the answer, so the draft never extends a branch past it.
  const treeOptions = { ...options.tree, stopTokenIds: [manifest.eosTokenId] };
  const kind = { temperature: options.temperature, hasImages: request.pixelValues !== undefined };
  const policy = draftCache && options.adaptive ? new SpeculationPolicy(options.adaptive, memory?.recall(kind)) : undefined;
  // Draft pairs (f_i, x_{i+1}) of autoregressive fallback steps, fed to the draft when speculation resumes.
  let pending: { from: number; tokens: number[]; hidden: Float32Array[] } | undefined;

  stats.startDecode();
  try {
    while (produced < options.maxNewTokens && last !== manifest.eosTokenId) {
      if (signal?.aborted) throw abortError(signal);
      const past = cache.length;
      if (!draft || !draftCache || !root || (policy && !policy.shouldSpeculate())) {
        const began = performance.now();
        const step = await stats.time('verify', async () => target.forward(cache, await target.embed([last]), BigInt64Array.of(BigInt(past)), causalAttentionMask(past, 1)));
        cache.dispose();
        cache = step.cache;
        last = choose(step.logits, 0, produced);
        if (draftCache) {
          pending ??= { from: past, tokens: [], hidden: [] };
          pending.tokens.push(last);
          pending.hidden.push(step.hidden.slice(0, hiddenSize));
        }
        stats.addStep(1, 0, 0, { speculative: false });
        policy?.recordAutoregressive({ milliseconds: performance.now() - began });
        produced++;
        yield [last];
        continue;
      }
      const began = performance.now();
      if (pending) {
        const caughtUp = await stats.time('draft', () =>
          draft.run(draftCache!, updateDraftInputs({ committedLength: pending!.from, tokens: pending!.tokens, targetHidden: concatenate(pending!.hidden, hiddenSize), hiddenSize })),
        );
        draft.release(draftCache);
        draftCache = caughtUp.cache;
        root = draftRootFromOutput(draft, caughtUp.output, last);
        pending = undefined;
      }
      const { tree } = await stats.time('draft', () => draftTree(draft, draftCache!, root!, treeOptions));
      const verifyStarted = performance.now();
      const verified = await stats.time('verify', async () =>
        target.forward(cache, await target.embed(tree.tokens), treePositionIds(tree, past), treeAttentionMask(tree, past)),
      );
      const verifyMilliseconds = performance.now() - verifyStarted;
      const acceptance: Acceptance =
        options.temperature === 0
          ? acceptGreedy(tree, argmaxPerRow(verified.logits, vocab))
          : acceptPositionCoupled(tree, verified.logits, sampling, (depth) => randomAt(produced + depth - 1));
      const nodes = acceptance.acceptedNodes;
      // The verified cache is not needed again: its buffers become the compacted cache.
      const next = await stats.time('overhead', async () => verified.cache.compactInPlace(compactionIndices(nodes, past)));
      cache.dispose();
      cache = next;
      const tokens = [...acceptance.acceptedTokens, acceptance.bonusToken];
      const eos = tokens.indexOf(manifest.eosTokenId);
      const kept = tokens.slice(0, Math.min(eos >= 0 ? eos + 1 : tokens.length, options.maxNewTokens - produced));
      produced += kept.length;
      last = kept.includes(manifest.eosTokenId) ? manifest.eosTokenId : tokens[tokens.length - 1]!;
      // The last step of a generation needs no draft update: no tree follows it. Short answers
      // (one or two steps) paid a whole draft call for nothing. Nor does it tell the policy how well
      // drafting works: the answer's end, not the draft, cut its tokens short, and the policy's state
      // carries over to the next generation.
      if (produced < options.maxNewTokens && last !== manifest.eosTokenId) {
        // Draft update: the pairs (f_node, next token) along the accepted path.
        const hidden = new Float32Array(nodes.length * hiddenSize);
        for (let i = 0; i < nodes.length; i++) hidden.set(verified.hidden.subarray(nodes[i]! * hiddenSize, (nodes[i]! + 1) * hiddenSize), i * hiddenSize);
        const updated = await stats.time('draft', () => draft.run(draftCache!, updateDraftInputs({ committedLength: past, tokens, targetHidden: hidden, hiddenSize })));
        draft.release(draftCache);
        draftCache = updated.cache;
        root = draftRootFromOutput(draft, updated.output, last);
        policy?.recordSpeculative({ tokens: tokens.length, milliseconds: performance.now() - began, verifyMilliseconds });
      }
      stats.addStep(kept.length, tree.tokens.length - 1, nodes.length - 1, { speculative: true });
      yield kept;
    }
  } finally {
    if (policy) memory?.remember(kind, policy.state());
    stats.endDecode();
    cache.dispose();
    draftCache?.dispose();
  }
}
