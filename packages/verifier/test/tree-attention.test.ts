import { describe, expect, it } from 'vitest';
import { blockedAttention, InvalidArgumentError, MsdError } from '@msd/core';
import { InvalidDraftTreeError, ancestors, treeAttentionMask, treeChildren, treePaths, treePositionIds } from '@msd/verifier';
import { makeTree, sampleTree } from './helpers/trees';

describe('treeAttentionMask', () => {
  it('lets every node see the past, its ancestors and itself', () => {
    const past = 3;
    const size = sampleTree.tokens.length;
    const mask = treeAttentionMask(sampleTree, past);
    expect(mask).toBeInstanceOf(Float32Array);
    expect(mask.length).toBe(size * (past + size));
    const visible = (row: number): number[] => {
      const seen: number[] = [];
      for (let column = 0; column < past + size; column++) if (mask[row * (past + size) + column] === 0) seen.push(column);
      return seen;
    };
    expect(visible(0)).toEqual([0, 1, 2, 3]);
    expect(visible(5)).toEqual([0, 1, 2, 3, 4, 6, 8]); // past, nodes 0, 1, 3, 5
    expect(visible(6)).toEqual([0, 1, 2, 3, 5, 9]); // past, nodes 0, 2, 6
    for (const value of mask) expect(value === 0 || value === blockedAttention).toBe(true);
    expect(Math.fround(blockedAttention)).toBe(blockedAttention);
  });

  it('is causal for a chain and works without a past', () => {
    const chain = makeTree([-1, 0, 1], [1, 2, 3]);
    expect(Array.from(treeAttentionMask(chain, 0), (v) => (v === 0 ? 1 : 0))).toEqual([1, 0, 0, 1, 1, 0, 1, 1, 1]);
  });

  it('writes into a caller buffer, overwriting what was there', () => {
    const buffer = new Float32Array(200).fill(7);
    const mask = treeAttentionMask(sampleTree, 2, buffer);
    expect(mask.buffer).toBe(buffer.buffer);
    expect(mask.length).toBe(7 * 9);
    expect(Array.from(mask)).toEqual(Array.from(treeAttentionMask(sampleTree, 2)));
    expect(buffer[7 * 9]).toBe(7);
    expect(() => treeAttentionMask(sampleTree, 2, new Float32Array(10))).toThrow(InvalidArgumentError);
  });

  it('rejects malformed trees and bad past lengths with typed errors', () => {
    const bad = makeTree([-1, 0, 0], [1, 2, 3]);
    bad.parents[2] = 2;
    let caught: unknown;
    try {
      treeAttentionMask(bad, 0);
    } catch (error) {
      caught = error;
    }
    expect(InvalidDraftTreeError.isInstance(caught)).toBe(true);
    expect(InvalidArgumentError.isInstance(caught)).toBe(true);
    expect(MsdError.isInstance(caught) && caught.code).toBe('invalid_argument');
    expect((caught as InvalidDraftTreeError).problem).toMatch(/parent/);

    const wrongDepth = makeTree([-1, 0], [1, 2]);
    wrongDepth.depths[1] = 3;
    expect(() => treePositionIds(wrongDepth, 0)).toThrow(InvalidDraftTreeError);
    const ragged = { ...makeTree([-1, 0], [1, 2]), scores: new Float32Array(1) };
    expect(() => treeAttentionMask(ragged, 0)).toThrow(/one entry per node/);
    const empty = makeTree([], []);
    expect(() => treePaths(empty)).toThrow(InvalidDraftTreeError);
    expect(() => treeAttentionMask(sampleTree, -1)).toThrow(InvalidArgumentError);
    expect(() => treeAttentionMask(sampleTree, 1.5)).toThrow(/pastLength/);
  });
});

describe('treePositionIds', () => {
  it('is past length plus depth', () => {
    expect(Array.from(treePositionIds(sampleTree, 10))).toEqual([10, 11, 11, 12, 12, 13, 12]);
    const buffer = new Int32Array(8);
    const positions = treePositionIds(sampleTree, 0, buffer);
    expect(positions.buffer).toBe(buffer.buffer);
    expect(Array.from(positions)).toEqual([0, 1, 1, 2, 2, 3, 2]);
  });
});

describe('tree structure', () => {
  it('lists root-to-leaf paths, children and ancestors', () => {
    expect(treePaths(sampleTree)).toEqual([
      [0, 1, 4],
      [0, 1, 3, 5],
      [0, 2, 6],
    ]);
    expect(treePaths(makeTree([-1], [3]))).toEqual([[0]]);
    expect(treeChildren(sampleTree)).toEqual([[1, 2], [3, 4], [6], [5], [], [], []]);
    expect(ancestors(sampleTree, 5)).toEqual([0, 1, 3]);
    expect(ancestors(sampleTree, 0)).toEqual([]);
    expect(() => ancestors(sampleTree, 7)).toThrow(InvalidArgumentError);
  });
});
