import { describe, expect, it } from 'vitest';
import { SpeculationPolicy } from 'msd';

describe('SpeculationPolicy', () => {
  it('keeps speculating while a step yields more tokens per millisecond than a plain target step', () => {
    const policy = new SpeculationPolicy();
    for (let i = 0; i < 10; i++) policy.recordSpeculative({ tokens: 3.5, milliseconds: 6, verifyMilliseconds: 3.5 });
    expect(policy.shouldSpeculate()).toBe(true);
    expect(policy.expectedGain()).toBeCloseTo((3.5 * 3.5) / 6, 10);
  });

  it('judges nothing on a single step', () => {
    const policy = new SpeculationPolicy();
    policy.recordSpeculative({ tokens: 1, milliseconds: 6, verifyMilliseconds: 3.5 });
    expect(policy.shouldSpeculate()).toBe(true);
  });

  it('falls back for the backoff, probes, and doubles the backoff when the probe fails again', () => {
    const policy = new SpeculationPolicy({ initialBackoff: 2, maximumBackoff: 4 });
    const poor = { tokens: 1, milliseconds: 6, verifyMilliseconds: 3.5 };
    policy.recordSpeculative(poor);
    policy.recordSpeculative(poor);
    const pattern: boolean[] = [];
    for (let step = 0; step < 12; step++) {
      const speculate = policy.shouldSpeculate();
      pattern.push(speculate);
      if (speculate) policy.recordSpeculative(poor);
      else policy.recordAutoregressive({ milliseconds: 3 });
    }
    // 2 fallback steps, a failed probe, 4 (the doubled, capped backoff), a probe, 4 again.
    expect(pattern).toEqual([false, false, true, false, false, false, false, true, false, false, false, false]);
  });

  it('resumes speculating when a probe pays off, with the backoff reset', () => {
    const policy = new SpeculationPolicy({ initialBackoff: 1 });
    policy.recordSpeculative({ tokens: 1, milliseconds: 6, verifyMilliseconds: 3.5 });
    policy.recordSpeculative({ tokens: 1, milliseconds: 6, verifyMilliseconds: 3.5 });
    expect(policy.shouldSpeculate()).toBe(false);
    policy.recordAutoregressive({ milliseconds: 3 });
    expect(policy.shouldSpeculate()).toBe(true);
    policy.recordSpeculative({ tokens: 5, milliseconds: 6, verifyMilliseconds: 3.5 });
    expect(policy.shouldSpeculate()).toBe(true);
    // The measured autoregressive step replaced the verification as the yardstick.
    expect(policy.expectedGain()).toBeCloseTo((3 * 3) / 6, 10);
  });
});
