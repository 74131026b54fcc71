import { InvalidArgumentError } from '@msd/core';
import { assertCount } from './validate';

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
