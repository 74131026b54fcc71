/**
 * Position-coupled acceptance: lossless (chi-square against the target's own distribution, as for
 * acceptSampling) and reproducible (the same tokens for the same seed, whatever the tree).
 */
import { describe, expect, it } from 'vitest';
import { acceptPositionCoupled, chiSquareTest, processLogits, SeededRandom } from '@msd/verifier';
import type { AcceptFunction } from './helpers/synthetic-decoding';
import { emittedCounts, expectedDistributions, targetLogits } from './helpers/synthetic-decoding';

// Each call gets a fresh seed from the harness's random source: independent randomness per step.
const coupled: AcceptFunction = (tree, logits, options, random) => {
  const seed = random.nextUint32();
  return acceptPositionCoupled(tree, logits, options, (depth) => SeededRandom.forPosition(seed, depth - 1));
};

describe('acceptPositionCoupled', () => {
  it.each([{ temperature: 1 }, { temperature: 0.7, topP: 0.9 }, { temperature: 1, topK: 5 }])(
    'emits tokens distributed as the target samples them (%o)',
    (options) => {
      const observed = emittedCounts(coupled, options, [5], 40_000, 20261203);
      const expected = expectedDistributions(options, [5]);
      const first = chiSquareTest(observed.first, expected.first);
      const pairs = chiSquareTest(observed.pairs, expected.pairs);
      console.log(
        `[coupled ${JSON.stringify(options)}] first p=${first.pValue.toExponential(3)} pairs p=${pairs.pValue.toExponential(3)} accepted 0..3: ${observed.acceptedLengths.join('/')}`,
      );
      for (const count of observed.acceptedLengths) expect(count).toBeGreaterThan(0);
      expect(first.pValue).toBeGreaterThan(0.001);
      expect(pairs.pValue).toBeGreaterThan(0.001);
    },
  );

  it('gives the token a one-token step would give at the same position, for any tree', () => {
    const options = { temperature: 0.9 };
    const logits = targetLogits([3, 1]);
    const vocab = logits.length;
    for (let seed = 0; seed < 200; seed++) {
      const alone = SeededRandom.forPosition(seed, 4).nextFloat();
      const probabilities = processLogits(logits, options);
      let expected = 0;
      for (let remaining = alone; expected < vocab - 1; expected++) {
        remaining -= probabilities[expected]!;
        if (remaining < 0) break;
      }
      // Root only (an autoregressive step) and a root with every token as a child: the same token.
      const rootOnly = { tokens: Int32Array.of(1), parents: Int32Array.of(-1), depths: Int32Array.of(0), scores: Float32Array.of(0) };
      const wide = {
        tokens: Int32Array.from({ length: vocab + 1 }, (_, node) => (node === 0 ? 1 : node - 1)),
        parents: Int32Array.from({ length: vocab + 1 }, (_, node) => (node === 0 ? -1 : 0)),
        depths: Int32Array.from({ length: vocab + 1 }, (_, node) => (node === 0 ? 0 : 1)),
        scores: new Float32Array(vocab + 1),
      };
      const wideLogits = new Float32Array((vocab + 1) * vocab);
      for (let row = 0; row <= vocab; row++) wideLogits.set(logits, row * vocab);
      const random = (depth: number) => SeededRandom.forPosition(seed, 4 + depth - 1);
      expect(acceptPositionCoupled(rootOnly, logits, options, random).bonusToken).toBe(expected);
      expect(acceptPositionCoupled(wide, wideLogits, options, random).acceptedTokens[0]).toBe(expected);
    }
  });
});

describe('SeededRandom.forPosition', () => {
  it('is a pure function of seed and position, and positions differ', () => {
    expect(SeededRandom.forPosition(7, 3).nextFloat()).toBe(SeededRandom.forPosition(7, 3).nextFloat());
    const draws = new Set(Array.from({ length: 1000 }, (_, position) => SeededRandom.forPosition(7, position).nextFloat()));
    expect(draws.size).toBe(1000);
    expect(SeededRandom.forPosition(8, 3).nextFloat()).not.toBe(SeededRandom.forPosition(7, 3).nextFloat());
    expect(() => SeededRandom.forPosition(7, -1)).toThrow(/position/);
  });
});

describe('processLogits at extreme temperatures', () => {
  it('a subnormal temperature gives the argmax, not NaN', () => {
    const probabilities = processLogits(Float32Array.of(0.5, 2, -1), { temperature: 5e-324 });
    expect([...probabilities]).toEqual([0, 1, 0]);
  });
});
