import type { PreprocessorConfig, ResampleFilter } from './preprocessor-config';

/**
 * The libvips kernel nearest each PIL filter; box and hamming have none, so they always resize with the port of
 * Pillow. Plain strings (sharp's `KernelEnum` keys), so this module needs no sharp types and browsers can load it.
 */
export const LIBVIPS_KERNELS: Readonly<Record<ResampleFilter, 'nearest' | 'linear' | 'cubic' | 'lanczos3' | undefined>> = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
  box: undefined,
  hamming: undefined,
};

/**
 * Which implementation resizes: `'sharp'` (libvips, fast, close to PIL when
 * downscaling), `'pil'` (exact JavaScript port of Pillow, slower on large
 * images), or `'auto'` (default): `'pil'` when upscaling on either axis (libvips
 * samples at a different pixel-centre offset there) or for box/hamming
 * filters (no libvips equivalent), `'sharp'` otherwise.
 *
 * @example
 * ```ts
 * const options = { resampler: 'pil' as Resampler };
 * ```
 */
export type Resampler = (typeof RESAMPLERS)[number];

/**
 * Every {@link Resampler}, for validating user input (CLI flags, request fields) in one place.
 *
 * @example
 * ```ts
 * import { RESAMPLERS } from '@msd/vision';
 *
 * RESAMPLERS.includes('pil'); // true
 * ```
 */
export const RESAMPLERS: readonly ['pil', 'auto', 'sharp'] = ['pil', 'auto', 'sharp'];

/**
 * The implementation {@link resizeRgb} uses for a given resize.
 *
 * @example
 * ```ts
 * import { chooseResampler } from '@msd/vision';
 *
 * chooseResampler(32, 32, 336, 336, 'bicubic', 'auto'); // 'pil' (upscaling)
 * ```
 */
export function chooseResampler(
  inWidth: number,
  inHeight: number,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
  resampler: Resampler = 'auto',
): 'sharp' | 'pil' {
  if (LIBVIPS_KERNELS[filter] === undefined) return 'pil';
  if (resampler !== 'auto') return resampler;
  return outWidth > inWidth || outHeight > inHeight ? 'pil' : 'sharp';
}

/**
 * The (width, height) the resize step produces, computed as Hugging Face's
 * `get_resize_output_image_size` does (shortest edge to `size`, the long side
 * truncated; or the exact `{ height, width }`).
 *
 * @example
 * ```ts
 * import { resizeTarget } from '@msd/vision';
 *
 * resizeTarget(640, 480, { shortestEdge: 336 }); // { width: 448, height: 336 }
 * ```
 */
export function resizeTarget(width: number, height: number, size: PreprocessorConfig['size']): { width: number; height: number } {
  if (!('shortestEdge' in size)) return { width: size.width, height: size.height };
  const target = size.shortestEdge;
  if (width <= height) return { width: target, height: Math.trunc((target * height) / width) };
  return { width: Math.trunc((target * width) / height), height: target };
}
