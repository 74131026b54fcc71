import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@msd/core';
import { gatherSequence } from '@msd/core';
import { compactionIndices } from '@msd/verifier';

/** [batch, heads, seq, headDim] filled with a code of (b, h, s, d). */
function kv(batch: number, heads: number, sequence: number, headDim: number): Float32Array {
  const data = new Float32Array(batch * heads * sequence * headDim);
  let i = 0;
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) for (let s = 0; s < sequence; s++) for (let d = 0; d < headDim; d++) data[i++] = b * 1000 + h * 100 + s * 10 + d;
  return data;
}

describe('compactionIndices', () => {
  it('keeps the past and the accepted nodes', () => {
    expect(Array.from(compactionIndices(Int32Array.of(0, 2, 5), 3))).toEqual([0, 1, 2, 3, 5, 8]);
    expect(Array.from(compactionIndices(Int32Array.of(0), 0))).toEqual([0]);
    expect(() => compactionIndices(Int32Array.of(0), -2)).toThrow(InvalidArgumentError);
    expect(() => compactionIndices(Int32Array.of(-1), 2)).toThrow(InvalidArgumentError);
  });
});

describe('gatherSequence', () => {
  const dims = [2, 3, 6, 2];
  const indices = Int32Array.of(0, 1, 3, 5);

  it('gathers along the sequence axis into a new buffer', () => {
    const source = kv(2, 3, 6, 2);
    const result = gatherSequence(source, dims, indices);
    expect(Array.from(result)).toEqual(Array.from(kv(2, 3, 6, 2)).filter((v) => [0, 1, 3, 5].includes(Math.floor((v % 100) / 10))));
    expect(result.length).toBe(2 * 3 * 4 * 2);
  });

  it('compacts in place and into a larger caller buffer', () => {
    const expected = gatherSequence(kv(2, 3, 6, 2), dims, indices);
    const source = kv(2, 3, 6, 2);
    const inPlace = gatherSequence(source, dims, indices, source);
    expect(inPlace.buffer).toBe(source.buffer);
    expect(Array.from(inPlace)).toEqual(Array.from(expected));
    const out = new Float32Array(1000);
    expect(Array.from(gatherSequence(kv(2, 3, 6, 2), dims, indices, out))).toEqual(Array.from(expected));
  });

  it('reorders into a separate buffer but refuses unsafe overlap', () => {
    const source = kv(1, 1, 3, 1);
    expect(Array.from(gatherSequence(source, [1, 1, 3, 1], Int32Array.of(2, 0)))).toEqual([20, 0]);
    expect(() => gatherSequence(source, [1, 1, 3, 1], Int32Array.of(2, 0), source)).toThrow(/in-place/);
    expect(() => gatherSequence(source, [1, 1, 3, 1], Int32Array.of(1), source.subarray(1))).toThrow(InvalidArgumentError);
  });

  it('validates dims, indices and the buffer', () => {
    const source = kv(1, 2, 4, 2);
    expect(() => gatherSequence(source, [1, 2, 4], Int32Array.of(0))).toThrow(/dims/);
    expect(() => gatherSequence(source, [1, 2, 5, 2], Int32Array.of(0))).toThrow(/dims/);
    expect(() => gatherSequence(source, [1, 2, 4, 2], Int32Array.of(4))).toThrow(/outside/);
    expect(() => gatherSequence(source, [1, 2, 4, 2], Int32Array.of(0, 1), new Float32Array(3))).toThrow(InvalidArgumentError);
  });
});
