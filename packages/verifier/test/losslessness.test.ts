/**
 * Statistical proof of lossless sampling acceptance: over many seeded decoding runs with synthetic
 * target models and draft trees, the first emitted token and the first two tokens jointly must follow
 * the target's own processed distribution (chi-square goodness of fit), while deliberately wrong
 * variants of the acceptance must be rejected by the same test.
 */
import { describe, expect, it } from 'vitest';
import { acceptSampling } from '@msd/verifier';
import type { SamplingOptions } from '@msd/verifier';
import { chiSquareTest } from '@msd/verifier';
import { emittedCounts, expectedDistributions, vocab } from './helpers/synthetic-decoding';
import type { AcceptFunction } from './helpers/synthetic-decoding';
import { wrongAcceptance } from './helpers/wrong-acceptance';
import type { Mistake } from './helpers/wrong-acceptance';

const trials = 40_000;

const cases: { name: string; options: SamplingOptions; prompt: number[]; mistake: Mistake }[] = [
  { name: 'temperature 1', options: { temperature: 1 }, prompt: [6], mistake: 'no-renormalisation' },
  { name: 'temperature 0.7', options: { temperature: 0.7 }, prompt: [5], mistake: 'leaf-bonus-without-temperature' },
  { name: 'temperature 0.7, top-p 0.9', options: { temperature: 0.7, topP: 0.9 }, prompt: [5], mistake: 'leaf-bonus-without-temperature' },
  { name: 'top-k 5', options: { temperature: 1, topK: 5 }, prompt: [3], mistake: 'raw-leaf-bonus' },
];

function pValues(accept: AcceptFunction, options: SamplingOptions, prompt: number[], seed: number) {
  const observed = emittedCounts(accept, options, prompt, trials, seed);
  const expected = expectedDistributions(options, prompt);
  return {
    first: chiSquareTest(observed.first, expected.first),
    pairs: chiSquareTest(observed.pairs, expected.pairs),
    acceptedLengths: observed.acceptedLengths,
  };
}

describe.each(cases)('sampling acceptance is lossless ($name)', ({ name, options, prompt, mistake }) => {
  it('emits tokens distributed as the target samples them', () => {
    const { first, pairs, acceptedLengths } = pValues(acceptSampling, options, prompt, 20240601);
    console.log(
      `[${name}] correct: first chi2=${first.statistic.toFixed(1)} dof ${first.dof} p=${first.pValue.toExponential(3)}; ` +
        `pairs chi2=${pairs.statistic.toFixed(1)} dof ${pairs.dof} p=${pairs.pValue.toExponential(3)}; ` +
        `drafted tokens accepted in step 1 (0..3): ${acceptedLengths.join('/')}`,
    );
    // Every depth of the tree is exercised: rejections, and acceptance down to depth 3.
    for (const count of acceptedLengths) expect(count).toBeGreaterThan(0);
    expect(first.pValue).toBeGreaterThan(0.001);
    expect(pairs.pValue).toBeGreaterThan(0.001);
    expect(pairs.dof).toBeGreaterThan(vocab); // the joint test really spans many (a, b) pairs
  });

  it(`catches a wrong variant (${mistake})`, () => {
    const { first, pairs } = pValues(wrongAcceptance(mistake), options, prompt, 20240601);
    console.log(
      `[${name}] ${mistake}: first chi2=${first.statistic.toFixed(1)} p=${first.pValue.toExponential(3)}; ` +
        `pairs chi2=${pairs.statistic.toFixed(1)} p=${pairs.pValue.toExponential(3)}`,
    );
    expect(Math.min(first.pValue, pairs.pValue)).toBeLessThan(1e-6);
    expect(pairs.pValue).toBeLessThan(1e-6);
  });
});
