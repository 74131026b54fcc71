import { InvalidArgumentError } from '@msd/core';
import { assertCapacity, assertCount } from './validate';

/**
 * The sequence indices of a `[batch, heads, pastLength + T, headDim]` KV cache to keep after a
 * verification step: the whole past, then the accepted tree nodes (`pastLength + node`). The result's
 * length is the new past length.
 *
 * @param acceptedNodes - Accepted node indices, root first (`Acceptance.acceptedNodes`).
 * @param pastLength - Number of positions that were in the cache before the tree was appended.
 * @throws InvalidArgumentError for a bad `pastLength` or a negative node index.
 *
 * @example
 * ```ts
 * import { compactionIndices } from '@msd/verifier';
 *
 * compactionIndices(Int32Array.of(0, 2, 5), 3); // Int32Array [0, 1, 2, 3, 5, 8]
 * ```
 */
export function compactionIndices(acceptedNodes: Int32Array, pastLength: number): Int32Array {
  assertCount(pastLength, 'pastLength');
  const indices = new Int32Array(pastLength + acceptedNodes.length);
  for (let index = 0; index < pastLength; index++) indices[index] = index;
  for (let index = 0; index < acceptedNodes.length; index++) {
    const node = acceptedNodes[index]!;
    if (node < 0) {
      throw new InvalidArgumentError({ argument: 'acceptedNodes', message: `accepted node ${node} is negative.` });
    }
    indices[pastLength + index] = pastLength + node;
  }
  return indices;
}

/**
 * Gathers a row-major `[batch, heads, sequence, headDim]` tensor (a KV cache) along its sequence axis:
 * the result is `[batch, heads, indices.length, headDim]` with position `j` taken from `indices[j]`.
 *
 * `out` may be a separate buffer, or `source` itself to compact in place (no allocation); in place,
 * `indices` must be strictly increasing, which {@link compactionIndices} always is. The returned array
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
 * import { compactionIndices, gatherSequence } from '@msd/verifier';
 *
 * const keep = compactionIndices(acceptance.acceptedNodes, pastLength);
 * const key = gatherSequence(keyData, [1, heads, pastLength + treeSize, headDim], keep, keyData); // in place
 * ```
 */
export function gatherSequence(
  source: Float32Array,
  dims: readonly number[],
  indices: Int32Array,
  out?: Float32Array,
): Float32Array {
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
  if (out) assertCapacity(out, needed, 'out');
  const result = out ? out.subarray(0, needed) : new Float32Array(needed);

  const inPlace = out !== undefined && overlaps(source, result);
  if (inPlace && !(out.buffer === source.buffer && out.byteOffset === source.byteOffset && increasing)) {
    throw new InvalidArgumentError({
      argument: 'out',
      message: 'out overlaps source; in-place gathering needs out to start where source starts and strictly increasing indices.',
      hint: 'Pass source itself as out with indices from compactionIndices, or a separate buffer.',
    });
  }
  // In place, every write lands at or before the element being read, and later reads lie beyond it.
  for (let block = 0; block < batch * heads; block++) {
    const sourceBase = block * sequence * headDim;
    const resultBase = block * kept * headDim;
    for (let index = 0; index < kept; index++) {
      const from = sourceBase + indices[index]! * headDim;
      const to = resultBase + index * headDim;
      if (inPlace && out) {
        if (from !== to) out.copyWithin(to, from, from + headDim); // out starts where source starts
      } else {
        result.set(source.subarray(from, from + headDim), to);
      }
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
