import type { DraftRunner, DraftStepOutput } from './draft-runner';
import { DraftOutputError } from './errors';

/**
 * Throws {@link DraftOutputError} unless `output` has `rows` rows and `cache` holds `expectedLength`
 * positions. Internal to the package.
 */
export function checkStepOutput<Cache>(runner: DraftRunner<Cache>, output: DraftStepOutput, cache: Cache, rows: number, expectedLength: number): void {
  const sizes: [keyof DraftStepOutput, ArrayLike<number>, number][] = [
    ['hidden', output.hidden, rows * runner.hiddenSize],
    ['topkLogprobs', output.topkLogprobs, rows * runner.candidatesPerRow],
    ['topkIds', output.topkIds, rows * runner.candidatesPerRow],
  ];
  for (const [name, values, expected] of sizes) {
    if (values.length !== expected) {
      throw new DraftOutputError({
        output: name,
        message: `The draft step over ${rows} row(s) returned ${values.length} ${name} values; expected ${expected}.`,
      });
    }
  }
  const length = runner.cacheLength(cache);
  if (length !== expectedLength) {
    throw new DraftOutputError({ output: 'cache', message: `The draft cache holds ${length} positions after the step; expected ${expectedLength}.` });
  }
}
