/**
 * Runs one piece of work at a time, in call order. A pipeline holds it only while a generation
 * computes a step, never while a stream waits for its consumer, so a consumer that stops reading (or
 * drops its iterator without closing it) cannot keep other generations waiting.
 *
 * @example
 * ```ts
 * import { StepLock } from 'msd';
 *
 * const lock = new StepLock();
 * const [a, b] = await Promise.all([lock.run(async () => 1), lock.run(async () => 2)]); // one after the other
 * ```
 */
export class StepLock {
  private tail: Promise<void> = Promise.resolve();

  /**
   * Runs `work` once every earlier call has finished; resolves or rejects with its outcome.
   *
   * @example
   * ```ts
   * const output = await lock.run(() => session.run(feeds));
   * ```
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}
