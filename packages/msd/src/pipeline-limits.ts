import { describeValue, InvalidArgumentError, LimitExceededError } from '@msd/core';
import { checkThreadCount } from '@msd/runtime';
import { DEFAULT_MAX_PROMPT_CHARACTERS } from '@msd/tokenizer';

/**
 * Safety limits of a pipeline, checked before any expensive work (reading or decoding an image,
 * tokenizing, loading a session): a request over a limit gets a {@link LimitExceededError} naming it.
 */
export interface PipelineLimits {
  /** Images in one request. Default 16 (LLaVA-1.5's 4096 positions hold 7 of its 576-position images). */
  maxImages: number;
  /**
   * Characters of text in one request (prompt, or every text part of `messages`). Default 50,000
   * (`@msd/tokenizer`'s default: tokenizing it takes well under a second on a 2-core CPU; 1 MB took 7-26 s).
   */
  maxPromptCharacters: number;
  /** Encoded bytes of one image (file, buffer or data: URL). Default 64 MiB. */
  maxImageBytes: number;
  /** Pixels of one image after LLaVA's pad-to-square. Default 50,000,000. */
  maxImagePixels: number;
  /** onnxruntime threads per operator (`session.intraOpNumThreads`). Default: this machine's cores. */
  maxThreads: number;
}

/**
 * The limits a pipeline uses where {@link PipelineOptions.limits} leaves them out.
 *
 * @example
 * ```ts
 * import { defaultPipelineLimits } from 'msd';
 *
 * defaultPipelineLimits().maxImages; // 16
 * ```
 */
export function defaultPipelineLimits(): PipelineLimits {
  return {
    maxImages: 16,
    maxPromptCharacters: DEFAULT_MAX_PROMPT_CHARACTERS,
    maxImageBytes: 64 * 1024 * 1024,
    maxImagePixels: 50_000_000,
    maxThreads: logicalCores(),
  };
}

/**
 * This machine's logical cores: Node's `os.availableParallelism()`, or the browser's
 * `navigator.hardwareConcurrency`. Read without importing `node:os`, so this module runs in both.
 */
function logicalCores(): number {
  const nodeOs = (globalThis as { process?: { getBuiltinModule?: (id: 'node:os') => { availableParallelism(): number } } }).process?.getBuiltinModule?.(
    'node:os',
  );
  if (nodeOs) return nodeOs.availableParallelism();
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 4;
}

/**
 * Fills defaults and checks that every limit is a positive integer (or `Infinity`, to turn it off).
 *
 * @example
 * ```ts
 * import { resolvePipelineLimits } from 'msd';
 *
 * resolvePipelineLimits({ maxImages: 4 }).maxImages; // 4
 * ```
 */
export function resolvePipelineLimits(limits: Partial<PipelineLimits> = {}): PipelineLimits {
  if (limits === null || typeof limits !== 'object') {
    throw new InvalidArgumentError({ argument: 'limits', message: `limits must be an object, got ${describeValue(limits)}.` });
  }
  const resolved = { ...defaultPipelineLimits(), ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!(value === Infinity || (Number.isSafeInteger(value) && value >= 1))) {
      throw new InvalidArgumentError({ argument: `limits.${name}`, message: `limits.${name} must be a positive integer or Infinity, got ${String(value)}.` });
    }
  }
  return resolved;
}

/**
 * Checks onnxruntime's thread count (`checkThreadCount` of `@msd/runtime`) and the limit, before any
 * session opens: 100,000 threads take minutes to start.
 */
export function checkThreads(threads: unknown, argument: string, limits: PipelineLimits): void {
  checkThreadCount(threads, argument);
  if (threads !== undefined && (threads as number) > limits.maxThreads) {
    throw new LimitExceededError({
      limit: 'maxThreads',
      actual: threads as number,
      max: limits.maxThreads,
      what: 'threads',
      code: 'too_many_threads',
      hint: `This machine has ${logicalCores()} cores; more threads than cores only slow onnxruntime down. Raise \`limits.maxThreads\` to allow it.`,
    });
  }
}
