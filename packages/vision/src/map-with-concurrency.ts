/**
 * Maps `items` through `task` with at most `concurrency` tasks in flight,
 * keeping the result order. Rejects with the first error.
 *
 * @example
 * ```ts
 * // mapWithConcurrency is internal to @msd/vision (not exported): used inside the package only.
 *
 * const sizes = await mapWithConcurrency(paths, 4, async (path: string) => (await stat(path)).size);
 * ```
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}
