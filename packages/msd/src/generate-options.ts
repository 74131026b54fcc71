import { checkTreeShape, describeValue, InvalidArgumentError, LimitExceededError, type TreeShape } from '@msd/core';
import type { ImageInput } from '@msd/vision';
import { resolvePolicyOptions, type SpeculationPolicyOptions } from './speculation-policy';
import { overrideTree } from './tree-defaults';

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
  /** Generation stops before any of these strings (one string or several); the string is not returned. */
  stopStrings?: string | readonly string[];
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
  /**
   * Called for each generated token (EOS excluded) as soon as it is known, before the text it adds is
   * yielded: its id and whether it was a drafted token the target accepted (`'draft'`) or one the
   * target produced itself (`'target'`). What a UI needs to show speculation at work.
   */
  onToken?: (token: GeneratedToken) => void;
}

/** One generated token, as {@link GenerateOptions.onToken} reports it. */
export interface GeneratedToken {
  /** The token id. */
  id: number;
  /** Its index among the generated tokens (0 is the token the prefill produced). */
  index: number;
  /** `'draft'`: drafted and accepted; `'target'`: produced by the target (prefill, plain step or bonus token). */
  source: 'draft' | 'target';
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
 * // The second tree is the default when temperature > 0 (sampling accepts more with several candidates per node).
 * resolveGenerateOptions({ maxNewTokens: 32, temperature: 0.7 }, { depth: 5, branching: 1, totalTokens: 5 }, { depth: 5, branching: 3, totalTokens: 10 });
 * ```
 */
export function resolveGenerateOptions(options: GenerateOptions, defaultTree: TreeShape, samplingTree: TreeShape = defaultTree): ResolvedGenerateOptions {
  check(options !== null && typeof options === 'object', 'options', `generate() takes an options object, got ${options === null ? 'null' : typeof options}.`);
  for (const name of ['maxNewTokens', 'temperature', 'topP', 'topK', 'seed'] as const) {
    const value: unknown = options[name];
    check(value === undefined || typeof value === 'number', name, `${name} must be a number, got ${typeof value}.`);
  }
  check(
    options.speculative === undefined || typeof options.speculative === 'boolean',
    'speculative',
    `speculative must be true or false, got ${typeof options.speculative}.`,
  );
  check(
    options.tree === undefined || (options.tree !== null && typeof options.tree === 'object'),
    'tree',
    'tree must be an object with depth, branching and totalTokens.',
  );
  const adaptiveOption: unknown = options.adaptive;
  check(
    adaptiveOption === undefined || typeof adaptiveOption === 'boolean' || (adaptiveOption !== null && typeof adaptiveOption === 'object'),
    'adaptive',
    'adaptive must be true, false or an options object.',
  );
  const maxNewTokens = options.maxNewTokens ?? 64;
  const temperature = options.temperature ?? 0;
  const topP = options.topP ?? 1;
  const topK = options.topK ?? 0;
  const seed = options.seed ?? 0;
  const tree = overrideTree(typeof temperature === 'number' && temperature > 0 ? samplingTree : defaultTree, options.tree);
  check(Number.isInteger(maxNewTokens) && maxNewTokens >= 1, 'maxNewTokens', `maxNewTokens must be a positive integer, got ${maxNewTokens}.`);
  check(Number.isFinite(temperature) && temperature >= 0, 'temperature', `temperature must be 0 (greedy) or positive, got ${temperature}.`);
  check(topP > 0 && topP <= 1, 'topP', `topP must be in (0, 1], got ${topP}.`);
  check(Number.isInteger(topK) && topK >= 0, 'topK', `topK must be a non-negative integer, got ${topK}.`);
  check(Number.isSafeInteger(seed), 'seed', `seed must be a safe integer, got ${seed}.`);
  // The tree's `topK` was renamed `branching`; a stale key would otherwise be ignored without a word.
  check(!Object.hasOwn(tree, 'topK'), 'tree.topK', "tree.topK is now tree.branching (the tree's children per node); sampling's topK is a top-level option.");
  checkTreeShape(tree, { prefix: 'tree.' });
  const adaptive = options.adaptive === false ? false : resolvePolicyOptions(typeof options.adaptive === 'object' ? options.adaptive : {});
  if (adaptive) {
    const { minimumGain, initialBackoff, maximumBackoff, maximumProbeBackoff, smoothing } = adaptive;
    check(Number.isFinite(minimumGain) && minimumGain > 0, 'adaptive.minimumGain', `adaptive.minimumGain must be a positive number, got ${minimumGain}.`);
    check(
      Number.isInteger(initialBackoff) && initialBackoff >= 1,
      'adaptive.initialBackoff',
      `adaptive.initialBackoff must be a positive integer, got ${initialBackoff}.`,
    );
    check(
      Number.isInteger(maximumBackoff) && maximumBackoff >= initialBackoff,
      'adaptive.maximumBackoff',
      `adaptive.maximumBackoff must be an integer of at least initialBackoff (${initialBackoff}), got ${maximumBackoff}.`,
    );
    check(
      Number.isInteger(maximumProbeBackoff) && maximumProbeBackoff >= maximumBackoff,
      'adaptive.maximumProbeBackoff',
      `adaptive.maximumProbeBackoff must be an integer of at least maximumBackoff (${maximumBackoff}), got ${maximumProbeBackoff}.`,
    );
    check(smoothing > 0 && smoothing <= 1, 'adaptive.smoothing', `adaptive.smoothing must be in (0, 1], got ${smoothing}.`);
  }
  // One string is one stop string (as OpenAI's `stop`), never its characters.
  check(
    Array.isArray(options.stopStrings ?? []) || typeof options.stopStrings === 'string',
    'stopStrings',
    'stopStrings must be a string or an array of strings.',
  );
  const stopStrings = typeof options.stopStrings === 'string' ? [options.stopStrings] : [...(options.stopStrings ?? [])];
  check(
    stopStrings.every((stop) => typeof stop === 'string' && stop.length > 0),
    'stopStrings',
    'stopStrings must be non-empty strings.',
  );
  return { maxNewTokens, temperature, topP, topK, seed, stopStrings, speculative: options.speculative ?? true, tree, adaptive };
}

/** Limits {@link checkGenerateRequest} enforces (a subset of the pipeline's limits). */
export interface RequestLimits {
  /** Images in one request. */
  maxImages: number;
  /** Characters of text in one request. */
  maxPromptCharacters: number;
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

/** Characters of text a conversation holds; throws on a shape no tokenizer could read. */
function messageCharacters(messages: unknown): number {
  check(Array.isArray(messages), 'messages', `messages must be an array of { role, content }, got ${describeValue(messages)}.`);
  let characters = 0;
  for (const [index, message] of (messages as unknown[]).entries()) {
    check(message !== null && typeof message === 'object', `messages[${index}]`, `messages[${index}] must be an object, got ${describeValue(message)}.`);
    const { content, role } = message as { content?: unknown; role?: unknown };
    check(typeof role === 'string', `messages[${index}].role`, `messages[${index}].role must be a string, got ${describeValue(role)}.`);
    characters += (role as string).length;
    if (typeof content === 'string') {
      characters += content.length;
      continue;
    }
    check(
      Array.isArray(content),
      `messages[${index}].content`,
      `messages[${index}].content must be a string or an array of parts, got ${describeValue(content)}.`,
    );
    for (const part of content as unknown[]) {
      if (part !== null && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string')
        characters += (part as { text: string }).text.length;
    }
  }
  return characters;
}

/**
 * Checks a request's shape and size before any work: the option types, every image's form, the image
 * count and the text length against the limits. Cheap: nothing is read, decoded or tokenized.
 *
 * @example
 * ```ts
 * import { checkGenerateRequest } from 'msd';
 *
 * checkGenerateRequest({ prompt: 'Hi', images: ['a.png'] }, { maxImages: 16, maxPromptCharacters: 100_000 });
 * ```
 */
export function checkGenerateRequest(options: GenerateOptions, limits: RequestLimits): void {
  check(
    options !== null && typeof options === 'object' && !Array.isArray(options),
    'options',
    `generate() takes an options object, got ${describeValue(options)}.`,
  );
  check(options.prompt === undefined || typeof options.prompt === 'string', 'prompt', `prompt must be a string, got ${describeValue(options.prompt)}.`);
  check(options.signal === undefined || isAbortSignal(options.signal), 'signal', 'signal must be an AbortSignal.');
  check(
    options.onToken === undefined || typeof options.onToken === 'function',
    'onToken',
    `onToken must be a function, got ${describeValue(options.onToken)}.`,
  );
  const images: unknown = options.images ?? [];
  check(Array.isArray(images), 'images', `images must be an array of file paths, Buffers or data: URLs, got ${describeValue(images)}.`);
  const count = (images as unknown[]).length;
  if (count > limits.maxImages) {
    throw new LimitExceededError({ limit: 'maxImages', actual: count, max: limits.maxImages, what: 'images in the request', code: 'too_many_images' });
  }
  (images as unknown[]).forEach((image, index) => {
    const usable = (typeof image === 'string' && image.length > 0) || image instanceof Uint8Array;
    check(usable, `images[${index}]`, `images[${index}] must be a file path, a Buffer/Uint8Array or a data: URL, got ${describeValue(image)}.`);
  });
  const characters = options.messages !== undefined ? messageCharacters(options.messages) : (options.prompt ?? '').length;
  if (characters > limits.maxPromptCharacters) {
    throw new LimitExceededError({
      limit: 'maxPromptCharacters',
      actual: characters,
      max: limits.maxPromptCharacters,
      what: 'characters of text',
      code: 'prompt_too_long',
    });
  }
}
