import { InvalidArgumentError } from '@msd/core';
import { ImageTooLargeError } from './errors';

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
 * Fills unspecified (or `undefined`) limits from {@link DEFAULT_IMAGE_LIMITS}
 * and checks that each limit is a positive integer.
 *
 * @throws InvalidArgumentError when a limit is not a positive integer.
 * @example
 * ```ts
 * import { resolveImageLimits } from '@msd/vision';
 *
 * resolveImageLimits({ maxPixels: 1e6 }); // { maxPixels: 1000000, maxBytes: 67108864 }
 * ```
 */
export function resolveImageLimits(limits?: Partial<ImageLimits>): ImageLimits {
  if (limits !== undefined && (limits === null || typeof limits !== 'object')) {
    throw new InvalidArgumentError({ argument: 'limits', message: `limits must be an object like { maxPixels, maxBytes }, got ${String(limits)}.` });
  }
  // A key present but undefined keeps the default: spreading it would disable the limit.
  return {
    maxPixels: checkLimit('maxPixels', limits?.maxPixels ?? DEFAULT_IMAGE_LIMITS.maxPixels),
    maxBytes: checkLimit('maxBytes', limits?.maxBytes ?? DEFAULT_IMAGE_LIMITS.maxBytes),
  };
}

function checkLimit(name: keyof ImageLimits, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError({
      argument: `limits.${name}`,
      message: `limits.${name} must be a positive integer, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}.`,
      hint: `Omit it to use the default (${DEFAULT_IMAGE_LIMITS[name]}).`,
    });
  }
  return value;
}

/**
 * Throws {@link ImageTooLargeError} when a buffer of `width` x `height` pixels
 * would exceed `maxPixels`. Called before each allocation the pipeline makes
 * from untrusted sizes (decode, pad, resize), so none can outgrow the limit.
 */
export function checkPixels(source: string, width: number, height: number, maxPixels: number, detail: string): void {
  const pixels = width * height;
  if (!(pixels <= maxPixels)) throw new ImageTooLargeError({ source, limit: 'pixels', actual: pixels, max: maxPixels, detail });
}
