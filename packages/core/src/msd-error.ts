const baseMarker = 'msd.error';
const baseSymbol = Symbol.for(baseMarker);

/** Options every msd error takes. */
export interface MsdErrorOptions {
  /** Machine-readable code, stable across versions (e.g. `image_too_large`). */
  code: string;
  /** What went wrong, in words a user can act on. */
  message: string;
  /** What to do about it; appended to the message and kept on `hint`. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every error msd throws.
 *
 * `instanceof` breaks when two copies of a package are installed side by side,
 * so each class carries a `Symbol.for` marker and a static `isInstance` that
 * checks the marker instead.
 *
 * @example
 * ```ts
 * import { MsdError } from '@msd/core';
 *
 * try {
 *   await run();
 * } catch (error) {
 *   if (MsdError.isInstance(error)) console.error(error.code, error.message);
 *   else throw error;
 * }
 * ```
 */
export class MsdError extends Error {
  private readonly [baseSymbol] = true;
  /** Machine-readable code, stable across versions. */
  readonly code: string;
  /** What to do about the error, when msd knows. */
  readonly hint: string | undefined;

  constructor({ code, message, hint, cause }: MsdErrorOptions) {
    super(hint ? `${message} ${hint}` : message, { cause });
    this.name = 'MsdError';
    this.code = code;
    this.hint = hint;
  }

  /** True when `error` is an msd error, from this or any other installed copy of msd. */
  static isInstance(error: unknown): error is MsdError {
    return MsdError.hasMarker(error, baseMarker);
  }

  /** True when `error` carries the marker a subclass registered under `marker`. */
  protected static hasMarker(error: unknown, marker: string): boolean {
    const symbol = Symbol.for(marker);
    return error != null && typeof error === 'object' && symbol in error && (error as Record<symbol, unknown>)[symbol] === true;
  }
}
