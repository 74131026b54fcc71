/**
 * The decode loop on fake runners (test/fakes/fake-models.ts): exact output, EOS and length cuts,
 * aborts, catch-up after fallbacks, seeded sampling, and every cache freed.
 */
import { describe, expect, it } from 'vitest';
import { AbortedError } from '@msd/core';
import {
  DEFAULT_SAMPLING_TREE,
  DEFAULT_TREE,
  decode,
  PROBE_TREE,
  resolveGenerateOptions,
  SpeculationMemory,
  type DecodeChunk,
  type GenerateOptions,
  GenerationStatsRecorder,
  type GenerationStats,
} from 'msd';
import { EOS, FakeDraft, FakeTarget, greedyToken, textRequest, type TargetRule } from './fakes/fake-models';

const PROMPT = 6;

interface Run {
  tokens: number[];
  stats: GenerationStats;
  chunks: DecodeChunk[];
  target: FakeTarget;
  draft: FakeDraft;
}

async function run(
  options: GenerateOptions & { rule?: TargetRule; misses?: number[]; memory?: SpeculationMemory; signal?: AbortSignal; onChunk?: (chunk: DecodeChunk) => void },
): Promise<Run> {
  const target = new FakeTarget(options.rule);
  const draft = new FakeDraft(new Set(options.misses ?? []), options.rule);
  const settings = resolveGenerateOptions({ adaptive: false, ...options }, DEFAULT_TREE);
  const chunks: DecodeChunk[] = [];
  const stats = new GenerationStatsRecorder();
  const loop = decode({
    stats,
    target,
    draft,
    request: textRequest(PROMPT),
    settings,
    eosTokenId: EOS,
    maxPositions: 512,
    signal: options.signal,
    memory: options.memory,
  });
  for await (const chunk of loop) {
    chunks.push(chunk);
    options.onChunk?.(chunk);
  }
  return { tokens: chunks.flat(), stats: stats.finish(), chunks, target, draft };
}

/** The target's own greedy answer, computed from its rule. */
function expectedGreedy(maxNewTokens: number, rule: TargetRule = {}): number[] {
  const request = textRequest(PROMPT);
  const tokens: number[] = [];
  let last = request.ids[PROMPT - 1]!;
  for (let length = PROMPT; tokens.length < maxNewTokens; length++) {
    last = length === rule.eosAt ? EOS : greedyToken(last, length);
    tokens.push(last);
    if (last === EOS) break;
  }
  return tokens;
}

function expectAllFreed({ target, draft }: Run): void {
  expect(target.caches.live.size, 'target caches left').toBe(0);
  expect(draft.caches.live.size, 'draft caches left').toBe(0);
}

describe('decode on fake runners', () => {
  it('greedy speculative output is the target greedy output, several tokens per step', async () => {
    const plain = await run({ maxNewTokens: 20, speculative: false });
    const speculative = await run({ maxNewTokens: 20, misses: [PROMPT + 4, PROMPT + 11] });
    expect(plain.tokens).toEqual(expectedGreedy(20));
    expect(speculative.tokens).toEqual(plain.tokens);
    expect(speculative.chunks.length).toBeLessThan(plain.chunks.length / 2);
    expect(speculative.target.forwardCalls).toBe(speculative.chunks.length - 1);
    // Tree rounds are the draft calls that ask for every row's candidates (the update after each
    // verification and the prompt pass ask for the last row's only).
    expect(speculative.stats.draftRounds).toBe(speculative.draft.calls.filter((call) => call.topkRows === 'all').length);
    expect(speculative.stats.draftRounds).toBeGreaterThan(0);
    expect(plain.stats.draftRounds).toBe(0);
    expectAllFreed(speculative);
    expect(plain.target.caches.live.size).toBe(0);
  });

  it('EOS in the middle of an accepted chunk ends the answer there', async () => {
    const rule = { eosAt: PROMPT + 3 };
    const result = await run({ maxNewTokens: 20, rule, tree: { depth: 6 } });
    expect(result.tokens).toEqual(expectedGreedy(20, rule));
    expect(result.tokens.at(-1)).toBe(EOS);
    expect(result.tokens).toHaveLength(4);
    // The first token comes from prefill; the rest from one speculative step whose accepted path ends
    // in a drafted EOS: the bonus token after it is dropped.
    expect(result.chunks.map((chunk) => chunk.length)).toEqual([1, 3]);
    expect(result.draft.calls.filter((call) => call.topkRows === 'all').length).toBeGreaterThan(0);
    expectAllFreed(result);
  });

  it('maxNewTokens cuts an accepted chunk', async () => {
    const result = await run({ maxNewTokens: 4, tree: { depth: 6 } });
    expect(result.tokens).toEqual(expectedGreedy(4));
    expect(result.chunks.map((chunk) => chunk.length)).toEqual([1, 3]);
    // No draft update after the last step: prefill plus the tree's rounds only.
    expect(result.draft.calls.filter((call) => call.topkRows === 'last')).toHaveLength(1);
    expectAllFreed(result);
  });

  it('an abort between steps stops with an AbortError and frees every cache', async () => {
    const controller = new AbortController();
    const target = new FakeTarget();
    const draft = new FakeDraft();
    const settings = resolveGenerateOptions({ maxNewTokens: 30, adaptive: false }, DEFAULT_TREE);
    const seen: DecodeChunk[] = [];
    const error = await (async () => {
      try {
        for await (const chunk of decode({ target, draft, request: textRequest(PROMPT), settings, eosTokenId: EOS, signal: controller.signal })) {
          seen.push(chunk);
          if (seen.length === 2) controller.abort(new Error('user cancelled'));
        }
      } catch (caught) {
        return caught;
      }
    })();
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(((error as AbortedError).cause as Error).message).toBe('user cancelled');
    expect(seen).toHaveLength(2);
    expect(target.caches.live.size).toBe(0);
    expect(draft.caches.live.size).toBe(0);
  });

  it('catches the draft up after steps taken without drafting, then accepts drafts again', async () => {
    const memory = new SpeculationMemory();
    // The policy of the last greedy text generation had 3 plain steps to go before its next probe.
    memory.remember(
      { temperature: 0, hasImages: false },
      { tokensPerStep: 1, speculativeMs: 9, verifyMs: 3, autoregressiveMs: 3, backoff: 8, remaining: 3, probing: true },
    );
    const result = await run({ maxNewTokens: 24, adaptive: { minimumGain: 1e-9 }, memory });
    expect(result.tokens).toEqual(expectedGreedy(24));
    expect(result.chunks.slice(0, 4).map((chunk) => chunk.length)).toEqual([1, 1, 1, 1]);
    // The generation started in the fallback, so the draft's prefill waited for the first tree: one
    // call over the prompt and the 3 plain steps' pairs, before the tree's own calls.
    expect(result.draft.calls[0]).toMatchObject({ rows: PROMPT + 3, topkRows: 'last' });
    // Back in step: first a one-token probe (taken: its token and the bonus), then whole trees, the
    // first accepted whole; their deeper rounds ask the draft for candidates of every row.
    expect(result.chunks[4]!.length).toBe(PROBE_TREE.totalTokens + 1);
    expect(result.chunks[5]!.length).toBe(DEFAULT_TREE.depth + 1);
    expect(result.draft.calls.some((call) => call.topkRows === 'all')).toBe(true);
    expectAllFreed(result);
  });

  it('a generation that stays in the fallback never calls the draft, and the next one catches up from its prompt', async () => {
    const memory = new SpeculationMemory();
    const fallback = { tokensPerStep: 1, speculativeMs: 9, verifyMs: 3, autoregressiveMs: 3, backoff: 64, remaining: 64, probing: true };
    memory.remember({ temperature: 0, hasImages: false }, fallback);
    const target = new FakeTarget();
    const draft = new FakeDraft();
    let emptyCaches = 0;
    const emptyCache = draft.emptyCache.bind(draft);
    draft.emptyCache = () => {
      emptyCaches++;
      return emptyCache();
    };
    const settings = resolveGenerateOptions({ maxNewTokens: 12 }, DEFAULT_TREE);
    const tokens: number[] = [];
    for await (const chunk of decode({ target, draft, request: textRequest(PROMPT), settings, eosTokenId: EOS, memory })) tokens.push(...chunk);
    expect(tokens).toEqual(expectedGreedy(12));
    expect(draft.calls).toHaveLength(0);
    expect(emptyCaches).toBe(0);
    // Its 11 plain steps counted toward the next probe, which the next generation reaches after 53.
    expect(memory.recall({ temperature: 0, hasImages: false })).toMatchObject({ remaining: 53, probing: true });

    // The same kind with the probe 2 steps away: the probe's draft call covers the prompt and both steps.
    memory.remember({ temperature: 0, hasImages: false }, { ...fallback, backoff: 8, remaining: 2 });
    const next = await run({ maxNewTokens: 12, adaptive: {}, memory });
    expect(next.tokens).toEqual(expectedGreedy(12));
    expect(next.draft.calls[0]).toMatchObject({ rows: PROMPT + 2, topkRows: 'last' });
    expectAllFreed(next);
  });

  it('sampling with a seed: the same tokens with or without drafting, different with another seed', async () => {
    const sampled = { maxNewTokens: 24, temperature: 1, seed: 11 };
    const plain = await run({ ...sampled, speculative: false });
    const speculative = await run({ ...sampled, tree: { depth: 4, branching: 2, totalTokens: 8 } });
    const again = await run({ ...sampled, tree: { depth: 4, branching: 2, totalTokens: 8 } });
    expect(speculative.tokens).toEqual(plain.tokens);
    expect(again.tokens).toEqual(speculative.tokens);
    expect(speculative.chunks.length).toBeLessThan(plain.chunks.length);
    const other = await run({ ...sampled, seed: 12 });
    expect(other.tokens).not.toEqual(plain.tokens);
    expectAllFreed(speculative);
  });

  it('a request that cannot fit the context fails before any model call', async () => {
    const target = new FakeTarget();
    const settings = resolveGenerateOptions({ maxNewTokens: 100 }, DEFAULT_TREE);
    const loop = decode({ target, request: textRequest(PROMPT), settings, eosTokenId: EOS, maxPositions: 64 });
    await expect(loop.next()).rejects.toMatchObject({ code: 'context_too_long' });
    expect(target.caches.live.size).toBe(0);
  });

  it('images go through the target encoder and reach the draft prefill as decoupled rows', async () => {
    const target = new FakeTarget();
    const draft = new FakeDraft();
    const request = textRequest(PROMPT);
    // Positions 1 and 2 are the two patches of one image.
    request.tags.types.set([1, 1], 1);
    request.tags.imageIndex.set([0, 0], 1);
    request.tags.patchIndex.set([0, 1], 1);
    request.tags.imageSpans.push({ start: 1, length: 2, imageIndex: 0 } as never);
    const settings = resolveGenerateOptions({ maxNewTokens: 6, adaptive: false }, DEFAULT_TREE);
    const pixelValues = { data: new Float32Array(12), dims: [1, 3, 2, 2] };
    const tokens: number[] = [];
    for await (const chunk of decode({ target, draft, request: { ...request, pixelValues }, settings, eosTokenId: EOS })) tokens.push(...chunk);
    expect(target.imageCalls).toBe(1);
    expect(draft.calls[0]).toMatchObject({ rows: PROMPT, imageRows: 2 });
    expect(tokens).toHaveLength(6);
  });
});

describe('tree options', () => {
  it('take a shape whole: a request that sets depth, branching or totalTokens drops the default minConfidence', () => {
    expect(DEFAULT_TREE.minConfidence).toBeGreaterThan(0);
    expect(resolveGenerateOptions({ tree: { depth: 5, branching: 1, totalTokens: 5 } }, DEFAULT_TREE).tree).toEqual({ depth: 5, branching: 1, totalTokens: 5 });
    expect(resolveGenerateOptions({ tree: { minConfidence: 0.2 } }, DEFAULT_TREE).tree).toEqual({ ...DEFAULT_TREE, minConfidence: 0.2 });
    expect(resolveGenerateOptions({ tree: { depth: 12, minConfidence: 0.5 } }, DEFAULT_TREE).tree).toEqual({ ...DEFAULT_TREE, depth: 12, minConfidence: 0.5 });
    expect(resolveGenerateOptions({ temperature: 1 }, DEFAULT_TREE, DEFAULT_SAMPLING_TREE).tree).toEqual(DEFAULT_SAMPLING_TREE);
  });
});
