import { describe, expect, it } from 'vitest';
import { checkTreeShape } from '@msd/core';
import { DEFAULT_SAMPLING_TREE, DEFAULT_TREE } from 'msd';
import { defaultTreeCandidates, fitInLoopStepCost, type MeasuredStep } from 'msd/bench';

describe('msd tune candidates', () => {
  it('include adaptive-depth shapes and both default trees, every one a valid tree for a draft of 10 candidates per row', () => {
    const shapes = defaultTreeCandidates();
    for (const shape of shapes) expect(() => checkTreeShape(shape, { maxBranching: 10 })).not.toThrow();
    const adaptive = shapes.filter((shape) => shape.minConfidence !== undefined);
    expect(adaptive.length).toBeGreaterThanOrEqual(6);
    expect(adaptive.some((shape) => shape.branching === 1 && shape.depth >= 8)).toBe(true);
    expect(shapes).toContainEqual(DEFAULT_TREE);
    expect(shapes).toContainEqual(DEFAULT_SAMPLING_TREE);
    expect(new Set(shapes.map((shape) => JSON.stringify(shape))).size).toBe(shapes.length);
  });
});

describe('fitInLoopStepCost', () => {
  // Steps priced as 1.2 x isolated verification + 1.1 ms + 0.55 ms a round, with +-3% noise.
  const truth = { verifyScale: 1.2, perStepMs: 1.1, perRoundMs: 0.55 };
  const shapes = [
    [3.0, 1],
    [3.1, 2],
    [3.2, 4],
    [3.6, 3],
    [3.4, 7],
    [4.0, 5],
    [3.3, 9],
    [4.4, 2],
  ] as const;
  const noise = [1.02, 0.98, 1.01, 0.97, 1.03, 0.99, 1.0, 1.02];

  it('recovers what a step costs inside the loop from the shapes together', () => {
    const measured: MeasuredStep[] = shapes.map(([isolatedVerifyMs, rounds], index) => ({
      isolatedVerifyMs,
      rounds,
      milliseconds: (truth.verifyScale * isolatedVerifyMs + truth.perStepMs + truth.perRoundMs * rounds) * noise[index]!,
      steps: 40,
    }));
    const fit = fitInLoopStepCost(measured)!;
    expect(fit.perRoundMs).toBeCloseTo(truth.perRoundMs, 1);
    expect(fit.verifyScale).toBeGreaterThan(0.8);
    expect(fit.verifyScale).toBeLessThan(1.6);
    // Predictions stay within the noise of the measurements.
    for (const point of measured) {
      const predicted = fit.verifyScale * point.isolatedVerifyMs + fit.perStepMs + fit.perRoundMs * point.rounds;
      expect(Math.abs(predicted - point.milliseconds) / point.milliseconds).toBeLessThan(0.06);
    }
  });

  it('declines when the shapes cannot separate the costs, or the fit is not physical', () => {
    const point = (isolatedVerifyMs: number, rounds: number, milliseconds: number): MeasuredStep => ({ isolatedVerifyMs, rounds, milliseconds, steps: 10 });
    expect(fitInLoopStepCost([point(3, 1, 5), point(3.2, 2, 6), point(3.4, 3, 7)])).toBeUndefined();
    // Every shape with the same verification cost and rounds: nothing to separate.
    expect(fitInLoopStepCost([point(3, 2, 5), point(3, 2, 5.1), point(3, 2, 4.9), point(3, 2, 5)])).toBeUndefined();
    // Deeper shapes measured cheaper than shallow ones: a negative cost per round.
    expect(fitInLoopStepCost([point(3, 1, 9), point(3.5, 3, 7), point(3.2, 6, 5), point(4, 8, 4)])).toBeUndefined();
    expect(fitInLoopStepCost([point(3, 1, 5), point(3.5, 3, 6.5), point(3.2, 6, 7.7), point(4, 8, 9.2)])).toBeDefined();
  });
});
