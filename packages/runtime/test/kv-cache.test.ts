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

describe('KvCache.growable (rows, grown in place)', () => {
  const rowsLayout = { layers: 1, heads: 2, headDim: 2, format: 'rows' as const };
  const width = 4;

  async function rowsOutput(first: number, count: number) {
    const ort = await loadOnnxRuntime();
    const rows = (offset: number) => Float32Array.from({ length: count * width }, (_, i) => offset + first * width + i);
    return {
      'present_rows.0.key': new ort.Tensor('float32', rows(0), [1, count, width]),
      'present_rows.0.value': new ort.Tensor('float32', rows(1000), [1, count, width]),
    };
  }

  function keys(cache: KvCache): number[] {
    return Array.from(cache.feeds()['past_key_values.0.key']!.data as Float32Array);
  }

  it('appends new rows after the cached ones and feeds a [1, length, width] view', async () => {
    const ort = await loadOnnxRuntime();
    const empty = KvCache.growable(ort, rowsLayout, { initialPositions: 2 });
    expect(empty.length).toBe(0);
    expect(empty.feeds()['past_key_values.0.key']!.dims).toEqual([1, 0, width]);
    const three = empty.appendRows(await rowsOutput(0, 3)); // past the initial capacity: the store grows
    const five = three.appendRows(await rowsOutput(3, 2));
    expect(five.length).toBe(5);
    const feeds = five.feeds();
    expect(feeds['past_key_values.0.key']!.dims).toEqual([1, 5, width]);
    expect(keys(five)).toEqual(Array.from({ length: 5 * width }, (_, i) => i));
    expect(Array.from(feeds['past_key_values.0.value']!.data as Float32Array)).toEqual(Array.from({ length: 5 * width }, (_, i) => 1000 + i));
    // The shorter cache still reads its own rows.
    expect(keys(three)).toEqual(Array.from({ length: 3 * width }, (_, i) => i));
  });

  it('a dropped branch becomes unusable once its parent grows another way; the parent stays valid', async () => {
    const ort = await loadOnnxRuntime();
    const committed = KvCache.growable(ort, rowsLayout).appendRows(await rowsOutput(0, 3));
    const branch = committed.appendRows(await rowsOutput(100, 2));
    const other = committed.appendRows(await rowsOutput(200, 1));
    expect(keys(other).slice(3 * width)).toEqual(Array.from({ length: width }, (_, i) => 200 * width + i));
    expect(() => branch.feeds()).toThrow(/overwritten from position 3/);
    expect(() => branch.appendRows({})).toThrow(InvalidArgumentError);
    expect(keys(committed)).toEqual(Array.from({ length: 3 * width }, (_, i) => i));
  });

  it('refuses rows of the wrong width, missing outputs, and appendRows on a cache that cannot grow', async () => {
    const ort = await loadOnnxRuntime();
    const cache = KvCache.growable(ort, rowsLayout);
    const wrong = {
      'present_rows.0.key': new ort.Tensor('float32', new Float32Array(6), [1, 1, 6]),
      'present_rows.0.value': new ort.Tensor('float32', new Float32Array(6), [1, 1, 6]),
    };
    expect(() => cache.appendRows(wrong)).toThrow(/not whole rows of 4/);
    expect(() => cache.appendRows({})).toThrow(/did not return present_rows.0.key/);
    expect(() => KvCache.empty(ort, rowsLayout).appendRows(wrong)).toThrow(/needs a growable cache/);
    expect(() => KvCache.growable(ort, { layers: 1, heads: 2, headDim: 2 })).toThrow(/format 'rows'/);
  });

  it('compacts into a cache of its own, leaving the shared rows alone', async () => {
    const ort = await loadOnnxRuntime();
    const cache = KvCache.growable(ort, rowsLayout).appendRows(await rowsOutput(0, 4));
    const compacted = await cache.compactInPlace([0, 2, 3]);
    expect(compacted.length).toBe(3);
    expect(compacted.feeds()['past_key_values.0.key']!.dims).toEqual([1, 3, width]);
    expect(keys(compacted)).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(keys(cache)).toEqual(Array.from({ length: 4 * width }, (_, i) => i));
  });
});
