import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@msd/core';
import { KvCache, loadOnnxRuntime } from '@msd/runtime';

const layout = { layers: 2, heads: 3, headDim: 2 };
const length = 7;

async function cacheOf(seed: number): Promise<KvCache> {
  const ort = await loadOnnxRuntime();
  const outputs: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (let layer = 0; layer < layout.layers; layer++) {
    for (const [k, kind] of ['key', 'value'].entries()) {
      const data = Float32Array.from({ length: layout.heads * length * layout.headDim }, (_, i) => seed + 1000 * (2 * layer + k) + i);
      outputs[`present.${layer}.${kind}`] = new ort.Tensor('float32', data, [1, layout.heads, length, layout.headDim]);
    }
  }
  return KvCache.empty(ort, layout).fromOutputs(outputs);
}

/** What the cache should hold: position p of head h of tensor t, taken from an uncompacted cache. */
function expectedRows(full: KvCache, keep: number[]): number[][] {
  return Object.values(full.feeds()).map((tensor) => {
    const data = tensor.data as Float32Array;
    const rows: number[] = [];
    for (let head = 0; head < layout.heads; head++) {
      for (const position of keep) rows.push(...data.subarray((head * length + position) * layout.headDim, (head * length + position + 1) * layout.headDim));
    }
    return rows;
  });
}

describe('KvCache compaction on the CPU', () => {
  const keep = [0, 1, 2, 4, 6];

  it('compact() gathers the kept positions of every head and leaves the source as it was', async () => {
    const source = await cacheOf(1);
    const before = expectedRows(source, [0, 1, 2, 3, 4, 5, 6]);
    const compacted = (await source.compact(keep)) as KvCache;
    expect(compacted.length).toBe(keep.length);
    expect(Object.values(compacted.feeds()).map((tensor) => Array.from(tensor.data as Float32Array))).toEqual(expectedRows(await cacheOf(1), keep));
    expect(expectedRows(source, [0, 1, 2, 3, 4, 5, 6])).toEqual(before);
  });

  it('compactInPlace() gives the same cache as compact(), in the source buffers', async () => {
    const source = await cacheOf(2);
    const buffers = Object.values(source.feeds()).map((tensor) => (tensor.data as Float32Array).buffer);
    const compacted = (await source.compactInPlace(keep)) as KvCache;
    expect(compacted.length).toBe(keep.length);
    for (const tensor of Object.values(compacted.feeds())) expect(tensor.dims).toEqual([1, layout.heads, keep.length, layout.headDim]);
    expect(Object.values(compacted.feeds()).map((tensor) => Array.from(tensor.data as Float32Array))).toEqual(expectedRows(await cacheOf(2), keep));
    expect(Object.values(compacted.feeds()).map((tensor) => (tensor.data as Float32Array).buffer)).toEqual(buffers);
  });

  it('keeping every position is the identity, and a single last position works', async () => {
    const all = (await (await cacheOf(3)).compactInPlace([0, 1, 2, 3, 4, 5, 6])) as KvCache;
    expect(Object.values(all.feeds()).map((tensor) => Array.from(tensor.data as Float32Array))).toEqual(expectedRows(await cacheOf(3), [0, 1, 2, 3, 4, 5, 6]));
    const last = (await (await cacheOf(3)).compactInPlace([6])) as KvCache;
    expect(Object.values(last.feeds()).map((tensor) => Array.from(tensor.data as Float32Array))).toEqual(expectedRows(await cacheOf(3), [6]));
  });

  it.each([
    ['out of range', [0, 7]],
    ['not ascending', [2, 1]],
    ['repeated', [1, 1]],
    ['negative', [-1]],
  ])('rejects positions that are %s with a typed error', async (_, positions) => {
    const source = await cacheOf(4);
    await expect(source.compact(positions)).rejects.toThrow(InvalidArgumentError);
    await expect(source.compactInPlace(positions)).rejects.toThrow(InvalidArgumentError);
  });
});
