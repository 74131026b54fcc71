import { describe, expect, it } from 'vitest';
import { PROBE_TREE, SpeculationMemory, SpeculationPolicy } from 'msd';

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
    // The probe is judged on its own 5 tokens, and the measured autoregressive step replaced the
    // verification as the yardstick.
    expect(policy.expectedGain()).toBeCloseTo((5 * 3) / 6, 10);
  });

  it('continues from the state an earlier policy left: a fallback carries over to the next generation', () => {
    const poor = { tokens: 1, milliseconds: 6, verifyMilliseconds: 3.5 };
    const first = new SpeculationPolicy({ initialBackoff: 4 });
    expect(first.state()).toBeUndefined();
    first.recordSpeculative(poor);
    first.recordSpeculative(poor);
    first.recordAutoregressive({ milliseconds: 3 });
    const state = first.state()!;
    expect(state).toMatchObject({ tokensPerStep: 1, backoff: 4, remaining: 3, probing: true });
    // The next generation starts without drafting and probes after the 3 plain tokens left.
    const next = new SpeculationPolicy({ initialBackoff: 4 }, state);
    const pattern: boolean[] = [];
    for (let step = 0; step < 4; step++) {
      const speculate = next.shouldSpeculate();
      pattern.push(speculate);
      if (!speculate) next.recordAutoregressive({ milliseconds: 3 });
    }
    expect(pattern).toEqual([false, false, false, true]);
    // A good earlier state starts speculating, and one poor step does not stop it at once... but two do.
    const good = new SpeculationPolicy(
      {},
      { tokensPerStep: 4, speculativeMs: 6, verifyMs: 3.5, autoregressiveMs: 3, backoff: 8, remaining: 0, probing: false },
    );
    expect(good.shouldSpeculate()).toBe(true);
    // A long backoff earned in failed probes carries over while the fallback is in force, capped at
    // maximumProbeBackoff; once drafting pays again (probing false) the next generation starts afresh.
    const long = new SpeculationPolicy({ initialBackoff: 8, maximumBackoff: 16, maximumProbeBackoff: 32 }, { ...state, backoff: 64, remaining: 40 });
    expect(long.state()).toMatchObject({ backoff: 32, remaining: 32 });
    const recovered = new SpeculationPolicy({ initialBackoff: 8 }, { ...state, backoff: 64, remaining: 0, probing: false });
    expect(recovered.state()).toMatchObject({ backoff: 8, remaining: 0 });
  });

  it('halves the backoff after a probe that pays, and restarts it only when the next step pays too', () => {
    const policy = new SpeculationPolicy({ initialBackoff: 2, maximumBackoff: 16 });
    const poor = { tokens: 1, milliseconds: 10, verifyMilliseconds: 3.5 };
    policy.recordSpeculative(poor);
    policy.recordSpeculative(poor);
    const probe = (step: { tokens: number; milliseconds: number; verifyMilliseconds: number }) => {
      while (!policy.shouldSpeculate()) policy.recordAutoregressive({ milliseconds: 3 });
      policy.recordSpeculative(step);
    };
    // Failed probes climb 2, 4, 8, 16, and stay at the cap.
    for (let failed = 0; failed < 4; failed++) probe(poor);
    expect(policy.state()).toMatchObject({ backoff: 16, remaining: 16, probing: true });
    // A probe accepts a whole chain: drafting resumes with half the backoff; a poor step right after
    // it stops drafting for that long, and the next failed probe is back at the cap.
    // (4 tokens in 10 ms against 3 ms a plain step pays; one more token in 10 ms brings the average under.)
    const lucky = { tokens: 4, milliseconds: 10, verifyMilliseconds: 3.5 };
    probe(lucky);
    expect(policy.state()).toMatchObject({ backoff: 8, remaining: 0, probing: false });
    policy.recordSpeculative(poor);
    expect(policy.state()).toMatchObject({ backoff: 8, remaining: 8, probing: true });
    probe(poor);
    expect(policy.state()).toMatchObject({ backoff: 16, remaining: 16, probing: true });
    // A probe that pays, then a step that pays too: drafting pays again, and the backoff restarts.
    probe(lucky);
    policy.recordSpeculative({ tokens: 5, milliseconds: 6, verifyMilliseconds: 3.5 });
    expect(policy.state()).toMatchObject({ backoff: 2, remaining: 0, probing: false });
  });

  it('probes with one drafted token; a rejected probe doubles the backoff and leaves the averages, a taken one lets a whole tree be judged', () => {
    const policy = new SpeculationPolicy({ initialBackoff: 2, maximumBackoff: 16 });
    const poor = { tokens: 1, milliseconds: 10, verifyMilliseconds: 3.5 };
    expect(policy.probeNext()).toBe(false); // speculating normally: whole trees
    policy.recordSpeculative(poor);
    policy.recordSpeculative(poor);
    expect(policy.state()).toMatchObject({ backoff: 2, remaining: 2, probing: true });
    const averages = { tokensPerStep: policy.state()!.tokensPerStep, speculativeMs: policy.state()!.speculativeMs };
    while (!policy.shouldSpeculate()) policy.recordAutoregressive({ milliseconds: 3 });
    expect(policy.probeNext()).toBe(true);
    // Rejected (the bonus token only): back to autoregressive steps for twice as long; a 4 ms probe does
    // not make whole trees look cheaper.
    policy.recordSpeculative({ tokens: 1, milliseconds: 4, verifyMilliseconds: 3.2, probe: true });
    expect(policy.state()).toMatchObject({ backoff: 4, remaining: 4, probing: true, ...averages });
    while (!policy.shouldSpeculate()) policy.recordAutoregressive({ milliseconds: 3 });
    // Taken: the next step drafts a whole tree, judged on its own tokens and time.
    policy.recordSpeculative({ tokens: 2, milliseconds: 4, verifyMilliseconds: 3.2, probe: true });
    expect(policy.shouldSpeculate()).toBe(true);
    expect(policy.probeNext()).toBe(false);
    policy.recordSpeculative({ tokens: 5, milliseconds: 6, verifyMilliseconds: 3.5 });
    expect(policy.state()).toMatchObject({ probing: false, remaining: 0 });
    expect(PROBE_TREE).toEqual({ depth: 1, branching: 1, totalTokens: 1 });
  });

  it('lets rejected probes climb to maximumProbeBackoff, while trees too slow to pay stop at maximumBackoff', () => {
    const policy = new SpeculationPolicy({ initialBackoff: 2, maximumBackoff: 4, maximumProbeBackoff: 16 });
    const poor = { tokens: 1, milliseconds: 10, verifyMilliseconds: 3.5 };
    policy.recordSpeculative(poor);
    policy.recordSpeculative(poor);
    const wait = () => {
      while (!policy.shouldSpeculate()) policy.recordAutoregressive({ milliseconds: 3 });
    };
    const rejected = { tokens: 1, milliseconds: 4, verifyMilliseconds: 3.2, probe: true };
    const taken = { tokens: 2, milliseconds: 4, verifyMilliseconds: 3.2, probe: true };
    // Rejections are judged on tokens alone, so machine load cannot cause them: 4, 8, 16, and 16.
    const backoffs: number[] = [];
    for (let probe = 0; probe < 4; probe++) {
      wait();
      policy.recordSpeculative(rejected);
      backoffs.push(policy.state()!.backoff);
    }
    expect(backoffs).toEqual([4, 8, 16, 16]);
    // A taken probe whose tree is too slow (judged on time) keeps the long backoff: it neither
    // doubles it past maximumBackoff nor brings it down.
    wait();
    policy.recordSpeculative(taken);
    policy.recordSpeculative(poor);
    expect(policy.state()).toMatchObject({ backoff: 16, remaining: 16, probing: true });
    // From a short backoff, slow trees climb only to maximumBackoff.
    const slow = new SpeculationPolicy({ initialBackoff: 2, maximumBackoff: 4, maximumProbeBackoff: 16 });
    slow.recordSpeculative(poor);
    slow.recordSpeculative(poor);
    for (let probe = 0; probe < 3; probe++) {
      while (!slow.shouldSpeculate()) slow.recordAutoregressive({ milliseconds: 3 });
      slow.recordSpeculative(taken);
      slow.recordSpeculative(poor);
    }
    expect(slow.state()).toMatchObject({ backoff: 4, probing: true });
  });

  it('remembers the last state per kind of request', () => {
    const memory = new SpeculationMemory();
    const state = { tokensPerStep: 1, speculativeMs: 6, verifyMs: 3.5, backoff: 8, remaining: 8, probing: true };
    memory.remember({ temperature: 1, hasImages: false }, state);
    memory.remember({ temperature: 1, hasImages: false }, undefined);
    expect(memory.recall({ temperature: 0.7, hasImages: false })).toEqual(state);
    expect(memory.recall({ temperature: 0, hasImages: false })).toBeUndefined();
    expect(memory.recall({ temperature: 1, hasImages: true })).toBeUndefined();
    memory.clear();
    expect(memory.recall({ temperature: 1, hasImages: false })).toBeUndefined();
  });

  it('does not stop drafting on one outlier step: times are clipped to twice the average', () => {
    const policy = new SpeculationPolicy();
    for (let i = 0; i < 4; i++) policy.recordSpeculative({ tokens: 4, milliseconds: 6, verifyMilliseconds: 3.5 });
    policy.recordAutoregressive({ milliseconds: 3 });
    // A 40 ms pause inside one step counts as 12 ms: the average becomes 6 + 0.25 * 6 = 7.5 ms, gain
    // 4 * 3 / 7.5 > 1 (unclipped: 14.5 ms and 0.83, a fallback).
    policy.recordSpeculative({ tokens: 4, milliseconds: 40, verifyMilliseconds: 3.5 });
    expect(policy.expectedGain()).toBeCloseTo((4 * 3) / 7.5, 10);
    expect(policy.shouldSpeculate()).toBe(true);
  });

  it('needs several poor steps in a row to stop drafting that usually pays off', () => {
    const policy = new SpeculationPolicy();
    const good = { tokens: 5, milliseconds: 8, verifyMilliseconds: 4.6 };
    const poor = { tokens: 1, milliseconds: 8, verifyMilliseconds: 4.6 };
    for (let i = 0; i < 4; i++) policy.recordSpeculative(good);
    policy.recordAutoregressive({ milliseconds: 3.4 });
    // Greedy decoding accepts nothing in about one step of eight; two or three such steps in a row
    // must not stop drafting (with a weight of 0.5, two did).
    policy.recordSpeculative(poor);
    policy.recordSpeculative(poor);
    policy.recordSpeculative(poor);
    expect(policy.shouldSpeculate()).toBe(true);
    policy.recordSpeculative(poor);
    expect(policy.shouldSpeculate()).toBe(false);
  });
});
