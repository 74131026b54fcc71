import { InvalidArgumentError, draftTreeProblem } from '@msd/core';
import type { DraftTree } from '@msd/core';
import { InvalidDraftTreeError } from './errors';

/** Throws an {@link InvalidDraftTreeError} unless `tree` is well formed. @internal */
export function assertDraftTree(tree: DraftTree): void {
  const problem = draftTreeProblem(tree);
  if (problem !== undefined) throw new InvalidDraftTreeError({ problem });
}

/** Throws an `InvalidArgumentError` unless `value` is a non-negative safe integer. @internal */
export function assertCount(value: number, argument: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a non-negative integer, got ${value}.` });
  }
}

/** Throws an `InvalidArgumentError` unless `buffer` holds at least `needed` elements. @internal */
export function assertCapacity(buffer: { length: number }, needed: number, argument: string): void {
  if (buffer.length < needed) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} holds ${buffer.length} elements but ${needed} are needed.`,
      hint: 'Pass a larger buffer, or none to have one allocated.',
    });
  }
}
