import type { KernelEnum } from 'sharp';
import { loadSharp } from './load-sharp';
import { pilResize } from './pil-resample';
import type { PreprocessorConfig, ResampleFilter } from './preprocessor-config';
import type { RgbImage } from './rgb-image';

const KERNELS: Record<ResampleFilter, keyof KernelEnum | undefined> = {
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
  if (KERNELS[filter] === undefined) return 'pil';
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

/**
 * Resizes an RGB image like Pillow's `Image.resize(..., reducing_gap=None)`.
 * With sharp/libvips it uses the closest kernel (`cubic` is Catmull-Rom like
 * PIL's bicubic, `linear` for bilinear, `lanczos3`) on the already-decoded
 * pixels (so no shrink-on-load); see {@link Resampler} for when the exact
 * JavaScript port {@link pilResize} is used instead.
 *
 * @example
 * ```ts
 * import { resizeRgb } from '@msd/vision';
 *
 * const small = await resizeRgb(image, 336, 336, 'bicubic');
 * ```
 */
export async function resizeRgb(image: RgbImage, width: number, height: number, filter: ResampleFilter, resampler: Resampler = 'auto'): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  if (chooseResampler(image.width, image.height, width, height, filter, resampler) === 'pil') {
    return pilResize(image, width, height, filter);
  }
  const sharp = await loadSharp();
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 }, limitInputPixels: false })
    .resize(width, height, { kernel: KERNELS[filter]!, fit: 'fill', fastShrinkOnLoad: false })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
