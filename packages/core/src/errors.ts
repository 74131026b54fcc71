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
