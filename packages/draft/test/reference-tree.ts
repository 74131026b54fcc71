/**
 * A plain re-statement of EAGLE-2 drafting for tests: every node's outputs come from `fakeStep`
 * on its own path (committed entries + ancestors), with no batching, masks or caches.
 */
import type { DraftRoot, DraftTreeOptions } from '@msd/draft';
import { fakeStep, hashFloats, type Entry } from './fake-draft-runner';

export interface RefNode {
  path: number[];
  score: number;
  depth: number;
  parent: number;
  hidden: Float32Array;
  entry?: Entry;
}

function children(nodes: RefNode[], parent: number, hidden: Float32Array, logprobs: Float32Array, ids: Int32Array, topK: number): number[] {
  const base = parent < 0 ? { path: [], score: 0, depth: 0 } : nodes[parent]!;
  const columns = [...logprobs.keys()].sort((a, b) => logprobs[b]! - logprobs[a]! || a - b).slice(0, topK);
  return columns.map((column) => {
    nodes.push({ path: [...base.path, ids[column]!], score: base.score + logprobs[column]!, depth: base.depth + 1, parent, hidden });
    return nodes.length - 1;
  });
}

/** All generated nodes; with `prune` false every node is expanded (full top-k tree). */
export function referenceNodes(
  committed: readonly Entry[],
  root: DraftRoot,
  options: DraftTreeOptions,
  hiddenSize: number,
  runnerTopK: number,
  prune = true,
): RefNode[] {
  const nodes: RefNode[] = [];
  let frontier = children(nodes, -1, root.hidden, root.topkLogprobs, root.topkIds, options.branching);
  for (let round = 1; round < options.depth; round++) {
    const next: number[] = [];
    for (const index of frontier) {
      const node = nodes[index]!;
      node.entry = { token: node.path.at(-1)!, position: committed.length + node.depth - 1, hiddenKey: hashFloats(node.hidden), imageKey: 0 };
      const ancestors: Entry[] = [];
      for (let a = node.parent; a >= 0; a = nodes[a]!.parent) ancestors.unshift(nodes[a]!.entry!);
      const step = fakeStep([...committed, ...ancestors], node.entry, hiddenSize, runnerTopK);
      next.push(...children(nodes, index, step.hidden, step.logprobs, step.ids, options.branching));
    }
    frontier = prune ? next.sort((a, b) => nodes[b]!.score - nodes[a]!.score || a - b).slice(0, options.branching) : next;
  }
  return nodes;
}

/** path (tokens joined) -> float32 score of the best `totalTokens` nodes. */
export function referenceSelection(nodes: RefNode[], totalTokens: number): Map<string, number> {
  const ranked = [...nodes.keys()].sort((a, b) => nodes[b]!.score - nodes[a]!.score || nodes[a]!.depth - nodes[b]!.depth || a - b);
  return new Map(ranked.slice(0, totalTokens).map((index) => [nodes[index]!.path.join(','), Math.fround(nodes[index]!.score)]));
}
