import { InvalidArgumentError } from '@msd/core';

/**
 * Throws when `signal` is not an AbortSignal (a wrong object would otherwise
 * be ignored silently and the work could never be cancelled).
 */
export function checkAbortSignal(signal: unknown, argument = 'signal'): asserts signal is AbortSignal | undefined {
  if (signal === undefined) return;
  const candidate = signal as Partial<AbortSignal> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.aborted !== 'boolean' || typeof candidate.throwIfAborted !== 'function') {
    throw new InvalidArgumentError({ argument, message: `${argument} must be an AbortSignal, got ${String(signal)}.`, hint: 'Pass controller.signal.' });
  }
}

/**
 * Throws the abort reason of any aborted signal: the reason itself when it is
 * an Error (as `signal.throwIfAborted()` does), otherwise a DOMException named
 * `AbortError` with the reason as `cause`, so callers can always test `error.name`.
 */
export function throwIfAborted(...signals: ReadonlyArray<AbortSignal | undefined>): void {
  for (const signal of signals) {
    if (!signal?.aborted) continue;
    if (signal.reason instanceof Error) signal.throwIfAborted();
    throw Object.assign(new DOMException(`The operation was aborted: ${String(signal.reason)}.`, 'AbortError'), { cause: signal.reason });
  }
}
