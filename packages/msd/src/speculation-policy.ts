import type { TreeShape } from '@msd/core';

/**
 * The tree of a probe after a fallback: one drafted token ({@link SpeculationPolicy.probeNext}).
 *
 * @example
 * ```ts
 * import { PROBE_TREE } from 'msd';
 *
 * PROBE_TREE.totalTokens; // 1
 * ```
 */
export const PROBE_TREE: Readonly<Pick<TreeShape, 'depth' | 'branching' | 'totalTokens'>> = { depth: 1, branching: 1, totalTokens: 1 };

/** Settings of {@link SpeculationPolicy}. */
export interface SpeculationPolicyOptions {
  /**
   * Speculate only while the expected tokens per second of a speculative step, over that of an
   * autoregressive step, is at least this. Default 1: fall back as soon as drafting stops paying off.
   */
  minimumGain?: number;
  /** Autoregressive tokens after the first fallback before speculating again. Default 8. */
  initialBackoff?: number;
  /**
   * The backoff doubles after each probe whose tree is too slow to pay, up to this. Default 64. Such a
   * failure is judged on time, and on a shared 2-core machine a burst of load can make image requests
   * fail that way too: with 256 one run stayed in the fallback for most of its two-image answers
   * (1.21x instead of 1.7x).
   */
  maximumBackoff?: number;
  /**
   * The backoff doubles after each one-token probe whose drafted token the target rejects, up to
   * this. Default 512. A rejection is judged on the tokens alone, so machine load cannot cause it; on
   * sampled text-only answers of a weak draft nearly every probe ends so, and probing once per 64
   * tokens kept them 3-5% below autoregressive speed. Must be at least `maximumBackoff`.
   */
  maximumProbeBackoff?: number;
  /**
   * Weight of the newest step in the running averages, in (0, 1]. Default 0.25: at temperature 0 one
   * step in eight accepts nothing, and with 0.5 two such steps in a row stopped drafting (a fifth of
   * the greedy steps of the benchmark ran without drafting); with 0.25 it takes four.
   */
  smoothing?: number;
}

/**
 * The settings a {@link SpeculationPolicy} uses where {@link SpeculationPolicyOptions} leaves them out.
 *
 * @example
 * ```ts
 * import { SPECULATION_POLICY_DEFAULTS } from 'msd';
 *
 * SPECULATION_POLICY_DEFAULTS.initialBackoff; // 8
 * ```
 */
export const SPECULATION_POLICY_DEFAULTS: Readonly<Required<SpeculationPolicyOptions>> = {
  minimumGain: 1,
  initialBackoff: 8,
  maximumBackoff: 64,
  maximumProbeBackoff: 512,
  smoothing: 0.25,
};

/**
 * {@link SpeculationPolicyOptions} with the defaults filled in. Without its own `maximumProbeBackoff`,
 * a `maximumBackoff` above the default raises it too, so the probe cap is never the lower one.
 *
 * @example
 * ```ts
 * resolvePolicyOptions({ maximumBackoff: 1024 }).maximumProbeBackoff; // 1024
 * ```
 */
export function resolvePolicyOptions(options: SpeculationPolicyOptions = {}): Required<SpeculationPolicyOptions> {
  const merged = { ...SPECULATION_POLICY_DEFAULTS, ...options };
  if (options.maximumProbeBackoff === undefined) merged.maximumProbeBackoff = Math.max(merged.maximumProbeBackoff, merged.maximumBackoff);
  return merged;
}

/**
 * Where a {@link SpeculationPolicy} stands: its running averages and its fallback state. A later
 * generation of the same kind continues from it (see {@link SpeculationMemory}).
 *
 * @example
 * ```ts
 * import type { SpeculationState } from 'msd';
 *
 * const state: SpeculationState = { tokensPerStep: 1.4, speculativeMs: 6.2, verifyMs: 3.4, autoregressiveMs: 2.9, backoff: 16, remaining: 5, probing: true };
 * ```
 */
export interface SpeculationState {
  /** Tokens per speculative step (bonus included). */
  tokensPerStep: number;
  /** Wall time of a speculative step, in milliseconds. */
  speculativeMs: number;
  /** The part of it spent verifying, in milliseconds. */
  verifyMs: number;
  /** Wall time of an autoregressive step, when one was measured. */
  autoregressiveMs?: number;
  /** The current backoff, in tokens. */
  backoff: number;
  /** Autoregressive tokens left before the next probe (0: speculating). */
  remaining: number;
  /** Whether the next speculative step is a probe after a fallback. */
  probing: boolean;
}

/**
 * Decides, step by step, whether speculating pays off for the generation at hand, from the steps
 * it has measured: tokens per speculative step, and the wall time of speculative and autoregressive
 * steps. When a speculative step is expected to yield fewer tokens per second than a plain target
 * step (at high temperature, or on text the draft cannot predict), it switches to autoregressive
 * steps for a backoff of tokens, then probes speculation again.
 *
 * Every step is exact either way, so the policy changes speed, never the output's distribution.
 *
 * @example
 * ```ts
 * import { SpeculationPolicy } from 'msd';
 *
 * const policy = new SpeculationPolicy();
 * policy.recordSpeculative({ tokens: 1, milliseconds: 6, verifyMilliseconds: 3.5 });
 * policy.recordSpeculative({ tokens: 1, milliseconds: 6, verifyMilliseconds: 3.5 });
 * policy.shouldSpeculate(); // false: about 1 token per 6 ms, against 1 per 3.5 ms without drafting
 * ```
 */
export class SpeculationPolicy {
  private readonly settings: Required<SpeculationPolicyOptions>;
  private tokensPerStep: number | undefined;
  private speculativeMs: number | undefined;
  private verifyMs: number | undefined;
  private autoregressiveMs: number | undefined;
  private speculativeSteps = 0;
  private backoff: number;
  /** Autoregressive tokens left before the next probe. */
  private remaining = 0;
  /** Whether the last fallback ended in a probe that has not yet been judged. */
  private probing = false;
  /** Whether a one-token probe just passed: the next step drafts a whole tree and is judged on its own. */
  private probePassed = false;

  /**
   * @param state where an earlier generation of the same kind left its policy: this one continues
   *   from its averages and its countdown to the next probe (at most `initialBackoff` tokens)
   *   instead of spending its first two steps finding out again whether drafting pays off.
   */
  constructor(options: SpeculationPolicyOptions = {}, state?: SpeculationState) {
    this.settings = resolvePolicyOptions(options);
    this.backoff = this.settings.initialBackoff;
    if (!state) return;
    this.tokensPerStep = state.tokensPerStep;
    this.speculativeMs = state.speculativeMs;
    this.verifyMs = state.verifyMs;
    this.autoregressiveMs = state.autoregressiveMs;
    this.speculativeSteps = 2;
    // The averages, the backoff and the countdown to the next probe carry over while a fallback is in
    // force: a kind of request where drafting keeps losing (sampled text-only answers of a weak
    // draft) then probes once per `backoff` tokens across answers, not at the start of every answer,
    // which is what kept it below autoregressive speed. Once drafting pays, the backoff restarts.
    if (state.probing) this.backoff = Math.min(Math.max(state.backoff, this.settings.initialBackoff), this.settings.maximumProbeBackoff);
    this.remaining = Math.min(state.remaining, this.backoff);
    this.probing = state.probing;
  }

  /**
   * Where the policy stands; `undefined` before any speculative step.
   *
   * @example
   * ```ts
   * const state = policy.state(); // hand to the next policy of the same kind
   * ```
   */
  state(): SpeculationState | undefined {
    if (this.tokensPerStep === undefined || this.speculativeMs === undefined || this.verifyMs === undefined) return undefined;
    return {
      tokensPerStep: this.tokensPerStep,
      speculativeMs: this.speculativeMs,
      verifyMs: this.verifyMs,
      ...(this.autoregressiveMs === undefined ? {} : { autoregressiveMs: this.autoregressiveMs }),
      backoff: this.backoff,
      remaining: this.remaining,
      probing: this.probing,
    };
  }

  /**
   * Whether the next step should draft and verify a tree.
   *
   * @example
   * ```ts
   * const speculate = policy.shouldSpeculate();
   * ```
   */
  shouldSpeculate(): boolean {
    return this.remaining === 0;
  }

  /**
   * Whether the next speculative step is a probe after a fallback that should draft a single token
   * ({@link PROBE_TREE}): it asks only whether the draft's first guess is taken, for about the cost of
   * one draft call more than a plain step, where a whole tree that is rejected costs several. Only when
   * it passes does a whole tree follow, and that tree is judged on its own tokens and time.
   *
   * @example
   * ```ts
   * const shape = policy.probeNext() ? PROBE_TREE : settings.tree;
   * ```
   */
  probeNext(): boolean {
    return this.probing && this.remaining === 0 && !this.probePassed;
  }

  /**
   * The expected speed of a speculative step over an autoregressive one, from the averages so far;
   * `undefined` before any speculative step. Until an autoregressive step has been timed, the
   * tree's verification stands in for it: an overestimate, so the policy errs toward speculating.
   *
   * @example
   * ```ts
   * policy.expectedGain(); // 1.8
   * ```
   */
  expectedGain(): number | undefined {
    if (this.tokensPerStep === undefined || this.speculativeMs === undefined) return undefined;
    const autoregressive = this.autoregressiveMs ?? this.verifyMs!;
    return (this.tokensPerStep * autoregressive) / this.speculativeMs;
  }

  /**
   * Records a speculative step: tokens it produced (bonus included), its wall time, and the part
   * of it spent in the target's verification.
   *
   * @example
   * ```ts
   * policy.recordSpeculative({ tokens: 4, milliseconds: 6.1, verifyMilliseconds: 3.6 });
   * ```
   */
  recordSpeculative(step: { tokens: number; milliseconds: number; verifyMilliseconds: number; probe?: boolean }): void {
    if (step.probe) {
      // A one-token probe is judged on whether its drafted token was taken; its time says nothing of a
      // whole tree's, so the averages stay as they are.
      if (step.tokens >= 2) this.probePassed = true;
      else this.fallBack('rejected');
      return;
    }
    this.probePassed = false;
    // A probe is judged on its own tokens: averaged into the poor steps that caused the fallback,
    // even a fully accepted probe could not lift the average back over the bar.
    this.tokensPerStep = this.probing ? step.tokens : this.average(this.tokensPerStep, step.tokens);
    this.speculativeMs = this.averageTime(this.speculativeMs, step.milliseconds);
    this.verifyMs = this.averageTime(this.verifyMs, step.verifyMilliseconds);
    this.speculativeSteps++;
    // One step is too little evidence to stop speculating on, except right after a failed fallback.
    if (this.speculativeSteps < 2 && !this.probing) return;
    if (this.expectedGain()! >= this.settings.minimumGain) {
      // A probe that pays may be luck (one predictable phrase in text the draft rarely predicts), so it
      // only halves the backoff; the step after it, if it pays too, restarts it. Restarted at once,
      // each lucky probe of sampled text-only answers cost the climb back to the cap, five more probes
      // that fail, while greedy ones, whose probes pay in runs, want the short backoff back.
      this.backoff = this.probing ? Math.max(this.settings.initialBackoff, Math.floor(this.backoff / 2)) : this.settings.initialBackoff;
      this.probing = false;
      return;
    }
    this.fallBack('slow');
  }

  /**
   * Autoregressive steps for a backoff of tokens. Each probe that fails again doubles it: up to
   * `maximumProbeBackoff` when the target rejected the probe's token, up to `maximumBackoff` (and
   * never down) when the tree after a taken probe was too slow to pay.
   */
  private fallBack(reason: 'rejected' | 'slow'): void {
    if (this.probing) {
      const cap = reason === 'rejected' ? this.settings.maximumProbeBackoff : this.settings.maximumBackoff;
      this.backoff = Math.max(this.backoff, Math.min(cap, this.backoff * 2));
    }
    this.remaining = this.backoff;
    this.probing = true;
  }

  /**
   * Records an autoregressive step taken because of a fallback, and its wall time.
   *
   * @example
   * ```ts
   * policy.recordAutoregressive({ milliseconds: 3.1 });
   * ```
   */
  recordAutoregressive(step: { milliseconds: number }): void {
    this.autoregressiveMs = this.averageTime(this.autoregressiveMs, step.milliseconds);
    if (this.remaining > 0) this.remaining--;
  }

  /**
   * Times are clipped to within a factor of 2 of the average so far: a garbage-collection pause or
   * a neighbour's burst on a shared machine makes one step several times slower, and since the
   * policy's state outlives the generation, one such step would otherwise stop drafting for the
   * next ones too. A lasting change still moves the average by up to `smoothing` times itself per step.
   */
  private averageTime(current: number | undefined, sample: number): number {
    return this.average(current, current === undefined ? sample : Math.min(Math.max(sample, current / 2), current * 2));
  }

  private average(current: number | undefined, sample: number): number {
    return current === undefined ? sample : current + this.settings.smoothing * (sample - current);
  }
}
