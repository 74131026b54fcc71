import { InvalidArgumentError } from '@msd/core';
import type { DraftTree } from '@msd/core';
import { assertDraftTree } from './validate';

/**
 * The ancestors of `node`, root first, not including `node` itself (empty for the root).
 *
 * @throws InvalidDraftTreeError when the tree is malformed; InvalidArgumentError when `node` is not a
 *   node of the tree.
 *
 * @example
 * ```ts
 * import { ancestors } from '@msd/verifier';
 *
 * // root 0 -> 1 -> 3
 * ancestors(tree, 3); // [0, 1]
 * ```
 */
export function ancestors(tree: DraftTree, node: number): number[] {
  assertDraftTree(tree);
  if (!Number.isInteger(node) || node < 0 || node >= tree.tokens.length) {
    throw new InvalidArgumentError({
      argument: 'node',
      message: `node must be an integer in [0, ${tree.tokens.length - 1}], got ${node}.`,
    });
  }
  const result: number[] = [];
  for (let current = tree.parents[node]!; current >= 0; current = tree.parents[current]!) result.push(current);
  return result.reverse();
}

/**
 * The children of every node, in tree order: `children[i]` lists the nodes whose parent is `i`.
 *
 * @throws InvalidDraftTreeError when the tree is malformed.
 *
 * @example
 * ```ts
 * import { treeChildren } from '@msd/verifier';
 *
 * treeChildren(tree)[0]; // the depth-1 candidates, e.g. [1, 2]
 * ```
 */
export function treeChildren(tree: DraftTree): number[][] {
  assertDraftTree(tree);
  const children: number[][] = Array.from({ length: tree.tokens.length }, () => []);
  for (let node = 1; node < tree.tokens.length; node++) children[tree.parents[node]!]!.push(node);
  return children;
}

/**
 * Every root-to-leaf path of the tree, each a list of node indices starting at 0, ordered by leaf index.
 * A tree that is only a root has the single path `[0]`.
 *
 * @throws InvalidDraftTreeError when the tree is malformed.
 *
 * @example
 * ```ts
 * import { treePaths } from '@msd/verifier';
 *
 * // root 0 with children 1 and 2; node 3 is a child of 1
 * treePaths(tree); // [[0, 2], [0, 1, 3]]
 * ```
 */
export function treePaths(tree: DraftTree): number[][] {
  const children = treeChildren(tree);
  const paths: number[][] = [];
  for (let node = 0; node < children.length; node++) {
    if (children[node]!.length > 0) continue;
    const path: number[] = [node];
    for (let current = tree.parents[node]!; current >= 0; current = tree.parents[current]!) path.push(current);
    paths.push(path.reverse());
  }
  return paths;
}
