import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@msd/core';
import { SeededRandom, assertSamplingOptions, processLogits, sampleFromLogits, sampleToken } from '@msd/verifier';

function softmax(values: number[]): number[] {
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

const logits = Float32Array.of(2, 1, 0, -1, 0.5);

describe('processLogits', () => {
  it('applies the temperature to a softmax', () => {
    expect(Array.from(processLogits(logits, { temperature: 1 }))).toEqual(softmax(Array.from(logits)).map((p) => expect.closeTo(p, 6)));
    const cool = softmax(Array.from(logits, (v) => v / 0.5));
    expect(Array.from(processLogits(logits, { temperature: 0.5 }))).toEqual(cool.map((p) => expect.closeTo(p, 6)));
  });

  it('keeps the top k (ties included) and renormalises', () => {
    const top2 = softmax([2, 1]);
    expect(Array.from(processLogits(logits, { temperature: 1, topK: 2 }))).toEqual([expect.closeTo(top2[0]!, 6), expect.closeTo(top2[1]!, 6), 0, 0, 0]);
    expect(Array.from(processLogits(Float32Array.of(3, 1, 1, 0), { temperature: 1, topK: 2 })).filter((p) => p > 0)).toHaveLength(3);
    expect(Array.from(processLogits(logits, { temperature: 1, topK: 99 }))).toEqual(Array.from(processLogits(logits, { temperature: 1 })));
  });

  it('keeps the smallest nucleus reaching top-p, at least one token', () => {
    const full = softmax(Array.from(logits)); // ~ [0.53, 0.19, 0.07, 0.03, 0.12] -> sorted 0, 1, 4, 2, 3
    const nucleus = (p: number): number[] => Array.from(processLogits(logits, { temperature: 1, topP: p })).flatMap((v, i) => (v > 0 ? [i] : []));
    expect(nucleus(0.5)).toEqual([0]);
    expect(nucleus(full[0]! + 0.01)).toEqual([0, 1]);
    expect(nucleus(full[0]! + full[1]! + 0.01)).toEqual([0, 1, 4]);
    expect(nucleus(1e-9)).toEqual([0]);
    expect(nucleus(1)).toEqual([0, 1, 2, 3, 4]);
    const kept = processLogits(logits, { temperature: 1, topP: 0.8 });
    const sum = full[0]! + full[1]! + full[4]!;
    expect(kept[0]).toBeCloseTo(full[0]! / sum, 6);
  });

  it('applies temperature, then top-k, then top-p', () => {
    // temperature 2 flattens: top-k 3 keeps 0, 1, 4; top-p 0.6 then needs two of them
    const result = processLogits(logits, { temperature: 2, topK: 3, topP: 0.6 });
    const scaled = softmax([1, 0.5, 0.25]);
    expect(scaled[0]! < 0.6).toBe(true);
    expect(Array.from(result).map((p) => p > 0)).toEqual([true, true, false, false, false]);
  });

  it('finds the nucleus in a large vocabulary with a long tail', () => {
    const big = new Float32Array(50_000).fill(-3);
    big[7] = 8;
    big[9] = 7.5;
    const result = processLogits(big, { temperature: 1, topP: 0.99 });
    const kept = Array.from(result).filter((p) => p > 0).length;
    expect(kept).toBeGreaterThan(2); // the two peaks hold < 99% of the mass, so tail tokens join
    let sum = 0;
    for (const p of result) sum += p;
    expect(sum).toBeCloseTo(1, 5);
  });

  it('handles -Infinity and writes into a buffer', () => {
    const out = new Float32Array(8);
    const result = processLogits(Float32Array.of(0, -Infinity, 0), { temperature: 1 }, out);
    expect(result.buffer).toBe(out.buffer);
    expect(Array.from(result)).toEqual([0.5, 0, 0.5]);
  });

  it('rejects bad options and logits', () => {
    expect(() => processLogits(logits, { temperature: 0 })).toThrow(/greedy/i);
    expect(() => processLogits(logits, { temperature: -1 })).toThrow(InvalidArgumentError);
    expect(() => processLogits(logits, { temperature: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => processLogits(logits, { temperature: 1, topP: 0 })).toThrow(/topP/);
    expect(() => processLogits(logits, { temperature: 1, topP: 1.5 })).toThrow(/topP/);
    expect(() => processLogits(logits, { temperature: 1, topK: 0 })).toThrow(/topK/);
    expect(() => processLogits(logits, { temperature: 1, topK: 2.5 })).toThrow(/topK/);
    expect(() => assertSamplingOptions({ temperature: 1, topK: 1, topP: 1 })).not.toThrow();
    expect(() => processLogits(Float32Array.of(0, Number.NaN), { temperature: 1 })).toThrow(/logit 1/);
    expect(() => processLogits(Float32Array.of(-Infinity), { temperature: 1 })).toThrow(InvalidArgumentError);
    expect(() => processLogits(new Float32Array(0), { temperature: 1 })).toThrow(InvalidArgumentError);
  });
});

describe('SeededRandom', () => {
  it('is reproducible per seed and uniform enough', () => {
    const a = new SeededRandom({ seed: 123 });
    const b = new SeededRandom({ seed: 123 });
    const c = new SeededRandom({ seed: 124 });
    const first = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(first);
    expect(new SeededRandom({ seed: 2 ** 40 }).nextUint32()).not.toBe(new SeededRandom({ seed: 0 }).nextUint32());
    let sum = 0;
    let inRange = true;
    for (let i = 0; i < 100_000; i++) {
      const value = a.nextFloat();
      inRange &&= value >= 0 && value < 1;
      sum += value;
    }
    expect(inRange).toBe(true);
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
    expect(typeof new SeededRandom().seed).toBe('number');
    expect(() => new SeededRandom({ seed: 0.5 })).toThrow(InvalidArgumentError);
  });
});

describe('sampling', () => {
  it('draws in proportion to the probabilities and never a zero', () => {
    const random = new SeededRandom({ seed: 9 });
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[sampleToken(Float32Array.of(0.2, 0, 0.5, 0.3), random)]!++;
    expect(counts[1]).toBe(0);
    expect(counts[0]! / 20_000).toBeCloseTo(0.2, 1);
    expect(counts[2]! / 20_000).toBeCloseTo(0.5, 1);
    expect(() => sampleToken(Float32Array.of(0, 0), random)).toThrow(InvalidArgumentError);
    expect(() => sampleToken(Float32Array.of(-1, 2), random)).toThrow(InvalidArgumentError);
  });

  it('samples from processed logits with the same options', () => {
    const random = new SeededRandom({ seed: 3 });
    for (let i = 0; i < 200; i++) expect([0, 1]).toContain(sampleFromLogits(logits, { temperature: 1.5, topK: 2 }, random));
    expect(() => sampleFromLogits(logits, { temperature: 0 }, random)).toThrow(InvalidArgumentError);
  });
});
