import type { SpeculationState } from './speculation-policy';

/** The kinds of request whose drafting pays off differently: sampled or greedy, with or without images. */
function kindOf(request: { temperature: number; hasImages: boolean }): string {
  return `${request.temperature > 0 ? 'sampled' : 'greedy'}/${request.hasImages ? 'images' : 'text'}`;
}

/**
 * Where the speculation policy of a pipeline's last generation of each kind (greedy or sampled,
 * with or without images) stopped. The policy of the next generation of that kind continues from
 * there, so where drafting loses (sampling on text the draft rarely predicts) a generation starts
 * with plain steps instead of paying two speculative steps to find out again; the policy's probes
 * still re-check it, counting the plain tokens of every generation of the kind.
 *
 * @example
 * ```ts
 * import { SpeculationMemory, SpeculationPolicy } from 'msd';
 *
 * const memory = new SpeculationMemory();
 * const kind = { temperature: 1, hasImages: false };
 * const policy = new SpeculationPolicy({}, memory.recall(kind));
 * // ... decode with it ...
 * memory.remember(kind, policy.state());
 * ```
 */
export class SpeculationMemory {
  private readonly states = new Map<string, SpeculationState>();

  /**
   * The state the last generation of this kind left, if any.
   *
   * @example
   * ```ts
   * memory.recall({ temperature: 0, hasImages: true });
   * ```
   */
  recall(request: { temperature: number; hasImages: boolean }): SpeculationState | undefined {
    return this.states.get(kindOf(request));
  }

  /**
   * Keeps a finished generation's policy state for the next request of its kind; `undefined` (no
   * speculative step was ever taken) keeps the previous one.
   *
   * @example
   * ```ts
   * memory.remember({ temperature: 0, hasImages: true }, policy.state());
   * ```
   */
  remember(request: { temperature: number; hasImages: boolean }, state: SpeculationState | undefined): void {
    if (state) this.states.set(kindOf(request), state);
  }

  /**
   * Forgets every state (after a change of model, threads or device).
   *
   * @example
   * ```ts
   * memory.clear();
   * ```
   */
  clear(): void {
    this.states.clear();
  }
}
