import { InvalidArgumentError, type DraftTree } from '@msd/core';
import { blockedAttention } from '@msd/core';
import { checkStepOutput } from './check-step-output';
import type { DraftRoot } from './draft-root';
import type { DraftRunner, DraftStepInput } from './draft-runner';
import { checkDraftTreeOptions, type DraftTreeOptions } from './draft-tree-options';

/**
 * Counters of one {@link draftTree} call.
 *
 * @example
 * ```ts
 * const { stats } = await draftTree(runner, cache, root, options);
 * console.log(stats.draftCalls, stats.nodesPerDepth);
 * ```
 */
export interface DraftTreeStats {
  /**
   * Number of `runner.run` calls made (at most `depth - 1`; fewer when no candidate is left).
   *
   * @example
   * ```ts
   * stats.draftCalls; // 4 for depth 5
   * ```
   */
  draftCalls: number;
  /**
   * Rows of each draft call: the frontier size of each round, in order.
   *
   * @example
   * ```ts
   * stats.frontierSizes; // [10, 10, 10, 10]
   * ```
   */
  frontierSizes: number[];
  /**
   * Candidates generated per depth, index = depth (index 0 counts the root: 1).
   *
   * @example
   * ```ts
   * stats.generatedPerDepth; // [1, 10, 100, 100, 100, 100]
   * ```
   */
  generatedPerDepth: number[];
  /**
   * Nodes of the returned tree per depth, index = depth (index 0 counts the root: 1).
   *
   * @example
   * ```ts
   * stats.nodesPerDepth; // [1, 8, 14, 12, 9, 5]
   * ```
   */
  nodesPerDepth: number[];
}

/**
 * The result of {@link draftTree}.
 *
 * @example
 * ```ts
 * const { tree, stats } = await draftTree(runner, cache, root, options);
 * ```
 */
export interface DraftTreeResult {
  /**
   * The drafted tree: node 0 is the root token, then at most `totalTokens` drafted nodes ordered by
   * depth, then by score (best first).
   *
   * @example
   * ```ts
   * tree.tokens.length; // <= totalTokens + 1
   * ```
   */
  tree: DraftTree;
  /**
   * What the drafting did.
   *
   * @example
   * ```ts
   * stats.draftCalls;
   * ```
   */
  stats: DraftTreeStats;
}

/** A generated candidate node. `parent` is a candidate index, or -1 for the root. */
interface Candidate {
  token: number;
  parent: number;
  depth: number;
  score: number;
  /** The draft's predicted feature of the parent's position: this node's `hidden_states` row. */
  inputHidden: Float32Array;
  /** Cache index of this node's own draft pair, once it has been run as a frontier node. */
  slot: number;
}

/** Column indices of the `count` best values of `values[from..from+width)`, best first, ties by column. */
function bestColumns(values: Float32Array, from: number, width: number, count: number): number[] {
  const columns = Array.from({ length: width }, (_, column) => column);
  columns.sort((a, b) => values[from + b]! - values[from + a]! || a - b);
  return columns.slice(0, count);
}

/** Candidate ranking: higher score first, then shallower, then generated earlier. */
function compareCandidates(candidates: Candidate[], a: number, b: number): number {
  const x = candidates[a]!;
  const y = candidates[b]!;
  return y.score - x.score || x.depth - y.depth || a - b;
}

/** Adds the `topK` best children of one expanded node; drops candidates of zero (or NaN) probability. */
function propose(
  candidates: Candidate[],
  parent: number,
  parentScore: number,
  depth: number,
  hidden: Float32Array,
  logprobs: Float32Array,
  ids: Int32Array,
  from: number,
  width: number,
  topK: number,
): number[] {
  const added: number[] = [];
  for (const column of bestColumns(logprobs, from, width, topK)) {
    const logprob = logprobs[from + column]!;
    if (!(logprob > Number.NEGATIVE_INFINITY)) continue;
    added.push(candidates.length);
    candidates.push({ token: ids[from + column]!, parent, depth, score: parentScore + logprob, inputHidden: hidden, slot: -1 });
  }
  return added;
}

/** The draft step of one round: frontier nodes as rows, each seeing the committed cache, its ancestors and itself. */
function roundInput(candidates: Candidate[], frontier: number[], committed: number, past: number, hiddenSize: number): DraftStepInput {
  const rows = frontier.length;
  const width = past + rows;
  const inputIds = new Int32Array(rows);
  const hiddenStates = new Float32Array(rows * hiddenSize);
  const positionIds = new Int32Array(rows);
  const attentionMask = new Float32Array(rows * width).fill(blockedAttention);
  frontier.forEach((index, row) => {
    const node = candidates[index]!;
    inputIds[row] = node.token;
    hiddenStates.set(node.inputHidden, row * hiddenSize);
    positionIds[row] = committed + node.depth - 1;
    const base = row * width;
    attentionMask.fill(0, base, base + committed);
    for (let ancestor = node.parent; ancestor >= 0; ancestor = candidates[ancestor]!.parent) {
      attentionMask[base + candidates[ancestor]!.slot] = 0;
    }
    attentionMask[base + past + row] = 0;
    node.slot = past + row;
  });
  return { inputIds, hiddenStates, imageEmbeds: undefined, imageMask: undefined, positionIds, attentionMask };
}

/** The `totalTokens` best candidates, ancestor-closed, in topological order (depth, then rank). */
function selectNodes(candidates: Candidate[], totalTokens: number): number[] {
  const ranked = candidates.map((_, index) => index).sort((a, b) => compareCandidates(candidates, a, b));
  const chosen = new Set<number>();
  for (const index of ranked) {
    if (chosen.size >= totalTokens) break;
    const parent = candidates[index]!.parent;
    // With log-probabilities <= 0 a parent always ranks before its children; the check keeps the
    // selection ancestor-closed even for a runner that returns positive values.
    if (parent < 0 || chosen.has(parent)) chosen.add(index);
  }
  return [...chosen].sort((a, b) => candidates[a]!.depth - candidates[b]!.depth || compareCandidates(candidates, a, b));
}

function buildTree(rootToken: number, candidates: Candidate[], selected: number[]): DraftTree {
  const size = selected.length + 1;
  const tree: DraftTree = {
    tokens: new Int32Array(size),
    parents: new Int32Array(size),
    depths: new Int32Array(size),
    scores: new Float32Array(size),
  };
  tree.tokens[0] = rootToken;
  tree.parents[0] = -1;
  const nodeOf = new Map<number, number>();
  selected.forEach((index, position) => {
    const node = position + 1;
    const candidate = candidates[index]!;
    nodeOf.set(index, node);
    tree.tokens[node] = candidate.token;
    tree.parents[node] = candidate.parent < 0 ? 0 : nodeOf.get(candidate.parent)!;
    tree.depths[node] = candidate.depth;
    tree.scores[node] = candidate.score;
  });
  return tree;
}

function checkRoot(root: DraftRoot, hiddenSize: number, topK: number): void {
  if (root.hidden.length !== hiddenSize || root.topkLogprobs.length !== topK || root.topkIds.length !== topK) {
    throw new InvalidArgumentError({
      argument: 'root',
      message: `root must carry ${hiddenSize} hidden values and ${topK} candidates; got ${root.hidden.length}, ${root.topkLogprobs.length} and ${root.topkIds.length}.`,
      hint: 'Build it with draftRootFromOutput from the last draft step.',
    });
  }
}

/**
 * Drafts an EAGLE-2 dynamic token tree after the committed draft cache (length `n`, holding the
 * pairs of positions `0..n-1`).
 *
 * 1. The root's best `branching` candidates become depth-1 nodes, score = their log-probability; they
 *    form the frontier.
 * 2. For each depth `r = 1..depth-1`, one `runner.run` over all frontier nodes: row = node, input
 *    token = the node's token, hidden = its parent's predicted feature (the root's `hidden` for
 *    depth 1), position `n + r - 1`; each row sees the committed cache, the cache entries of its own
 *    ancestors (appended by earlier rounds) and itself, never another branch. Each node proposes its
 *    best `branching` children with score = node score + child log-probability; the `branching` best children
 *    of the round (ties: shallower, then earlier) form the next frontier.
 * 3. The `totalTokens` best-scoring nodes among all generated ones are kept, ancestor-closed (a
 *    parent's score is never below its child's and ties rank the parent first), ordered by depth
 *    then score into a `DraftTree` (from `@msd/core`) whose node 0 is the root token.
 *
 * Nodes whose token is in `options.stopTokenIds` stay in the tree but are never expanded (nor kept in
 * a frontier); so do nodes whose score is below `log(options.minConfidence)` (adaptive depth: the
 * rounds stop early, with fewer draft calls, once no frontier node is confident enough). Candidates with log-probability -Infinity or NaN are dropped. Every cache produced by the rounds
 * is disposed before returning (also on error); `cache` itself is left untouched.
 *
 * @throws InvalidArgumentError for bad options (see {@link checkDraftTreeOptions}) or a root of the
 *   wrong size; DraftOutputError when the runner returns outputs of the wrong size.
 *
 * @example
 * ```ts
 * import { draftRootFromOutput, draftTree } from '@msd/draft';
 *
 * const root = draftRootFromOutput(runner, prefillOutput, firstToken);
 * const { tree, stats } = await draftTree(runner, committedCache, root, { depth: 5, branching: 10, totalTokens: 48 });
 * // verify tree with the target, then commit the accepted path with updateDraftInputs
 * ```
 */
export async function draftTree<Cache>(runner: DraftRunner<Cache>, cache: Cache, root: DraftRoot, options: DraftTreeOptions): Promise<DraftTreeResult> {
  checkDraftTreeOptions(options, runner.candidatesPerRow);
  const { depth, branching, totalTokens } = options;
  const { hiddenSize } = runner;
  checkRoot(root, hiddenSize, runner.candidatesPerRow);

  const committed = runner.cacheLength(cache);
  const candidates: Candidate[] = [];
  const stops = new Set(options.stopTokenIds ?? []);
  // A stop token (EOS) ends the generation: it is a leaf, never expanded. Neither is a node whose path
  // the draft itself doubts (adaptive depth): its children would mostly be drafted, verified and rejected.
  const minScore = options.minConfidence ? Math.log(options.minConfidence) : Number.NEGATIVE_INFINITY;
  const expandable = (index: number) => !stops.has(candidates[index]!.token) && candidates[index]!.score >= minScore;
  const firstNodes = propose(candidates, -1, 0, 1, root.hidden, root.topkLogprobs, root.topkIds, 0, runner.candidatesPerRow, branching);
  let frontier = firstNodes.filter(expandable);
  const stats: DraftTreeStats = { draftCalls: 0, frontierSizes: [], generatedPerDepth: [1, firstNodes.length], nodesPerDepth: [] };

  let current = cache;
  try {
    for (let round = 1; round < depth && frontier.length > 0; round++) {
      const past = runner.cacheLength(current);
      const input = roundInput(candidates, frontier, committed, past, hiddenSize);
      const { output, cache: next } = await runner.run(current, input);
      if (current !== cache) runner.disposeCache(current);
      current = next;
      stats.draftCalls++;
      stats.frontierSizes.push(frontier.length);
      checkStepOutput(runner, output, next, frontier.length, past + frontier.length);

      const children: number[] = [];
      frontier.forEach((index, row) => {
        const hidden = output.hidden.subarray(row * hiddenSize, (row + 1) * hiddenSize);
        const score = candidates[index]!.score;
        children.push(
          ...propose(
            candidates,
            index,
            score,
            round + 1,
            hidden,
            output.topkLogprobs,
            output.topkIds,
            row * runner.candidatesPerRow,
            runner.candidatesPerRow,
            branching,
          ),
        );
      });
      stats.generatedPerDepth.push(children.length);
      frontier = children
        .filter(expandable)
        .sort((a, b) => compareCandidates(candidates, a, b))
        .slice(0, branching);
    }
  } finally {
    if (current !== cache) runner.disposeCache(current);
  }

  const tree = buildTree(root.token, candidates, selectNodes(candidates, totalTokens));
  for (const nodeDepth of tree.depths) stats.nodesPerDepth[nodeDepth] = (stats.nodesPerDepth[nodeDepth] ?? 0) + 1;
  return { tree, stats };
}
