import { loadSharp } from './load-sharp';
import { pilResize } from './pil-resample';
import type { ResampleFilter } from './preprocessor-config';
import { chooseResampler, LIBVIPS_KERNELS, type Resampler } from './resampler';
import type { RgbImage } from './rgb-image';

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
    .resize(width, height, { kernel: LIBVIPS_KERNELS[filter]!, fit: 'fill', fastShrinkOnLoad: false })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
