import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@msd/core';
import { acceptGreedy, argmaxPerRow } from '@msd/verifier';
import { makeTree, sampleTree } from './helpers/trees';

describe('argmaxPerRow', () => {
  it('takes the first maximum per row', () => {
    expect(Array.from(argmaxPerRow(Float32Array.of(0, 2, 2, 5, 0, -Infinity), 3))).toEqual([1, 0]);
    const out = new Int32Array(4);
    expect(argmaxPerRow(Float32Array.of(1, 0, 0, 1), 2, out).length).toBe(2);
    expect(() => argmaxPerRow(new Float32Array(5), 2)).toThrow(InvalidArgumentError);
  });
});

describe('acceptGreedy', () => {
  // Tokens: 0:10, 1:11, 2:12, 3:13, 4:14, 5:15, 6:16 (see helpers/trees.ts)
  it('accepts the longest path that matches the target argmax', () => {
    // root predicts 11 (node 1), node 1 predicts 13 (node 3), node 3 predicts 15 (node 5), node 5 predicts 99
    const argmax = Int32Array.of(11, 13, 16, 15, 0, 99, 0);
    const result = acceptGreedy(sampleTree, argmax);
    expect(Array.from(result.acceptedNodes)).toEqual([0, 1, 3, 5]);
    expect(Array.from(result.acceptedTokens)).toEqual([11, 13, 15]);
    expect(result.bonusToken).toBe(99);
  });

  it('takes the other branch and stops at a mismatch', () => {
    // root predicts 12 (node 2); node 2 predicts 7, not 16
    const result = acceptGreedy(sampleTree, Int32Array.of(12, 13, 7, 0, 0, 0, 0));
    expect(Array.from(result.acceptedNodes)).toEqual([0, 2]);
    expect(Array.from(result.acceptedTokens)).toEqual([12]);
    expect(result.bonusToken).toBe(7);
  });

  it('yields only the bonus token when nothing matches', () => {
    const result = acceptGreedy(sampleTree, Int32Array.of(42, 13, 16, 15, 0, 0, 0));
    expect(Array.from(result.acceptedNodes)).toEqual([0]);
    expect(result.acceptedTokens.length).toBe(0);
    expect(result.bonusToken).toBe(42);
    expect(acceptGreedy(makeTree([-1], [5]), Int32Array.of(8)).bonusToken).toBe(8);
  });

  it('prefers the longer of two matching duplicate branches', () => {
    // root has two children with the same token 4; only the second one's subtree continues
    const tree = makeTree([-1, 0, 0, 2], [1, 4, 4, 6]);
    const result = acceptGreedy(tree, Int32Array.of(4, 9, 6, 3));
    expect(Array.from(result.acceptedNodes)).toEqual([0, 2, 3]);
    expect(result.bonusToken).toBe(3);
  });

  it('checks the argmax length', () => {
    expect(() => acceptGreedy(sampleTree, new Int32Array(3))).toThrow(/targetArgmax/);
  });
});
