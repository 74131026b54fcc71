import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@msd/core';
import { InvalidDraftTreeError, SeededRandom, acceptGreedy, acceptSampling, argmaxPerRow } from '@msd/verifier';
import { makeTree, sampleTree } from './helpers/trees';

const vocab = 20;

/** Random logits per node, reproducible. */
function randomLogits(nodes: number, seed: number): Float32Array {
  const random = new SeededRandom({ seed });
  return Float32Array.from({ length: nodes * vocab }, () => (random.nextFloat() - 0.5) * 8);
}

describe('acceptSampling', () => {
  it('equals greedy acceptance when top-k is 1', () => {
    const random = new SeededRandom({ seed: 5 });
    for (let trial = 0; trial < 50; trial++) {
      const logits = randomLogits(7, trial);
      const argmax = argmaxPerRow(logits, vocab);
      // draft tokens that match the target's argmax on some branches
      const tree = makeTree([-1, 0, 0, 1, 1, 3, 2], [0, argmax[0]!, (argmax[0]! + 1) % vocab, argmax[1]!, 3, trial % 2 ? argmax[3]! : 4, 5]);
      const sampled = acceptSampling(tree, logits, { temperature: 0.9, topK: 1 }, random);
      const greedy = acceptGreedy(tree, argmax);
      expect(Array.from(sampled.acceptedNodes)).toEqual(Array.from(greedy.acceptedNodes));
      expect(Array.from(sampled.acceptedTokens)).toEqual(Array.from(greedy.acceptedTokens));
      expect(sampled.bonusToken).toBe(greedy.bonusToken);
    }
  });

  it('never accepts a token the processed distribution rules out', () => {
    const logits = new Float32Array(3 * vocab);
    logits[0 * vocab + 4] = 10; // root: token 4 dominates; top-k 1 rules out everything else
    const tree = makeTree([-1, 0, 0], [0, 7, 8]);
    const random = new SeededRandom({ seed: 1 });
    for (let i = 0; i < 100; i++) {
      const result = acceptSampling(tree, logits, { temperature: 1, topK: 1 }, random);
      expect(Array.from(result.acceptedNodes)).toEqual([0]);
      expect(result.bonusToken).toBe(4);
    }
  });

  it('walks to a leaf and samples the bonus from the leaf distribution', () => {
    const logits = new Float32Array(3 * vocab).fill(-Infinity);
    logits[0 * vocab + 2] = 0; // root: certainly token 2 (node 1)
    logits[1 * vocab + 3] = 0; // node 1: certainly token 3 (node 2, a leaf)
    logits[2 * vocab + 9] = 1; // leaf: 9 or 11
    logits[2 * vocab + 11] = 1;
    const tree = makeTree([-1, 0, 1], [0, 2, 3]);
    const random = new SeededRandom({ seed: 2 });
    const bonuses = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const result = acceptSampling(tree, logits, { temperature: 0.5 }, random);
      expect(Array.from(result.acceptedTokens)).toEqual([2, 3]);
      bonuses.add(result.bonusToken);
    }
    expect([...bonuses].sort((a, b) => a - b)).toEqual([9, 11]);
  });

  it('is reproducible from a seed', () => {
    const logits = randomLogits(7, 99);
    const tree = sampleTree;
    const run = (seed: number): number[] => {
      const random = new SeededRandom({ seed });
      return Array.from(
        { length: 30 },
        () => acceptSampling({ ...tree, tokens: Int32Array.of(0, 1, 2, 3, 4, 5, 6) }, logits, { temperature: 1 }, random).bonusToken,
      );
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it('rejects bad input with typed errors', () => {
    const random = new SeededRandom({ seed: 0 });
    const tree = makeTree([-1, 0], [0, 1]);
    expect(() => acceptSampling(tree, new Float32Array(2 * vocab + 1), { temperature: 1 }, random)).toThrow(/one row per tree node/);
    expect(() => acceptSampling(tree, new Float32Array(0), { temperature: 1 }, random)).toThrow(InvalidArgumentError);
    expect(() => acceptSampling(makeTree([-1, 0], [0, vocab]), new Float32Array(2 * vocab), { temperature: 1 }, random)).toThrow(/outside the vocabulary/);
    expect(() => acceptSampling(tree, new Float32Array(2 * vocab), { temperature: 0 }, random)).toThrow(/temperature/);
    expect(() => acceptSampling(tree, new Float32Array(2 * vocab), { temperature: 1, topP: 0 }, random)).toThrow(/topP/);
    expect(() => acceptSampling(tree, new Float32Array(2 * vocab), { temperature: 1, topK: 0 }, random)).toThrow(/topK/);
    const broken = makeTree([-1, 0], [0, 1]);
    broken.parents[0] = 0;
    expect(() => acceptSampling(broken, new Float32Array(2 * vocab), { temperature: 1 }, random)).toThrow(InvalidDraftTreeError);
  });
});
