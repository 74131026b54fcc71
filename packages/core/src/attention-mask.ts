/**
 * The additive attention-mask value for a position that must not be attended to: the smallest
 * float32, as the msd toolchain exports it (`np.finfo(np.float32).min`). `0` means "may attend".
 * Shared here because the drafter, the verifier and the decode loop must all agree on it.
 *
 * @example
 * ```ts
 * import { blockedAttention } from '@msd/core';
 *
 * const canSee = mask[row * width + column] !== blockedAttention;
 * ```
 */
export const blockedAttention = -3.4028234663852886e38;

/**
 * Builds the additive causal mask `[length, past + length]` (row-major) for `length` new positions
 * appended after `past` cached ones: row `t` may attend to every cached position and to new
 * positions `0..t`; everything else is {@link blockedAttention}.
 *
 * @example
 * ```ts
 * import { causalAttentionMask } from '@msd/core';
 *
 * const mask = causalAttentionMask(3, 2); // 2 rows x 5 columns
 * // row 0: [0, 0, 0, 0, blocked]; row 1: [0, 0, 0, 0, 0]
 * ```
 */
export function causalAttentionMask(past: number, length: number): Float32Array {
  const width = past + length;
  const mask = new Float32Array(length * width);
  for (let row = 0; row < length; row++) {
    mask.fill(blockedAttention, row * width + past + row + 1, (row + 1) * width);
  }
  return mask;
}
