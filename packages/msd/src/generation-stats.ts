/** Where the time of one generation went, in milliseconds. */
export interface GenerationTimings {
  /** Vision encoder. */
  vision: number;
  /** Prompt embedding and the target's prefill. */
  prefill: number;
  /** The draft's pass over the prompt (once per generation; 0 without a draft). */
  draftPrefill: number;
  /** Tree drafting and draft updates. */
  draft: number;
  /** Target calls over new positions (the tree, or one token when autoregressive). */
  verify: number;
  /** KV compaction and everything else in the loop. */
  overhead: number;
  /** Wall time of the whole generation. */
  total: number;
}

/** Statistics of one generation. */
export interface GenerationStats {
  /** Tokens generated (EOS included when produced). */
  tokens: number;
  /** Positions of the prompt the target read (each image expanded to its image positions); 0 when unknown. */
  promptTokens: number;
  /** Target decoding steps after the prefill (verifications, or single-token steps). */
  steps: number;
  /**
   * Average tokens per speculative step, bonus token included (MSD's tau); 1 when no step drafted
   * (`speculative: false`, or every step a fallback).
   */
  tau: number;
  /**
   * Target steps that drafted nothing: every step with `speculative: false`, otherwise the steps the
   * speculation policy took autoregressively because drafting was not paying off.
   */
  autoregressiveSteps: number;
  /** Drafted tree nodes per step, summed. */
  draftedTokens: number;
  /** Drafted tokens accepted, summed (bonus tokens excluded). */
  acceptedTokens: number;
  /**
   * Draft calls that drafted tree rounds, summed (the draft's update after each verification and its
   * pass over the prompt are not counted): with `minConfidence` or a drafted EOS, fewer than `depth - 1`
   * per step.
   */
  draftRounds: number;
  /** How many speculative steps accepted 0, 1, 2, ... drafted tokens. */
  acceptedLengthHistogram: number[];
  /**
   * Tokens per second over the decoding loop's wall time: the first token (which the prefill
   * produces) and the prompt's processing (vision, both models' prefills) excluded, as speculative
   * decoding is usually compared; `tokensPerSecond` includes everything.
   */
  decodeTokensPerSecond: number;
  /** All generated tokens over the generation's whole wall time (prompt processing included). */
  tokensPerSecond: number;
  /**
   * Milliseconds from the start of the request (tokenizing, image reading included) to the first
   * token: what a user waits before the answer starts.
   */
  timeToFirstTokenMs: number;
  /**
   * Where each generated token came from, in order: `'draft'` for a drafted token the target accepted,
   * `'target'` for one the target produced itself (the prefill's token, a plain step's token, a
   * speculative step's bonus token). Lets a benchmark split acceptance by the kind of token.
   */
  tokenSources: Array<'draft' | 'target'>;
  /** Time split. */
  timings: GenerationTimings;
}

/**
 * Accumulates timings and acceptance figures during one generation.
 *
 * @example
 * ```ts
 * import { GenerationStatsRecorder } from 'msd';
 *
 * const recorder = new GenerationStatsRecorder();
 * await recorder.time('verify', () => target.forward(cache, embeds, positions, mask));
 * recorder.addStep(3, 12, 2);
 * console.log(recorder.finish().tau);
 * ```
 */
export class GenerationStatsRecorder {
  private readonly started = performance.now();
  private readonly timings: Omit<GenerationTimings, 'total'> = { vision: 0, prefill: 0, draftPrefill: 0, draft: 0, verify: 0, overhead: 0 };
  private tokens = 0;
  private steps = 0;
  private speculativeSteps = 0;
  private speculativeTokens = 0;
  private drafted = 0;
  private decodeStarted: number | undefined;
  private decodeEnded: number | undefined;
  private accepted = 0;
  private rounds = 0;
  private readonly histogram: number[] = [];
  private firstToken: number | undefined;
  private readonly sources: Array<'draft' | 'target'> = [];
  private promptTokens = 0;

  /** Records the prompt's length in positions (images expanded). */
  setPromptTokens(positions: number): void {
    this.promptTokens = positions;
  }

  /** Where the generated token at `index` came from (see {@link GenerationStats.tokenSources}); undefined before it is recorded. */
  sourceOf(index: number): 'draft' | 'target' | undefined {
    return this.sources[index];
  }

  /** Runs `work` and adds its duration to `phase`. */
  async time<T>(phase: keyof Omit<GenerationTimings, 'total'>, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.timings[phase] += performance.now() - start;
    }
  }

  /** Runs synchronous `work` and adds its duration to `phase`. */
  timeSync<T>(phase: keyof Omit<GenerationTimings, 'total'>, work: () => T): T {
    const start = performance.now();
    try {
      return work();
    } finally {
      this.timings[phase] += performance.now() - start;
    }
  }

  /** Marks the start of the decoding loop (after both prefills): decode speed is measured from here. */
  startDecode(): void {
    this.decodeStarted = performance.now();
  }

  /** Marks the end of the decoding loop. */
  endDecode(): void {
    this.decodeEnded = performance.now();
  }

  /**
   * Records one step: tokens it produced, tree nodes drafted, drafted tokens accepted, and whether it
   * drafted (default: when `drafted > 0`). The prefill's first token is a step with 0 drafted.
   */
  addStep(tokens: number, drafted: number, accepted = 0, kind: { speculative: boolean } = { speculative: drafted > 0 }): void {
    const isPrefill = this.tokens === 0;
    this.tokens += tokens;
    const fromDraft = kind.speculative ? Math.min(accepted, tokens) : 0;
    for (let index = 0; index < tokens; index++) this.sources.push(index < fromDraft ? 'draft' : 'target');
    if (isPrefill) {
      this.firstToken ??= performance.now() - this.started;
      return;
    }
    this.steps++;
    if (!kind.speculative) return;
    this.speculativeSteps++;
    this.speculativeTokens += tokens;
    this.drafted += drafted;
    this.accepted += accepted;
    this.histogram[accepted] = (this.histogram[accepted] ?? 0) + 1;
  }

  /** Records the draft calls one tree took (`DraftTreeStats.draftCalls` of `@msd/draft`). */
  addDraftRounds(rounds: number): void {
    this.rounds += rounds;
  }

  /** The statistics so far. */
  finish(): GenerationStats {
    const total = performance.now() - this.started;
    const timedDecodeMs = this.timings.draft + this.timings.verify + this.timings.overhead;
    // Untimed work inside the loop (acceptance, detokenizing) counts too, when the loop marked itself.
    const decodeMs = this.decodeStarted === undefined ? timedDecodeMs : (this.decodeEnded ?? performance.now()) - this.decodeStarted;
    const decodedTokens = Math.max(0, this.tokens - 1);
    const known = this.timings.vision + this.timings.prefill + this.timings.draftPrefill + decodeMs;
    return {
      tokens: this.tokens,
      promptTokens: this.promptTokens,
      steps: this.steps,
      tau: this.speculativeSteps ? this.speculativeTokens / this.speculativeSteps : this.steps ? 1 : 0,
      autoregressiveSteps: this.steps - this.speculativeSteps,
      draftedTokens: this.drafted,
      acceptedTokens: this.accepted,
      draftRounds: this.rounds,
      acceptedLengthHistogram: Array.from(this.histogram, (count) => count ?? 0),
      decodeTokensPerSecond: decodeMs > 0 ? (decodedTokens * 1000) / decodeMs : 0,
      tokensPerSecond: total > 0 ? (this.tokens * 1000) / total : 0,
      timeToFirstTokenMs: this.firstToken ?? total,
      tokenSources: [...this.sources],
      timings: { ...this.timings, overhead: this.timings.overhead + Math.max(0, total - known), total },
    };
  }
}
