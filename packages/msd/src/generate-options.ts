import { InvalidArgumentError } from '@msd/core';
import type { ImageInput } from '@msd/vision';
import { SPECULATION_POLICY_DEFAULTS, type SpeculationPolicyOptions } from './speculation-policy';

/** Shape of the draft tree: EAGLE-2's depth, top-k per level and total nodes. */
export interface TreeShape {
  /** Levels below the root. */
  depth: number;
  /** Candidates kept per level (and children per node). */
  topK: number;
  /** Drafted nodes verified per step (root excluded). */
  totalTokens: number;
}

/** Options of `generate()` and `stream()`. */
export interface GenerateOptions {
  /** The question; images go before it unless `messages` is given. */
  prompt?: string;
  /** Images for the prompt (file path, Buffer/Uint8Array or data: URL), in order. */
  images?: readonly ImageInput[];
  /** Full conversation instead of `prompt` (`{ type: 'image' }` parts mark where images go). */
  messages?: ReadonlyArray<import('@msd/tokenizer').ChatMessage>;
  /** Most tokens to generate. Default 64. */
  maxNewTokens?: number;
  /** 0 (default) decodes greedily; above 0 samples. */
  temperature?: number;
  /** Nucleus sampling threshold in (0, 1]. Default 1 (off). */
  topP?: number;
  /** Sample only among the k most likely tokens. Default 0 (off). */
  topK?: number;
  /** Seed of the random source used when sampling. Default 0. */
  seed?: number;
  /** Generation stops before any of these strings; the string is not returned. */
  stopStrings?: readonly string[];
  /** Aborting stops generation cleanly with an `AbortError`. */
  signal?: AbortSignal;
  /** Use the draft (default true); false decodes autoregressively with the target alone. */
  speculative?: boolean;
  /** Tree shape per step (default from the pipeline). */
  tree?: Partial<TreeShape>;
  /**
   * Fall back to autoregressive steps while drafting does not pay off (a {@link SpeculationPolicy}
   * with these settings), then probe again. The policy continues where the pipeline's last
   * generation of the same kind (greedy or sampled, with or without images) left it
   * (`pipeline.speculationMemory`). Default true; false drafts at every step. Output is exact
   * either way.
   */
  adaptive?: boolean | SpeculationPolicyOptions;
}

/** Validated generation settings. */
export interface ResolvedGenerateOptions {
  /** Most tokens to generate. */
  maxNewTokens: number;
  /** Sampling temperature; 0 is greedy. */
  temperature: number;
  /** Nucleus threshold. */
  topP: number;
  /** Top-k filter; 0 is off. */
  topK: number;
  /** Random seed. */
  seed: number;
  /** Stop strings. */
  stopStrings: string[];
  /** Whether to draft and verify. */
  speculative: boolean;
  /** Tree shape. */
  tree: TreeShape;
  /** Settings of the speculation policy, or false to draft at every step. */
  adaptive: Required<SpeculationPolicyOptions> | false;
}

function check(condition: boolean, argument: string, message: string): void {
  if (!condition) throw new InvalidArgumentError({ argument, message });
}

/**
 * Fills defaults and rejects values generation cannot use, with a typed error naming the option.
 *
 * @example
 * ```ts
 * import { resolveGenerateOptions } from 'msd';
 *
 * resolveGenerateOptions({ maxNewTokens: 32, temperature: 0.7 }, { depth: 4, topK: 4, totalTokens: 12 });
 * ```
 */
export function resolveGenerateOptions(options: GenerateOptions, defaultTree: TreeShape): ResolvedGenerateOptions {
  const maxNewTokens = options.maxNewTokens ?? 64;
  const temperature = options.temperature ?? 0;
  const topP = options.topP ?? 1;
  const topK = options.topK ?? 0;
  const seed = options.seed ?? 0;
  const tree = { ...defaultTree, ...options.tree };
  check(Number.isInteger(maxNewTokens) && maxNewTokens >= 1, 'maxNewTokens', `maxNewTokens must be a positive integer, got ${maxNewTokens}.`);
  check(Number.isFinite(temperature) && temperature >= 0, 'temperature', `temperature must be 0 (greedy) or positive, got ${temperature}.`);
  check(topP > 0 && topP <= 1, 'topP', `topP must be in (0, 1], got ${topP}.`);
  check(Number.isInteger(topK) && topK >= 0, 'topK', `topK must be a non-negative integer, got ${topK}.`);
  check(Number.isInteger(seed), 'seed', `seed must be an integer, got ${seed}.`);
  check(Number.isInteger(tree.depth) && tree.depth >= 1, 'tree.depth', `tree.depth must be a positive integer, got ${tree.depth}.`);
  check(Number.isInteger(tree.topK) && tree.topK >= 1, 'tree.topK', `tree.topK must be a positive integer, got ${tree.topK}.`);
  check(Number.isInteger(tree.totalTokens) && tree.totalTokens >= 1, 'tree.totalTokens', `tree.totalTokens must be a positive integer, got ${tree.totalTokens}.`);
  const adaptive = options.adaptive === false ? false : { ...SPECULATION_POLICY_DEFAULTS, ...(typeof options.adaptive === 'object' ? options.adaptive : {}) };
  if (adaptive) {
    const { minimumGain, initialBackoff, maximumBackoff, smoothing } = adaptive;
    check(Number.isFinite(minimumGain) && minimumGain > 0, 'adaptive.minimumGain', `adaptive.minimumGain must be a positive number, got ${minimumGain}.`);
    check(Number.isInteger(initialBackoff) && initialBackoff >= 1, 'adaptive.initialBackoff', `adaptive.initialBackoff must be a positive integer, got ${initialBackoff}.`);
    check(Number.isInteger(maximumBackoff) && maximumBackoff >= initialBackoff, 'adaptive.maximumBackoff', `adaptive.maximumBackoff must be an integer of at least initialBackoff (${initialBackoff}), got ${maximumBackoff}.`);
    check(smoothing > 0 && smoothing <= 1, 'adaptive.smoothing', `adaptive.smoothing must be in (0, 1], got ${smoothing}.`);
  }
  const stopStrings = [...(options.stopStrings ?? [])];
  check(stopStrings.every((stop) => typeof stop === 'string' && stop.length > 0), 'stopStrings', 'stopStrings must be non-empty strings.');
  return { maxNewTokens, temperature, topP, topK, seed, stopStrings, speculative: options.speculative ?? true, tree, adaptive };
}
