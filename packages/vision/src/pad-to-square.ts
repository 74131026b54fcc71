import { checkPixels, DEFAULT_IMAGE_LIMITS } from './image-limits';
import type { RgbImage } from './rgb-image';

/**
 * LLaVA-1.5's pad colour for a normalisation mean: `int(mean * 255)` per
 * channel (truncation, exactly as LLaVA's `expand2square` call and
 * transformers' `LlavaImageProcessor` compute it).
 *
 * @example
 * ```ts
 * import { padBackground } from '@msd/vision';
 *
 * padBackground([0.48145466, 0.4578275, 0.40821073]); // [122, 116, 104]
 * ```
 */
export function padBackground(mean: readonly [number, number, number]): [number, number, number] {
  return [Math.trunc(mean[0] * 255), Math.trunc(mean[1] * 255), Math.trunc(mean[2] * 255)];
}

/**
 * Options of {@link padToSquare}.
 *
 * @example
 * ```ts
 * import { padToSquare, type PadToSquareOptions } from '@msd/vision';
 *
 * const options: PadToSquareOptions = { maxPixels: 4096 * 4096, source: 'cat.jpg' };
 * padToSquare(image, [122, 116, 104], options);
 * ```
 */
export interface PadToSquareOptions {
  /** Largest square (side²) it may allocate. Default {@link DEFAULT_IMAGE_LIMITS}.maxPixels. */
  maxPixels?: number;
  /** Names the image in the error. */
  source?: string;
}

/**
 * LLaVA-1.5 `expand2square`: places the image centred on a square canvas of
 * `background`, side = the longer side. Offsets are floored like PIL's paste.
 * Square images are returned unchanged. A 30000x1 strip would make a 2.7 GB
 * square, so the square's side² is checked against `maxPixels` first.
 *
 * @throws ImageTooLargeError when side² exceeds `options.maxPixels`.
 * @example
 * ```ts
 * import { padToSquare } from '@msd/vision';
 *
 * const square = padToSquare(image, [122, 116, 104]); // 640x480 -> 640x640
 * ```
 */
export function padToSquare(image: RgbImage, background: readonly [number, number, number], options: PadToSquareOptions = {}): RgbImage {
  const { width, height } = image;
  if (width === height) return image;
  const side = Math.max(width, height);
  const source = options.source ?? `<${width}x${height} image>`;
  checkPixels(source, side, side, options.maxPixels ?? DEFAULT_IMAGE_LIMITS.maxPixels, `${width}x${height} padded to ${side}x${side}`);
  const data = new Uint8Array(side * side * 3);
  const row = new Uint8Array(side * 3);
  for (let x = 0; x < side; x++) row.set(background, x * 3);
  for (let y = 0; y < side; y++) data.set(row, y * side * 3);
  const left = Math.floor((side - width) / 2);
  const top = Math.floor((side - height) / 2);
  const stride = width * 3;
  for (let y = 0; y < height; y++) {
    data.set(image.data.subarray(y * stride, (y + 1) * stride), ((top + y) * side + left) * 3);
  }
  return { data, width: side, height: side };
}
