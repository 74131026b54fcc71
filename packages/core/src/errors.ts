import { MsdError } from './msd-error';

const invalidArgumentMarker = 'msd.error.InvalidArgumentError';
const invalidArgumentSymbol = Symbol.for(invalidArgumentMarker);

/**
 * A function was called with an argument it cannot use.
 *
 * @example
 * ```ts
 * import { InvalidArgumentError } from '@msd/core';
 *
 * throw new InvalidArgumentError({
 *   argument: 'maxNewTokens',
 *   message: 'maxNewTokens must be a positive integer, got -1.',
 * });
 * ```
 */
export class InvalidArgumentError extends MsdError {
  private readonly [invalidArgumentSymbol] = true;
  /** Name of the offending argument. */
  readonly argument: string;

  constructor(options: { argument: string; message: string; hint?: string; cause?: unknown }) {
    super({ code: 'invalid_argument', ...options });
    this.name = 'InvalidArgumentError';
    this.argument = options.argument;
  }

  /** True when `error` is an {@link InvalidArgumentError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is InvalidArgumentError {
    return MsdError.hasMarker(error, invalidArgumentMarker);
  }
}

const configMarker = 'msd.error.ConfigError';
const configSymbol = Symbol.for(configMarker);

/**
 * A configuration file (config.json, tokenizer.json, preprocessor_config.json, ...)
 * is missing, unreadable, or holds values msd cannot use.
 *
 * @example
 * ```ts
 * import { ConfigError } from '@msd/core';
 *
 * throw new ConfigError({
 *   path: 'model/preprocessor_config.json',
 *   message: 'image_mean must have 3 entries.',
 *   hint: 'Fix the file or pass the value explicitly.',
 * });
 * ```
 */
export class ConfigError extends MsdError {
  private readonly [configSymbol] = true;
  /** The file or option path the problem was found in, when known. */
  readonly path: string | undefined;

  constructor(options: { path?: string; message: string; hint?: string; cause?: unknown; code?: string }) {
    const where = options.path ? `${options.path}: ` : '';
    super({ code: options.code ?? 'invalid_config', message: `${where}${options.message}`, hint: options.hint, cause: options.cause });
    this.name = 'ConfigError';
    this.path = options.path;
  }

  /** True when `error` is a {@link ConfigError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is ConfigError {
    return MsdError.hasMarker(error, configMarker);
  }
}

const abortedMarker = 'msd.error.AbortedError';
const abortedSymbol = Symbol.for(abortedMarker);

/**
 * Work was stopped on purpose: an `AbortSignal` fired, the consumer stopped reading a stream, or the
 * pipeline was closed. Its `name` is `'AbortError'`, as for the DOM's abort errors, so code that
 * checks `error.name === 'AbortError'` keeps working; its `code` is `aborted`.
 *
 * @example
 * ```ts
 * import { AbortedError } from '@msd/core';
 *
 * try {
 *   await pipeline.generate({ prompt: 'Hi', signal: AbortSignal.timeout(100) });
 * } catch (error) {
 *   if (AbortedError.isInstance(error)) console.error('stopped:', error.message);
 * }
 * ```
 */
export class AbortedError extends MsdError {
  private readonly [abortedSymbol] = true;

  constructor(options: { message?: string; hint?: string; cause?: unknown } = {}) {
    super({ code: 'aborted', message: options.message ?? 'The operation was aborted.', hint: options.hint, cause: options.cause });
    this.name = 'AbortError';
  }

  /** True when `error` is an {@link AbortedError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is AbortedError {
    return MsdError.hasMarker(error, abortedMarker);
  }
}

const limitMarker = 'msd.error.LimitExceededError';
const limitSymbol = Symbol.for(limitMarker);

/**
 * A request is larger than a configured safety limit (images per request, prompt characters,
 * threads, ...). Raised before any expensive work starts; the message names the limit, the value
 * found and how to raise it.
 *
 * @example
 * ```ts
 * import { LimitExceededError } from '@msd/core';
 *
 * throw new LimitExceededError({ limit: 'maxImages', actual: 40, max: 16, code: 'too_many_images', what: 'images in the request' });
 * ```
 */
export class LimitExceededError extends MsdError {
  private readonly [limitSymbol] = true;
  /** Name of the limit option, e.g. `maxImages`. */
  readonly limit: string;
  /** The value the request had. */
  readonly actual: number;
  /** The largest value allowed. */
  readonly max: number;

  constructor(options: { limit: string; actual: number; max: number; what: string; code?: string; hint?: string }) {
    super({
      code: options.code ?? 'limit_exceeded',
      message: `Too many ${options.what}: ${options.actual}, the limit ${options.limit} is ${options.max}.`,
      hint: options.hint ?? `Send less, or raise \`limits.${options.limit}\` if this machine can afford it.`,
    });
    this.name = 'LimitExceededError';
    this.limit = options.limit;
    this.actual = options.actual;
    this.max = options.max;
  }

  /** True when `error` is a {@link LimitExceededError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is LimitExceededError {
    return MsdError.hasMarker(error, limitMarker);
  }
}
