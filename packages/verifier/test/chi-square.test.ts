import { describe, expect, it } from 'vitest';
import { chiSquareSurvival, chiSquareTest } from '@msd/verifier';
import { logGamma } from '../src/chi-square';

describe('chi-square helper (used by the losslessness tests)', () => {
  it('matches tabulated values', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 9);
    expect(chiSquareSurvival(18.307038053275146, 10)).toBeCloseTo(0.05, 9);
    expect(chiSquareSurvival(2, 2)).toBeCloseTo(Math.exp(-1), 12);
    expect(chiSquareSurvival(124.342, 100)).toBeCloseTo(0.05, 4);
    expect(chiSquareSurvival(0, 3)).toBe(1);
  });

  it('pools sparse bins and fails on impossible observations', () => {
    expect(chiSquareTest([50, 50], [0.5, 0.5]).pValue).toBeCloseTo(1, 9);
    expect(chiSquareTest([10, 0, 5], [0.5, 0, 0.5]).dof).toBe(1);
    expect(chiSquareTest([10, 1, 5], [0.5, 0, 0.5]).pValue).toBe(0);
  });
});
