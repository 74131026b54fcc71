/**
 * A decoded 8-bit RGB image, interleaved (HWC), row-major.
 *
 * @example
 * ```ts
 * import type { RgbImage } from '@msd/vision';
 *
 * const red: RgbImage = { data: new Uint8Array([255, 0, 0]), width: 1, height: 1 };
 * ```
 */
export interface RgbImage {
  /** `width * height * 3` bytes, R G B per pixel. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}
