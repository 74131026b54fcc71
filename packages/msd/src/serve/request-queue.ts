import { AbortedError } from '@msd/core';
import { HttpError } from './http-error';

interface Waiter {
  start: () => void;
  fail: (error: unknown) => void;
}

/**
 * First come, first served, one at a time: the one pipeline decodes one request while the others
 * wait, up to `maxWaiting` of them; one more is refused with 429. A waiting request whose client
 * leaves (its signal aborts) leaves the queue at once.
 *
 * @example
 * ```ts
 * import { RequestQueue } from 'msd/serve';
 *
 * const queue = new RequestQueue(16);
 * const release = await queue.enter(signal);
 * try {
 *   await generate();
 * } finally {
 *   release();
 * }
 * ```
 */
export class RequestQueue {
  private readonly waiters: Waiter[] = [];
  private busy = false;

  /** @param maxWaiting Requests allowed to wait while one runs. */
  constructor(readonly maxWaiting: number) {}

  /** Requests waiting for their turn (the running one excluded). */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Whether a request is running. */
  get running(): boolean {
    return this.busy;
  }

  /**
   * Waits for this request's turn and returns the function that ends it (call it exactly once).
   * Throws a 429 {@link HttpError} when the queue is full, an `AbortError` when `signal` fires while
   * waiting.
   */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new AbortedError({ message: 'The client left before its request started.' });
    if (!this.busy) {
      this.busy = true;
      return this.releaser();
    }
    if (this.waiters.length >= this.maxWaiting) {
      throw new HttpError({
        status: 429,
        code: 'queue_full',
        message: `The server is busy: ${this.waiters.length} requests are already waiting.`,
        hint: 'Retry later, or run more replicas behind a load balancer (docs/serve.md).',
        headers: { 'Retry-After': '1' },
      });
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: reject,
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new AbortedError({ message: 'The client left while its request was waiting.' }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
    return this.releaser();
  }

  /** Refuses every waiting request with `error` (shutting down); the running one is left to finish. */
  rejectWaiting(error: unknown): void {
    for (const waiter of this.waiters.splice(0)) waiter.fail(error);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.start();
      else this.busy = false;
    };
  }
}
