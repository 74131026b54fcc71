import type { PreprocessorConfig } from './preprocessor-config';
import type { RgbImage } from './rgb-image';

/**
 * Centre-crops (Hugging Face `center_crop`: offsets floored, zero padding when
 * the image is smaller), rescales and normalises an RGB image into planar
 * float32 (CHW), writing at `offset` of `out`.
 *
 * @returns `out`.
 * @example
 * ```ts
 * import { writeChwTensor } from '@msd/vision';
 *
 * const out = new Float32Array(3 * 336 * 336);
 * writeChwTensor(resized, config, 336, 336, out, 0);
 * ```
 */
export function writeChwTensor(
  image: RgbImage,
  config: Pick<PreprocessorConfig, 'doRescale' | 'rescaleFactor' | 'doNormalize' | 'imageMean' | 'imageStd'>,
  outHeight: number,
  outWidth: number,
  out: Float32Array,
  offset = 0,
): Float32Array {
  const { width, height, data } = image;
  // Top-left of the crop window in image coordinates (negative: zero padding).
  const padTop = Math.floor(Math.max(outHeight - height, 0) / 2);
  const padLeft = Math.floor(Math.max(outWidth - width, 0) / 2);
  const top = Math.floor((Math.max(height, outHeight) - outHeight) / 2) - padTop;
  const left = Math.floor((Math.max(width, outWidth) - outWidth) / 2) - padLeft;
  const plane = outHeight * outWidth;
  for (let c = 0; c < 3; c++) {
    const scale = config.doRescale ? Math.fround(config.rescaleFactor) : 1;
    const mean = config.doNormalize ? Math.fround(config.imageMean[c]!) : 0;
    const std = config.doNormalize ? Math.fround(config.imageStd[c]!) : 1;
    const base = offset + c * plane;
    for (let y = 0; y < outHeight; y++) {
      const sy = y + top;
      const rowBase = base + y * outWidth;
      for (let x = 0; x < outWidth; x++) {
        const sx = x + left;
        const value = sy >= 0 && sy < height && sx >= 0 && sx < width ? data[(sy * width + sx) * 3 + c]! : 0;
        out[rowBase + x] = Math.fround(Math.fround(value * scale) - mean) / std;
      }
    }
  }
  return out;
}
