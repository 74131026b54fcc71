import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, draftTreeProblem, type DraftTree } from '@msd/core';
import {
  DraftOutputError,
  draftRootFromOutput,
  draftTree,
  prefillDraftInputs,
  type DraftTreeOptions,
  type DraftRunner,
  type DraftStepOutput,
} from '@msd/draft';
import { FakeDraftRunner } from './fake-draft-runner';
import { makeTags, rows } from './helpers';
import { referenceNodes, referenceSelection } from './reference-tree';

const ROOT_TOKEN = 33;

/** A runner with a committed cache from a prefill over a prompt with one image. */
async function setup(hiddenSize = 4, topK = 5) {
  const runner = new FakeDraftRunner(hiddenSize, topK);
  const spans = [{ start: 2, length: 3, imageIndex: 0 }];
  const tags = makeTags(7, spans);
  const ids = [1, 2, 500, 500, 500, 6, 7, ROOT_TOKEN];
  const input = prefillDraftInputs({ ids, tags, targetHidden: rows(7, hiddenSize, 0.125), imageFeatures: rows(3, hiddenSize, 0.5), hiddenSize });
  const { output, cache } = await runner.run(runner.emptyCache(), input);
  const root = draftRootFromOutput(runner, output, ROOT_TOKEN);
  runner.calls.length = 0;
  runner.created.length = 0;
  return { runner, cache, root };
}

function paths(tree: DraftTree): Map<string, number> {
  const result = new Map<string, number>();
  const pathOf: number[][] = [[]];
  for (let node = 1; node < tree.tokens.length; node++) {
    pathOf[node] = [...pathOf[tree.parents[node]!]!, tree.tokens[node]!];
    result.set(pathOf[node]!.join(','), tree.scores[node]!);
  }
  return result;
}

function expectWellFormed(tree: DraftTree, options: DraftTreeOptions): void {
  expect(draftTreeProblem(tree)).toBeUndefined();
  expect(tree.tokens[0]).toBe(ROOT_TOKEN);
  expect(tree.scores[0]).toBe(0);
  expect(tree.tokens.length - 1).toBeLessThanOrEqual(options.totalTokens);
  for (let node = 1; node < tree.tokens.length; node++) {
    expect(tree.depths[node]).toBeLessThanOrEqual(options.depth);
    // Scores never rise along a path (ancestor-closed selection keeps the best nodes).
    expect(tree.scores[node]).toBeLessThanOrEqual(tree.scores[tree.parents[node]!]!);
    // Ordered by depth, then score.
    if (node > 1) {
      const previous = node - 1;
      expect(tree.depths[previous]! < tree.depths[node]! || tree.scores[previous]! >= tree.scores[node]!).toBe(true);
      expect(tree.depths[previous]).toBeLessThanOrEqual(tree.depths[node]!);
    }
  }
}

/**
 * A runner (hidden size 2, top-k 2) whose every row proposes the same two candidates, best first;
 * its cache is just its length. Each call's row count is pushed to `calls`.
 */
function sameCandidatesRunner(candidates: { ids: [number, number]; logprobs: [number, number] }, calls: number[] = []): DraftRunner<number> {
  return {
    hiddenSize: 2,
    candidatesPerRow: 2,
    cacheLength: (cache) => cache,
    disposeCache: () => {},
    emptyCache: () => 0,
    run: async (cache, input) => {
      const count = input.inputIds.length;
      calls.push(count);
      const output: DraftStepOutput = {
        hidden: new Float32Array(count * 2),
        topkLogprobs: Float32Array.from({ length: count * 2 }, (_, i) => candidates.logprobs[i % 2]!),
        topkIds: Int32Array.from({ length: count * 2 }, (_, i) => candidates.ids[i % 2]!),
      };
      return { output, cache: cache + count };
    },
  };
}

describe('draftTree', () => {
  it('matches a brute-force full expansion when nothing is pruned (depth 2)', async () => {
    const { runner, cache, root } = await setup();
    const options = { depth: 2, branching: 3, totalTokens: 7 };
    const { tree, stats } = await draftTree(runner, cache, root, options);
    expectWellFormed(tree, options);
    const all = referenceNodes(cache.entries, root, options, runner.hiddenSize, runner.candidatesPerRow, false);
    expect(all.length).toBe(3 + 9);
    expect(paths(tree)).toEqual(referenceSelection(all, 7));
    expect(stats.draftCalls).toBe(1);
    expect(stats.frontierSizes).toEqual([3]);
    expect(stats.generatedPerDepth).toEqual([1, 3, 9]);
    expect(stats.nodesPerDepth.reduce((a, b) => a + b)).toBe(8);
  });

  for (const options of [
    { depth: 4, branching: 3, totalTokens: 10 },
    { depth: 5, branching: 5, totalTokens: 20 },
    { depth: 3, branching: 2, totalTokens: 100 },
    { depth: 6, branching: 1, totalTokens: 4 },
  ]) {
    it(`matches the per-path reference with frontier pruning: ${JSON.stringify(options)}`, async () => {
      const { runner, cache, root } = await setup();
      const { tree, stats } = await draftTree(runner, cache, root, options);
      expectWellFormed(tree, options);
      const nodes = referenceNodes(cache.entries, root, options, runner.hiddenSize, runner.candidatesPerRow);
      const expected = referenceSelection(nodes, options.totalTokens);
      expect(paths(tree)).toEqual(expected);
      expect(tree.tokens.length).toBe(Math.min(options.totalTokens, nodes.length) + 1);
      // Every node left out scores no better than the worst node kept.
      const worst = Math.min(...tree.scores);
      for (const node of nodes) if (!expected.has(node.path.join(','))) expect(Math.fround(node.score)).toBeLessThanOrEqual(worst);
      expect(stats.draftCalls).toBe(options.depth - 1);
      expect(stats.frontierSizes).toEqual(new Array(options.depth - 1).fill(options.branching));
      expect(stats.nodesPerDepth[0]).toBe(1);
    });
  }

  it('gives each frontier node its own position, its parent hidden, and a mask over committed + ancestors + itself only', async () => {
    const { runner, cache, root } = await setup();
    const n = cache.entries.length;
    await draftTree(runner, cache, root, { depth: 5, branching: 4, totalTokens: 30 });
    expect(runner.calls.length).toBe(4);
    runner.calls.forEach((call, round) => {
      const rowsCount = call.input.inputIds.length;
      const width = call.past + rowsCount;
      expect(call.past).toBe(n + 4 * round);
      expect(Array.from(call.input.positionIds)).toEqual(new Array(rowsCount).fill(n + round));
      expect(call.input.imageEmbeds).toBeUndefined();
      // Each call continues from the previous round's cache.
      expect(call.cacheIn).toBe(round === 0 ? cache.id : runner.calls[round - 1]!.cacheOut);
      const entries = runner.created[round]!.entries;
      const visibleOf = runner.created[round]!.visible;
      for (let row = 0; row < rowsCount; row++) {
        const visible = visibleOf[call.past + row]!;
        // All committed positions, then exactly one tree entry per earlier depth, then itself.
        expect(visible.slice(0, n)).toEqual(Array.from({ length: n }, (_, i) => i));
        const tree = visible.slice(n, -1);
        expect(tree.map((column) => entries[column]!.position)).toEqual(Array.from({ length: round }, (_, r) => n + r));
        // The visible tree entries form one chain: each one saw exactly the ones before it (no sibling branch).
        tree.forEach((column, k) => expect(visibleOf[column]).toEqual([...visible.slice(0, n + k), column]));
        if (round === 0) expect(Array.from(call.input.hiddenStates.subarray(row * 4, row * 4 + 4))).toEqual(Array.from(root.hidden));
      }
      expect(width).toBe(call.input.attentionMask.length / rowsCount);
    });
  });

  it('releases every round cache exactly once and never the committed cache', async () => {
    const { runner, cache, root } = await setup();
    await draftTree(runner, cache, root, { depth: 5, branching: 3, totalTokens: 12 });
    expect(runner.created.length).toBe(4);
    for (const created of runner.created) expect(runner.releases.get(created.id)).toBe(1);
    expect(runner.releases.has(cache.id)).toBe(false);
    expect(runner.cacheLength(cache)).toBe(7);
  });

  it('releases the round caches when the runner fails mid-tree', async () => {
    const { runner, cache, root } = await setup();
    runner.failOnCall = 2;
    await expect(draftTree(runner, cache, root, { depth: 5, branching: 3, totalTokens: 12 })).rejects.toThrow('fake failure');
    expect(runner.created.length).toBe(2);
    for (const created of runner.created) expect(runner.releases.get(created.id)).toBe(1);
    expect(runner.releases.has(cache.id)).toBe(false);
  });

  it('makes no draft call for depth 1 and keeps the root candidates in score order', async () => {
    const { runner, cache, root } = await setup();
    const { tree, stats } = await draftTree(runner, cache, root, { depth: 1, branching: 5, totalTokens: 3 });
    expect(stats.draftCalls).toBe(0);
    expect(Array.from(tree.tokens)).toEqual([ROOT_TOKEN, ...Array.from(root.topkIds.subarray(0, 3))]);
    expect(Array.from(tree.parents)).toEqual([-1, 0, 0, 0]);
    expect(stats.nodesPerDepth).toEqual([1, 3]);
  });

  it('does not assume sorted candidates and drops -Infinity ones', async () => {
    const runner = new FakeDraftRunner(2, 4);
    const root = { token: 1, hidden: new Float32Array(2), topkLogprobs: Float32Array.of(-3, -Infinity, -1, -2), topkIds: Int32Array.of(10, 11, 12, 13) };
    const { tree } = await draftTree(runner, runner.emptyCache(), root, { depth: 1, branching: 4, totalTokens: 10 });
    expect(Array.from(tree.tokens)).toEqual([1, 12, 13, 10]);
    expect(Array.from(tree.scores)).toEqual([0, -1, -2, -3]);
  });

  it('never expands a stop token: a chain ends at EOS without further draft calls', async () => {
    // Every row proposes token 2 (EOS) first, then 9.
    const calls: number[] = [];
    const eos = sameCandidatesRunner({ ids: [2, 9], logprobs: [-0.1, -3] }, calls);
    const root = { token: 1, hidden: new Float32Array(2), topkLogprobs: Float32Array.of(-0.2, -2), topkIds: Int32Array.of(5, 6) };
    // Chain: 5 is expanded, its best child is EOS, which ends the chain after one call.
    const chain = await draftTree(eos, 0, root, { depth: 5, branching: 1, totalTokens: 5, stopTokenIds: [2] });
    expect(Array.from(chain.tree.tokens)).toEqual([1, 5, 2]);
    expect(chain.stats.draftCalls).toBe(1);
    expect(calls).toEqual([1]);
    // Without stop tokens the chain runs through EOS to full depth.
    const through = await draftTree(eos, 0, root, { depth: 5, branching: 1, totalTokens: 5 });
    expect(Array.from(through.tree.tokens)).toEqual([1, 5, 2, 2, 2, 2]);
    expect(through.stats.draftCalls).toBe(4);
    // Wider trees keep EOS as a leaf and expand the best other children.
    calls.length = 0;
    const wide = await draftTree(eos, 0, root, { depth: 3, branching: 2, totalTokens: 8, stopTokenIds: [2] });
    expect(draftTreeProblem(wide.tree)).toBeUndefined();
    for (let node = 1; node < wide.tree.tokens.length; node++) expect(wide.tree.tokens[wide.tree.parents[node]!]).not.toBe(2);
    expect(calls).toEqual([2, 2]);
    expect(Array.from(wide.tree.tokens).filter((token) => token === 2).length).toBeGreaterThan(0);
  });

  it('adaptive depth: expands a path only while its cumulative probability is at least minConfidence', async () => {
    // Every row's best child has probability 0.8 (log -0.223), so a chain's path probability is 0.8^d.
    const calls: number[] = [];
    const sure = sameCandidatesRunner({ ids: [7, 8], logprobs: [Math.log(0.8), Math.log(0.1)] }, calls);
    const root = { token: 1, hidden: new Float32Array(2), topkLogprobs: Float32Array.of(Math.log(0.8), Math.log(0.1)), topkIds: Int32Array.of(7, 8) };
    // 0.8^1..0.8^5 = 0.8, 0.64, 0.51, 0.41, 0.33: nodes down to depth 4 are expanded at 0.4, so the chain stops at depth 5.
    const adaptive = await draftTree(sure, 0, root, { depth: 12, branching: 1, totalTokens: 12, minConfidence: 0.4 });
    expect(Array.from(adaptive.tree.depths)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(adaptive.stats.draftCalls).toBe(4);
    expect(calls).toEqual([1, 1, 1, 1]);
    // A confident draft goes deeper with a lower threshold; 0 always drafts to the full depth.
    expect((await draftTree(sure, 0, root, { depth: 12, branching: 1, totalTokens: 12, minConfidence: 0.1 })).tree.tokens.length).toBe(12);
    expect((await draftTree(sure, 0, root, { depth: 12, branching: 1, totalTokens: 12, minConfidence: 0 })).tree.tokens.length).toBe(13);
    // A doubtful root: no depth-1 node reaches the threshold, so no draft call at all.
    calls.length = 0;
    const doubtful = { ...root, topkLogprobs: Float32Array.of(Math.log(0.3), Math.log(0.2)) };
    const short = await draftTree(sure, 0, doubtful, { depth: 12, branching: 2, totalTokens: 12, minConfidence: 0.4 });
    expect(Array.from(short.tree.depths)).toEqual([0, 1, 1]);
    expect(calls).toEqual([]);
  });

  it('rejects a minConfidence outside [0, 1) naming it', async () => {
    const { runner, cache, root } = await setup();
    for (const minConfidence of [1, -0.1, Number.NaN, '0.3' as unknown as number]) {
      const error = await draftTree(runner, cache, root, { depth: 3, branching: 2, totalTokens: 5, minConfidence }).catch((caught: unknown) => caught);
      expect(InvalidArgumentError.isInstance(error), String(minConfidence)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe('minConfidence');
    }
  });

  it('keeps the selection ancestor-closed when a child ties with its parent', async () => {
    // Every node's best child has log-probability 0, so a whole chain ties with the root's best child.
    const fixed = sameCandidatesRunner({ ids: [7, 8], logprobs: [0, -5] });
    const root = { token: 1, hidden: new Float32Array(2), topkLogprobs: Float32Array.of(0, -1), topkIds: Int32Array.of(7, 8) };
    const { tree } = await draftTree(fixed, 0, root, { depth: 4, branching: 2, totalTokens: 3 });
    expect(draftTreeProblem(tree)).toBeUndefined();
    expect(Array.from(tree.depths)).toEqual([0, 1, 2, 3]);
    expect(Array.from(tree.scores)).toEqual([0, 0, 0, 0]);
  });

  it('rejects bad options, a mis-sized root and mis-sized runner outputs with typed errors', async () => {
    const { runner, cache, root } = await setup();
    const cases: [Partial<DraftTreeOptions>, string][] = [
      [{ depth: 0 }, 'depth'],
      [{ depth: 1.5 }, 'depth'],
      [{ branching: 0 }, 'branching'],
      [{ branching: 6 }, 'branching'],
      [{ totalTokens: 0 }, 'totalTokens'],
      [{ totalTokens: Number.NaN }, 'totalTokens'],
      [{ stopTokenIds: [2, -1] }, 'stopTokenIds'],
      [{ stopTokenIds: 2 as unknown as number[] }, 'stopTokenIds'],
    ];
    for (const [override, argument] of cases) {
      const error = await draftTree(runner, cache, root, { depth: 3, branching: 2, totalTokens: 5, ...override }).catch((caught: unknown) => caught);
      expect(InvalidArgumentError.isInstance(error), JSON.stringify(override)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
    const shortRoot = { ...root, hidden: root.hidden.subarray(1) };
    await expect(draftTree(runner, cache, shortRoot, { depth: 2, branching: 2, totalTokens: 5 })).rejects.toSatisfy(InvalidArgumentError.isInstance);
    expect(runner.calls.length).toBe(0);

    const broken = new FakeDraftRunner(4, 5);
    const original = broken.run.bind(broken);
    broken.run = async (c, input) => {
      const result = await original(c, input);
      return { ...result, output: { ...result.output, topkIds: result.output.topkIds.subarray(1) } };
    };
    const error = await draftTree(broken, cache, root, { depth: 3, branching: 2, totalTokens: 5 }).catch((caught: unknown) => caught);
    expect(DraftOutputError.isInstance(error)).toBe(true);
    expect((error as DraftOutputError).output).toBe('topkIds');
    expect(broken.releases.get(broken.created[0]!.id)).toBe(1);
  });

  it('draftRootFromOutput copies a row and rejects a missing one', () => {
    const output: DraftStepOutput = { hidden: rows(2, 3), topkLogprobs: Float32Array.of(-1, -2, -3, -4), topkIds: Int32Array.of(1, 2, 3, 4) };
    const root = draftRootFromOutput({ hiddenSize: 3, candidatesPerRow: 2 }, output, 9);
    expect(root).toEqual({ token: 9, hidden: Float32Array.of(100, 101, 102), topkLogprobs: Float32Array.of(-3, -4), topkIds: Int32Array.of(3, 4) });
    expect(draftRootFromOutput({ hiddenSize: 3, candidatesPerRow: 2 }, output, 9, 0).topkIds).toEqual(Int32Array.of(1, 2));
    expect(() => draftRootFromOutput({ hiddenSize: 3, candidatesPerRow: 2 }, output, 9, 2)).toThrow(InvalidArgumentError);
  });

  it("draftRootFromOutput takes a topkRows: 'last' step's single candidate row for the last hidden row", () => {
    const output: DraftStepOutput = { hidden: rows(3, 3), topkLogprobs: Float32Array.of(-0.5, -1.5), topkIds: Int32Array.of(7, 8) };
    const root = draftRootFromOutput({ hiddenSize: 3, candidatesPerRow: 2 }, output, 9);
    expect(root).toEqual({ token: 9, hidden: Float32Array.of(200, 201, 202), topkLogprobs: Float32Array.of(-0.5, -1.5), topkIds: Int32Array.of(7, 8) });
    // Earlier rows have no candidates in such an output.
    expect(() => draftRootFromOutput({ hiddenSize: 3, candidatesPerRow: 2 }, output, 9, 0)).toThrow(InvalidArgumentError);
  });
});
