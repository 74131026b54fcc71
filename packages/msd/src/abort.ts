import { AbortedError } from '@msd/core';

/** The `AbortError` of a generation stopped by `signal`, with the signal's reason as its cause. */
export function abortedBy(signal: AbortSignal): AbortedError {
  return new AbortedError({ message: 'Generation was aborted.', cause: signal.reason });
}

/** Throws {@link abortedBy} when `signal` has fired; the check between every stage of a generation. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedBy(signal);
}
