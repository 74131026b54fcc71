import { InvalidArgumentError } from '@msd/core';
import { assertCapacity } from './validate';

/**
 * The index of the largest value in each row of row-major `[rows, vocabSize]` logits (the first on a
 * tie; NaN never wins) — the target's greedy prediction after each tree node.
 *
 * @param logits - Row-major logits, e.g. the target's `[1, T, vocab]` output.
 * @param vocabSize - Length of one row.
 * @param out - Optional buffer of at least `rows` elements; the result is a view of its first `rows`.
 * @throws InvalidArgumentError when `logits.length` is not a positive multiple of `vocabSize`.
 *
 * @example
 * ```ts
 * import { argmaxPerRow } from '@msd/verifier';
 *
 * argmaxPerRow(Float32Array.of(0, 2, 1, 5, 0, 0), 3); // Int32Array [1, 0]
 * ```
 */
export function argmaxPerRow(logits: Float32Array, vocabSize: number, out?: Int32Array): Int32Array {
  if (!Number.isSafeInteger(vocabSize) || vocabSize < 1 || logits.length % vocabSize !== 0) {
    throw new InvalidArgumentError({
      argument: 'vocabSize',
      message: `logits of length ${logits.length} cannot be split into rows of vocabSize ${vocabSize}.`,
      hint: 'Pass the vocabulary size of the model that produced the logits.',
    });
  }
  const rows = logits.length / vocabSize;
  if (out) assertCapacity(out, rows, 'out');
  const result = out ? out.subarray(0, rows) : new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const start = row * vocabSize;
    let best = 0;
    let bestValue = -Infinity;
    for (let index = 0; index < vocabSize; index++) {
      const value = logits[start + index]!;
      if (value > bestValue) {
        bestValue = value;
        best = index;
      }
    }
    result[row] = best;
  }
  return result;
}

/**
 * The index of the largest value of one logits row (the first one on ties): the target's greedy
 * token at one position.
 *
 * @example
 * ```ts
 * import { argmax } from '@msd/verifier';
 *
 * const next = argmax(step.logits.subarray(0, vocabSize));
 * ```
 */
export function argmax(row: Float32Array): number {
  return argmaxPerRow(row, row.length)[0]!;
}
