/**
 * Fake target and draft runners for unit tests of the decode loop: no ONNX, fully deterministic.
 *
 * The target is a tiny "language model" whose next-token distribution depends on the last token and
 * the context length only; it reads its context through the attention mask, so a wrong tree mask,
 * position or compaction changes its output. The draft predicts the target's greedy token from the
 * same rule, except at the context lengths listed in `misses`, where its best candidate is wrong.
 * Both count their live caches, so a test can check that a generation frees everything it made.
 */
import { blockedAttention, TokenTypeCode, type TargetRunner, type TargetStep, type TokenTypeTags } from '@msd/core';
import type { DraftRunner, DraftStepInput, DraftStepResult } from '@msd/draft';

export const VOCAB = 40;
export const EOS = 2;
const HIDDEN = 4;

function mix(hash: number, value: number): number {
  return Math.imul((hash ^ value) >>> 0, 16777619) >>> 0;
}

/** What the target rule needs from a context: its last token and its length. */
export interface TargetRule {
  /** Context length at which the target says EOS (never, when undefined). */
  eosAt?: number;
}

/** The target's logits after a context ending in `last`, `length` tokens long. */
export function targetLogits(last: number, length: number, rule: TargetRule): Float32Array {
  const logits = new Float32Array(VOCAB);
  for (let token = 0; token < VOCAB; token++) logits[token] = (mix(mix(2166136261, last), length * 131 + token) % 1000) / 500;
  logits[EOS] = -5;
  if (length === rule.eosAt) logits[EOS] = 50;
  else logits[greedyToken(last, length)] = 4;
  return logits;
}

/** The target's greedy token after a context ending in `last`, `length` tokens long (never EOS here). */
export function greedyToken(last: number, length: number): number {
  return 3 + (mix(mix(7, last), length) % (VOCAB - 3));
}

interface Entry {
  token: number;
  position: number;
}

/** A cache: the entries the model has seen, in cache order. */
export interface FakeCache {
  id: number;
  entries: readonly Entry[];
}

class CacheBook {
  readonly live = new Set<number>();
  private next = 1;
  make(entries: readonly Entry[]): FakeCache {
    const cache = { id: this.next++, entries };
    this.live.add(cache.id);
    return cache;
  }
  use(cache: FakeCache, what: string): void {
    if (!this.live.has(cache.id)) throw new Error(`${what} on a cache that was disposed or consumed (${cache.id})`);
  }
  dispose(cache: FakeCache): void {
    this.use(cache, 'dispose');
    this.live.delete(cache.id);
  }
}

/** The context each new row sees through an additive mask: visible entries in order, then the row itself. */
function contexts(entries: readonly Entry[], rows: readonly Entry[], mask: Float32Array): Entry[][] {
  const width = entries.length + rows.length;
  if (mask.length !== rows.length * width) throw new Error(`mask has ${mask.length} entries, expected ${rows.length * width}`);
  const all = [...entries, ...rows];
  return rows.map((_, row) => all.filter((_, column) => mask[row * width + column] !== blockedAttention));
}

/** The fake target: see the file comment. */
export class FakeTarget implements TargetRunner<FakeCache> {
  readonly vocabSize = VOCAB;
  readonly hiddenSize = HIDDEN;
  readonly caches = new CacheBook();
  forwardCalls = 0;
  imageCalls = 0;

  constructor(private readonly rule: TargetRule = {}) {}

  async encodeImages(_pixels: Float32Array, dims: readonly number[]): Promise<Float32Array> {
    this.imageCalls++;
    return new Float32Array(dims[0]! * 2 * HIDDEN).fill(0.5);
  }

  async prefill(ids: ArrayLike<number>, _tags: TokenTypeTags, _features: Float32Array | undefined): Promise<TargetStep<FakeCache>> {
    const rows = Array.from(ids, (token, position) => ({ token, position }));
    return this.step(
      [],
      rows,
      rows.map((_, row) => rows.slice(0, row + 1)),
    );
  }

  async forward(cache: FakeCache, tokens: ArrayLike<number>, positions: ArrayLike<number>, mask: Float32Array): Promise<TargetStep<FakeCache>> {
    this.caches.use(cache, 'forward');
    this.forwardCalls++;
    const rows = Array.from(tokens, (token, index) => ({ token, position: positions[index]! }));
    return this.step(cache.entries, rows, contexts(cache.entries, rows, mask));
  }

  private step(entries: readonly Entry[], rows: Entry[], seen: Entry[][]): TargetStep<FakeCache> {
    const logits = new Float32Array(rows.length * VOCAB);
    const hidden = new Float32Array(rows.length * HIDDEN);
    seen.forEach((context, row) => {
      // A row's context must be a real sequence: positions 0, 1, 2, ... in order.
      context.forEach((entry, index) => {
        if (entry.position !== index) throw new Error(`row ${row} sees position ${entry.position} at index ${index}: wrong mask or positions`);
      });
      logits.set(targetLogits(context.at(-1)!.token, context.length, this.rule), row * VOCAB);
      hidden.set([context.at(-1)!.token, context.length, row, 1], row * HIDDEN);
    });
    return { logits, hidden, cache: this.caches.make([...entries, ...rows]) };
  }

  async compact(cache: FakeCache, keep: ArrayLike<number>): Promise<FakeCache> {
    this.caches.dispose(cache);
    return this.caches.make(Array.from(keep, (index) => cache.entries[index]!));
  }

  disposeCache(cache: FakeCache): void {
    this.caches.dispose(cache);
  }

  cacheLength(cache: FakeCache): number {
    this.caches.use(cache, 'cacheLength');
    return cache.entries.length;
  }
}

/** One draft call, as the fake draft saw it. */
export interface DraftCall {
  rows: number;
  topkRows: 'all' | 'last';
  imageRows: number;
}

/** The fake draft: see the file comment. */
export class FakeDraft implements DraftRunner<FakeCache> {
  readonly hiddenSize = HIDDEN;
  readonly candidatesPerRow = 3;
  readonly caches = new CacheBook();
  readonly calls: DraftCall[] = [];

  /**
   * @param misses - context lengths at which the draft's best candidate is wrong (the right one is second).
   * @param rule - the target's rule, so the draft also predicts its EOS.
   */
  constructor(
    private readonly misses: ReadonlySet<number> = new Set(),
    private readonly rule: TargetRule = {},
  ) {}

  emptyCache(): FakeCache {
    return this.caches.make([]);
  }

  cacheLength(cache: FakeCache): number {
    this.caches.use(cache, 'cacheLength');
    return cache.entries.length;
  }

  disposeCache(cache: FakeCache): void {
    this.caches.dispose(cache);
  }

  async run(cache: FakeCache, input: DraftStepInput): Promise<DraftStepResult<FakeCache>> {
    this.caches.use(cache, 'run');
    const count = input.inputIds.length;
    const topkRows = input.topkRows ?? 'all';
    this.calls.push({ rows: count, topkRows, imageRows: input.imageMask ? input.imageMask.reduce((sum, value) => sum + value, 0) : 0 });
    // Row i pairs f_i with x_{i+1}, so it holds token x_{i+1} at position i + 1.
    const rows = Array.from(input.inputIds, (token, index) => ({
      token: input.imageMask?.[index] ? TokenTypeCode.image + 1000 : token,
      position: input.positionIds[index]! + 1,
    }));
    const seen = contexts(cache.entries, rows, input.attentionMask);
    const candidateRows = topkRows === 'last' ? [count - 1] : Array.from({ length: count }, (_, row) => row);
    const topkIds = new Int32Array(candidateRows.length * this.candidatesPerRow);
    const topkLogprobs = new Float32Array(candidateRows.length * this.candidatesPerRow);
    candidateRows.forEach((row, index) => {
      const context = seen[row]!;
      // The context holds x_1..x_k; the target's context x_0..x_k is one longer.
      const length = context.length + 1;
      const greedy = greedyToken(context.at(-1)!.token, length);
      const right = length === this.rule.eosAt ? EOS : greedy;
      const wrong = 3 + ((greedy - 3 + 1) % (VOCAB - 3));
      const best = this.misses.has(length) ? [wrong, right] : [right, wrong];
      topkIds.set([...best, right === EOS ? greedy : EOS], index * this.candidatesPerRow);
      topkLogprobs.set([-0.1, -2.5, -6], index * this.candidatesPerRow);
    });
    return {
      output: { hidden: new Float32Array(count * HIDDEN), topkLogprobs, topkIds },
      cache: this.caches.make([...cache.entries, ...rows]),
    };
  }
}

/** A text-only request of `length` prompt tokens. */
export function textRequest(length: number) {
  const ids = Int32Array.from({ length }, (_, index) => 3 + ((index * 7) % (VOCAB - 3)));
  const tags: TokenTypeTags = {
    types: new Uint8Array(length).fill(TokenTypeCode.text),
    imageIndex: new Int32Array(length).fill(-1),
    patchIndex: new Int32Array(length).fill(-1),
    imageSpans: [],
  };
  return { ids, tags, pixelValues: undefined };
}
