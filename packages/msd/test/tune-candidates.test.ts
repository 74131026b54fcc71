import { describe, expect, it } from 'vitest';
import { checkTreeShape } from '@msd/core';
import { defaultTreeCandidates } from 'msd/bench';

describe('msd tune candidates', () => {
  it('include adaptive-depth shapes, every one a valid tree for a draft of 10 candidates per row', () => {
    const shapes = defaultTreeCandidates();
    for (const shape of shapes) expect(() => checkTreeShape(shape, { maxBranching: 10 })).not.toThrow();
    const adaptive = shapes.filter((shape) => shape.minConfidence !== undefined);
    expect(adaptive.length).toBeGreaterThanOrEqual(6);
    expect(adaptive.some((shape) => shape.branching === 1 && shape.depth >= 8)).toBe(true);
    expect(new Set(shapes.map((shape) => JSON.stringify(shape))).size).toBe(shapes.length);
  });
});
