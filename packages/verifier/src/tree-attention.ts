import { blockedAttention, type DraftTree } from '@msd/core';
import { assertCapacity, assertCount, assertDraftTree } from './validate';

/**
 * Builds the additive tree attention mask for one verification forward over all nodes of `tree`.
 *
 * The result is row-major `[T, pastLength + T]` (feed it as `[1, 1, T, pastLength + T]`): row `i` is 0
 * over the whole past and over node `i`'s ancestors and itself, and {@link blockedAttention} everywhere else.
 *
 * @param tree - The draft tree (node 0 = root = last accepted token).
 * @param pastLength - Number of positions already in the KV cache.
 * @param out - Optional buffer of at least `T * (pastLength + T)` elements to write into (avoids an
 *   allocation per step); the returned array is a view of its first `T * (pastLength + T)` elements.
 * @throws InvalidDraftTreeError when the tree is malformed; InvalidArgumentError for a bad
 *   `pastLength` or a too small `out`.
 *
 * @example
 * ```ts
 * import { treeAttentionMask } from '@msd/verifier';
 *
 * const tree = {
 *   tokens: Int32Array.of(5, 7, 9),
 *   parents: Int32Array.of(-1, 0, 0),
 *   depths: Int32Array.of(0, 1, 1),
 *   scores: Float32Array.of(0, -0.1, -0.5),
 * };
 * const mask = treeAttentionMask(tree, 4); // 3 x 7: node 2 sees the past, node 0 and itself
 * ```
 */
export function treeAttentionMask(tree: DraftTree, pastLength: number, out?: Float32Array): Float32Array {
  assertDraftTree(tree);
  assertCount(pastLength, 'pastLength');
  const size = tree.tokens.length;
  const width = pastLength + size;
  const needed = size * width;
  if (out) assertCapacity(out, needed, 'out');
  const mask = out ? out.subarray(0, needed) : new Float32Array(needed);
  for (let row = 0; row < size; row++) {
    const start = row * width;
    mask.fill(0, start, start + pastLength);
    mask.fill(blockedAttention, start + pastLength, start + width);
    for (let node = row; node >= 0; node = tree.parents[node]!) mask[start + pastLength + node] = 0;
  }
  return mask;
}

/**
 * Position ids of the tree nodes for the verification forward: `pastLength + depth` per node, so nodes
 * at the same depth share a position.
 *
 * @param tree - The draft tree.
 * @param pastLength - Number of positions already in the KV cache.
 * @param out - Optional buffer of at least `T` elements; the returned array is a view of its first `T`.
 * @throws InvalidDraftTreeError when the tree is malformed.
 *
 * @example
 * ```ts
 * import { treePositionIds } from '@msd/verifier';
 *
 * treePositionIds(tree, 4); // Int32Array [4, 5, 5] for a root with two children
 * ```
 */
export function treePositionIds(tree: DraftTree, pastLength: number, out?: Int32Array): Int32Array {
  assertDraftTree(tree);
  assertCount(pastLength, 'pastLength');
  const size = tree.tokens.length;
  if (out) assertCapacity(out, size, 'out');
  const positions = out ? out.subarray(0, size) : new Int32Array(size);
  for (let node = 0; node < size; node++) positions[node] = pastLength + tree.depths[node]!;
  return positions;
}
