import { InvalidArgumentError } from './errors';

/**
 * Gathers a row-major `[batch, heads, sequence, headDim]` tensor (a KV cache) along its sequence axis:
 * the result is `[batch, heads, indices.length, headDim]` with position `j` taken from `indices[j]`.
 *
 * `out` may be a separate buffer, or `source` itself to compact in place (no allocation); in place,
 * `indices` must be strictly increasing, which `compactionIndices` of `@msd/verifier` always is. The returned array
 * is a view of the first `batch * heads * indices.length * headDim` elements of `out`.
 *
 * @param source - The tensor data.
 * @param dims - Its dims `[batch, heads, sequence, headDim]` (e.g. an ORT tensor's `dims`).
 * @param indices - Sequence positions to keep, each in `[0, sequence)`.
 * @param out - Optional destination (or `source` for in place).
 * @throws InvalidArgumentError for dims that do not match `source`, an index out of range, a too small
 *   `out`, or an overlapping `out` that is not an in-place compaction with increasing indices.
 *
 * @example
 * ```ts
 * import { gatherSequence } from '@msd/core';
 * import { compactionIndices } from '@msd/verifier';
 *
 * const keep = compactionIndices(acceptance.acceptedNodes, pastLength);
 * const key = gatherSequence(keyData, [1, heads, pastLength + treeSize, headDim], keep, keyData); // in place
 * ```
 */
export function gatherSequence(source: Float32Array, dims: readonly number[], indices: ArrayLike<number>, out?: Float32Array): Float32Array {
  if (dims.length !== 4 || dims.some((dim) => !Number.isSafeInteger(dim) || dim < 0)) {
    throw new InvalidArgumentError({
      argument: 'dims',
      message: `dims must be [batch, heads, sequence, headDim] of non-negative integers, got [${dims.join(', ')}].`,
    });
  }
  const [batch, heads, sequence, headDim] = dims as [number, number, number, number];
  if (batch * heads * sequence * headDim !== source.length) {
    throw new InvalidArgumentError({
      argument: 'dims',
      message: `dims [${dims.join(', ')}] describe ${batch * heads * sequence * headDim} elements but source has ${source.length}.`,
    });
  }
  let increasing = true;
  for (let index = 0; index < indices.length; index++) {
    const position = indices[index]!;
    if (position < 0 || position >= sequence) {
      throw new InvalidArgumentError({
        argument: 'indices',
        message: `index ${position} is outside the sequence axis [0, ${sequence}).`,
      });
    }
    if (index > 0 && position <= indices[index - 1]!) increasing = false;
  }
  const kept = indices.length;
  const needed = batch * heads * kept * headDim;
  if (out && out.length < needed) {
    throw new InvalidArgumentError({
      argument: 'out',
      message: `out holds ${out.length} elements but ${needed} are needed.`,
      hint: 'Pass a larger buffer, or none to have one allocated.',
    });
  }
  const result = out ? out.subarray(0, needed) : new Float32Array(needed);

  const inPlace = out !== undefined && overlaps(source, result);
  if (inPlace && !(out.buffer === source.buffer && out.byteOffset === source.byteOffset && increasing)) {
    throw new InvalidArgumentError({
      argument: 'out',
      message: 'out overlaps source; in-place gathering needs out to start where source starts and strictly increasing indices.',
      hint: 'Pass source itself as out with indices from compactionIndices, or a separate buffer.',
    });
  }
  // Consecutive kept positions are copied as one run (a compacted cache is mostly its untouched past).
  // In place, every write lands at or before the element being read, and later reads lie beyond it.
  const runs = toRuns(indices);
  for (let block = 0; block < batch * heads; block++) {
    const sourceBase = block * sequence * headDim;
    let to = block * kept * headDim;
    for (const [start, count] of runs) {
      const from = sourceBase + start * headDim;
      if (inPlace && out) {
        if (from !== to) out.copyWithin(to, from, from + count * headDim); // out starts where source starts
      } else {
        result.set(source.subarray(from, from + count * headDim), to);
      }
      to += count * headDim;
    }
  }
  return result;
}

function overlaps(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer) return false;
  const aEnd = a.byteOffset + a.byteLength;
  const bEnd = b.byteOffset + b.byteLength;
  return a.byteOffset < bEnd && b.byteOffset < aEnd;
}

/** `[start, count]` runs of consecutive indices. */
function toRuns(indices: ArrayLike<number>): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let index = 0; index < indices.length; index++) {
    const position = indices[index]!;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === position) last[1]++;
    else runs.push([position, 1]);
  }
  return runs;
}
