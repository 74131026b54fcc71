import { InvalidArgumentError } from '@msd/core';

/**
 * The rows `rows` of a row-major `[n * width]` array, in that order, as one new `[rows.length * width]`
 * array: e.g. the target's hidden states of the accepted tree nodes, which the draft consumes next.
 *
 * @example
 * ```ts
 * import { selectRows } from '@msd/verifier';
 *
 * const acceptedHidden = selectRows(verified.hidden, acceptance.acceptedNodes, hiddenSize);
 * ```
 */
export function selectRows(data: Float32Array, rows: ArrayLike<number>, width: number): Float32Array {
  if (!Number.isSafeInteger(width) || width < 1 || data.length % width !== 0) {
    throw new InvalidArgumentError({ argument: 'width', message: `data of length ${data.length} cannot be split into rows of ${width}.` });
  }
  const count = data.length / width;
  const out = new Float32Array(rows.length * width);
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!;
    if (!Number.isInteger(row) || row < 0 || row >= count) {
      throw new InvalidArgumentError({ argument: 'rows', message: `row ${row} is outside [0, ${count}).` });
    }
    out.set(data.subarray(row * width, (row + 1) * width), index * width);
  }
  return out;
}
