import type { FailOnOptions } from 'sharp';
import { ImageDecodeError, ImageTooLargeError, UnsupportedImageFormatError } from './errors';
import { cmykToRgb } from './cmyk-to-rgb';
import { resolveImageLimits, type ImageLimits } from './image-limits';
import { readImageInput, type ImageInput } from './image-input';
import { loadSharp } from './load-sharp';
import type { RgbImage } from './rgb-image';

/**
 * Encoded formats accepted by {@link decodeImage}.
 *
 * @example
 * ```ts
 * import { SUPPORTED_IMAGE_FORMATS } from '@msd/vision';
 *
 * SUPPORTED_IMAGE_FORMATS.includes('webp'); // true
 * ```
 */
export const SUPPORTED_IMAGE_FORMATS: readonly string[] = Object.freeze(['jpeg', 'png', 'webp', 'gif', 'tiff']);

/**
 * Options of {@link decodeImage}.
 *
 * @example
 * ```ts
 * import type { DecodeImageOptions } from '@msd/vision';
 *
 * const options: DecodeImageOptions = { limits: { maxPixels: 1e7 }, failOn: 'truncated' };
 * ```
 */
export interface DecodeImageOptions {
  /** Byte and pixel limits, checked before decoding. */
  limits?: Partial<ImageLimits>;
  /** How picky the decoder is about damaged pixel data (sharp's `failOn`). Default `'error'`: truncated or corrupt data throws. */
  failOn?: FailOnOptions;
}

function isUnsupportedMessage(error: unknown): boolean {
  return /unsupported image format|bad seek|Input file is missing/i.test(String((error as Error)?.message ?? error));
}

function decodeFailure(label: string, cause: unknown): Error {
  if (isUnsupportedMessage(cause)) {
    return new UnsupportedImageFormatError({ source: label, supported: SUPPORTED_IMAGE_FORMATS, cause });
  }
  const detail = String((cause as Error)?.message ?? cause).split('\n')[0];
  return new ImageDecodeError({ source: label, message: detail ?? 'unknown decoder error', cause });
}

/**
 * Decodes an image to 8-bit RGB exactly as PIL's `ImageOps.exif_transpose` +
 * `convert('RGB')` would: first frame only, EXIF orientation applied, alpha
 * dropped without compositing, palette colours used regardless of
 * transparency, greyscale replicated, 16-bit scaled to 8-bit (`>> 8`), CMYK
 * converted with PIL's naive formula. Embedded ICC profiles are ignored, as
 * PIL and Hugging Face ignore them.
 *
 * @throws ImageSourceError, ImageTooLargeError, UnsupportedImageFormatError, ImageDecodeError
 * @example
 * ```ts
 * import { decodeImage } from '@msd/vision';
 *
 * const { data, width, height } = await decodeImage('photo.jpg');
 * ```
 */
export async function decodeImage(input: ImageInput, options: DecodeImageOptions = {}): Promise<RgbImage> {
  const limits = resolveImageLimits(options.limits);
  const failOn = options.failOn ?? 'error';
  const { bytes, label } = await readImageInput(input, limits.maxBytes);
  const sharp = await loadSharp();

  let metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false, failOn }).metadata();
  } catch (cause) {
    throw decodeFailure(label, cause);
  }
  const format = metadata.format as string | undefined;
  if (!format || !SUPPORTED_IMAGE_FORMATS.includes(format)) {
    throw new UnsupportedImageFormatError({ source: label, format, supported: SUPPORTED_IMAGE_FORMATS });
  }
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  if (width * height > limits.maxPixels) {
    throw new ImageTooLargeError({ source: label, limit: 'pixels', actual: width * height, max: limits.maxPixels, detail: `${width}x${height}` });
  }

  try {
    const pipeline = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn, ignoreIcc: true, pages: 1, page: 0 }).autoOrient();
    if (metadata.space === 'cmyk') {
      const { data, info } = await pipeline.pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`expected 4 CMYK channels, got ${info.channels}`);
      return { data: cmykToRgb(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), width: info.width, height: info.height };
    }
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 RGB channels, got ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (cause) {
    if (/pixel limit/i.test(String((cause as Error)?.message))) {
      throw new ImageTooLargeError({ source: label, limit: 'pixels', actual: width * height, max: limits.maxPixels });
    }
    throw decodeFailure(label, cause);
  }
}
