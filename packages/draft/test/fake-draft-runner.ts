/**
 * A deterministic fake draft model for tests. Each new row's outputs are a hash of its own pair
 * (token or image row, position, hidden row) and of every cache entry its mask lets it see, so a
 * wrong mask, position or hidden row changes the drafted tree.
 */
import { expect } from 'vitest';
import { blockedAttention, type DraftRunner, type DraftStepInput, type DraftStepOutput, type DraftStepResult } from '@msd/draft';

export interface Entry {
  token: number;
  position: number;
  hiddenKey: number;
  imageKey: number;
}

export interface FakeCache {
  id: number;
  entries: readonly Entry[];
  /** Per entry: indices of the entries it saw (itself included). */
  visible: readonly (readonly number[])[];
}

export interface StepRecord {
  past: number;
  input: DraftStepInput;
  cacheIn: number;
  cacheOut: number;
}

export const VOCAB = 97;

function mix(hash: number, value: number): number {
  return Math.imul((hash ^ value) >>> 0, 16777619) >>> 0;
}

export function hashFloats(values: Float32Array): number {
  let hash = 2166136261;
  for (const value of values) hash = mix(hash, Math.round(value * 1e6) | 0);
  return hash;
}

/** The pure step function: outputs of a pair given the entries it sees before itself. */
export function fakeStep(history: readonly Entry[], self: Entry, hiddenSize: number, topK: number) {
  let hash = 2166136261;
  for (const entry of [...history, self]) {
    hash = mix(mix(mix(mix(hash, entry.token), entry.position), entry.hiddenKey), entry.imageKey);
  }
  const hidden = new Float32Array(hiddenSize);
  for (let j = 0; j < hiddenSize; j++) hidden[j] = ((mix(hash, j + 1) % 2001) - 1000) / 1000;
  const ids = new Int32Array(topK);
  const logprobs = new Float32Array(topK);
  const start = mix(hash, 77) % VOCAB;
  let logprob = -(mix(hash, 99) % 1000) / 400;
  for (let k = 0; k < topK; k++) {
    ids[k] = (start + k * 7) % VOCAB;
    logprobs[k] = logprob;
    logprob -= (1 + (mix(hash, 100 + k) % 1000)) / 400;
  }
  return { hidden, logprobs, ids };
}

/** The entry a row of a draft step appends (decoupled: an image row ignores token and hidden). */
export function rowEntry(input: DraftStepInput, row: number, hiddenSize: number): Entry {
  const image = input.imageMask?.[row] === 1;
  return {
    token: image ? -1 : input.inputIds[row]!,
    position: input.positionIds[row]!,
    hiddenKey: image ? 0 : hashFloats(input.hiddenStates.subarray(row * hiddenSize, (row + 1) * hiddenSize)),
    imageKey: image ? hashFloats(input.imageEmbeds!.subarray(row * hiddenSize, (row + 1) * hiddenSize)) : 0,
  };
}

export class FakeDraftRunner implements DraftRunner<FakeCache> {
  readonly calls: StepRecord[] = [];
  readonly releases = new Map<number, number>();
  readonly created: FakeCache[] = [];
  /** Throw on the call with this index (0-based), to test cleanup. */
  failOnCall = -1;
  private nextId = 1;

  constructor(
    readonly hiddenSize = 4,
    readonly candidatesPerRow = 5,
  ) {}

  emptyCache(): FakeCache {
    return { id: 0, entries: [], visible: [] };
  }

  cacheLength(cache: FakeCache): number {
    return cache.entries.length;
  }

  disposeCache(cache: FakeCache): void {
    this.releases.set(cache.id, (this.releases.get(cache.id) ?? 0) + 1);
  }

  async run(cache: FakeCache, input: DraftStepInput): Promise<DraftStepResult<FakeCache>> {
    const d = this.hiddenSize;
    const rows = input.inputIds.length;
    const past = cache.entries.length;
    const width = past + rows;
    expect(this.releases.get(cache.id) ?? 0, 'run on a released cache').toBe(0);
    expect(input.hiddenStates.length).toBe(rows * d);
    expect(input.positionIds.length).toBe(rows);
    expect(input.attentionMask.length).toBe(rows * width);
    expect(input.imageEmbeds === undefined).toBe(input.imageMask === undefined);
    if (input.imageEmbeds) expect(input.imageEmbeds.length).toBe(rows * d);
    if (input.imageMask) expect(input.imageMask.length).toBe(rows);
    if (this.calls.length === this.failOnCall) throw new Error('fake failure');
    this.calls.push({ past, input, cacheIn: cache.id, cacheOut: this.nextId });

    const entries = [...cache.entries];
    const visibleAll = [...cache.visible];
    const output: DraftStepOutput = {
      hidden: new Float32Array(rows * d),
      topkLogprobs: new Float32Array(rows * this.candidatesPerRow),
      topkIds: new Int32Array(rows * this.candidatesPerRow),
    };
    for (let row = 0; row < rows; row++) {
      const visible: number[] = [];
      for (let column = 0; column < width; column++) {
        const value = input.attentionMask[row * width + column]!;
        expect(value === 0 || value === blockedAttention, `mask value ${value}`).toBe(true);
        if (value === 0) visible.push(column);
      }
      expect(visible.at(-1), 'a row sees itself and nothing after it').toBe(past + row);
      const self = rowEntry(input, row, d);
      const history = visible.slice(0, -1).map((column) => (column < past ? cache.entries[column]! : entries[column]!));
      const step = fakeStep(history, self, d, this.candidatesPerRow);
      output.hidden.set(step.hidden, row * d);
      output.topkLogprobs.set(step.logprobs, row * this.candidatesPerRow);
      output.topkIds.set(step.ids, row * this.candidatesPerRow);
      entries.push(self);
      visibleAll.push(visible);
    }
    const next: FakeCache = { id: this.nextId++, entries, visible: visibleAll };
    this.created.push(next);
    return { output, cache: next };
  }
}
