/**
 * Safety limits checked before an image is decoded.
 *
 * @example
 * ```ts
 * import { preprocessImage } from '@msd/vision';
 *
 * await preprocessImage(upload, config, { limits: { maxPixels: 4096 * 4096, maxBytes: 20 * 1024 * 1024 } });
 * ```
 */
export interface ImageLimits {
  /** Maximum width * height of the (first frame of the) image. Default 50,000,000 (e.g. 8660 x 5773). */
  maxPixels: number;
  /** Maximum size of the encoded input in bytes. Default 64 MiB. */
  maxBytes: number;
}

/**
 * The limits used when none are given.
 *
 * @example
 * ```ts
 * import { DEFAULT_IMAGE_LIMITS } from '@msd/vision';
 *
 * DEFAULT_IMAGE_LIMITS.maxPixels; // 50_000_000
 * ```
 */
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxPixels: 50_000_000,
  maxBytes: 64 * 1024 * 1024,
});

/**
 * Fills unspecified limits from {@link DEFAULT_IMAGE_LIMITS}.
 *
 * @example
 * ```ts
 * import { resolveImageLimits } from '@msd/vision';
 *
 * resolveImageLimits({ maxPixels: 1e6 }); // { maxPixels: 1000000, maxBytes: 67108864 }
 * ```
 */
export function resolveImageLimits(limits?: Partial<ImageLimits>): ImageLimits {
  return { ...DEFAULT_IMAGE_LIMITS, ...limits };
}
