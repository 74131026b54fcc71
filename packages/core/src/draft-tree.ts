/**
 * A tree of drafted tokens, as the draft proposes it and the verifier checks it.
 *
 * Node 0 is the root: the last token already accepted (it is fed to the target with the tree, so the
 * target's prediction after it is checked too). Every other node is a drafted token whose parent
 * comes before it (`parents[i] < i`), so nodes are in topological order.
 */
export interface DraftTree {
  /** Token id per node; `tokens[0]` is the root token. */
  tokens: Int32Array;
  /** Parent node per node; -1 for the root. */
  parents: Int32Array;
  /** Depth per node; 0 for the root. */
  depths: Int32Array;
  /** Drafter's cumulative log-probability of the path to each node (0 at the root). */
  scores: Float32Array;
}

/**
 * Checks the structural invariants of a {@link DraftTree} and returns a description of the first
 * violation, or undefined when the tree is well formed.
 *
 * @example
 * ```ts
 * import { draftTreeProblem } from '@msd/core';
 *
 * const problem = draftTreeProblem(tree);
 * if (problem) throw new Error(problem);
 * ```
 */
export function draftTreeProblem(tree: DraftTree): string | undefined {
  const size = tree.tokens.length;
  if (size === 0) return 'the tree has no root';
  if (tree.parents.length !== size || tree.depths.length !== size || tree.scores.length !== size) {
    return 'tokens, parents, depths and scores must have one entry per node';
  }
  if (tree.parents[0] !== -1 || tree.depths[0] !== 0) return 'node 0 must be the root (parent -1, depth 0)';
  for (let node = 1; node < size; node++) {
    const parent = tree.parents[node]!;
    if (parent < 0 || parent >= node) return `node ${node} has parent ${parent}; parents must come first`;
    if (tree.depths[node] !== tree.depths[parent]! + 1) return `node ${node} has depth ${tree.depths[node]}, its parent ${tree.depths[parent]}`;
  }
  return undefined;
}
