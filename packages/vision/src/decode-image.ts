import type { FailOnOptions } from 'sharp';
import { ImageDecodeError, ImageTooLargeError, UnsupportedImageFormatError } from './errors';
import { cmykToRgb } from './cmyk-to-rgb';
import { checkPixels, resolveImageLimits, type ImageLimits } from './image-limits';
import { readImageInput, type ImageInput } from './image-input';
import { loadSharp } from './load-sharp';
import type { RgbImage } from './rgb-image';
import { checkAbortSignal, throwIfAborted } from './throw-if-aborted';

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
 * const options: DecodeImageOptions = { limits: { maxPixels: 1e7 }, failOn: 'truncated', signal: AbortSignal.timeout(5000) };
 * ```
 */
export interface DecodeImageOptions {
  /** Byte and pixel limits, checked before decoding. Each must be a positive integer. */
  limits?: Partial<ImageLimits>;
  /** How picky the decoder is about damaged pixel data (sharp's `failOn`). Default `'error'`: truncated or corrupt data throws. */
  failOn?: FailOnOptions;
  /**
   * Cancels the work. Checked before anything is read and between stages; once aborted, the call throws the
   * signal's reason if it is an Error, else a DOMException named `AbortError`. A stage already running in sharp finishes first.
   */
  signal?: AbortSignal;
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

/** Maps what sharp or an allocation threw while making pixels to a typed error. */
function pixelFailure(label: string, cause: unknown, pixels: number, maxPixels: number): Error {
  // A RangeError is an allocation over the typed-array limit; libvips says "pixel limit" for limitInputPixels.
  if (cause instanceof RangeError || /pixel limit/i.test(String((cause as Error)?.message))) {
    return new ImageTooLargeError({ source: label, limit: 'pixels', actual: pixels, max: maxPixels, cause });
  }
  return decodeFailure(label, cause);
}

/**
 * An image read and probed but not decoded: the header facts every size check
 * runs on before any pixel exists.
 */
export interface ProbedImage {
  /** The encoded image. */
  bytes: Uint8Array;
  /** Names the image in errors. */
  label: string;
  /** Width of the first frame, from the header (before EXIF orientation). */
  width: number;
  /** Height of the first frame (`pageHeight` for animated images), from the header. */
  height: number;
  /** CMYK images decode through {@link cmykToRgb}. */
  cmyk: boolean;
  /**
   * 16-bit greyscale without alpha. PIL opens it in mode `I;16`, and `convert('RGB')` clips its values
   * to 255 instead of scaling them, so it decodes through {@link clipGrey16}.
   */
  grey16?: boolean;
}

/**
 * Reads an input and probes its header: format supported, first frame within
 * `limits.maxPixels`. Decodes nothing.
 */
export async function probeImage(input: ImageInput, limits: ImageLimits, failOn: FailOnOptions, signal?: AbortSignal): Promise<ProbedImage> {
  const { bytes, label } = await readImageInput(input, limits.maxBytes, signal);
  throwIfAborted(signal);
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
  // Animated images report all frames stacked in `height`; only the first frame (`pageHeight`) is decoded.
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  checkPixels(label, width, height, limits.maxPixels, `${width}x${height}`);
  const grey16 = metadata.depth === 'ushort' && metadata.channels === 1;
  return { bytes, label, width, height, cmyk: metadata.space === 'cmyk', grey16 };
}

/** Decodes the first frame of a probed image to 8-bit RGB (see {@link decodeImage}). */
export async function decodeProbed(probed: ProbedImage, limits: ImageLimits, failOn: FailOnOptions): Promise<RgbImage> {
  const sharp = await loadSharp();
  try {
    const pipeline = sharp(probed.bytes, { limitInputPixels: limits.maxPixels, failOn, ignoreIcc: true, pages: 1, page: 0 }).autoOrient();
    if (probed.cmyk) {
      const { data, info } = await pipeline.pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`expected 4 CMYK channels, got ${info.channels}`);
      return { data: cmykToRgb(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), width: info.width, height: info.height };
    }
    if (probed.grey16) {
      const { data, info } = await pipeline.toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      if (info.channels !== 1) throw new Error(`expected 1 grey channel, got ${info.channels}`);
      return { data: clipGrey16(new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)), width: info.width, height: info.height };
    }
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 RGB channels, got ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (cause) {
    throw pixelFailure(probed.label, cause, probed.width * probed.height, limits.maxPixels);
  }
}

/**
 * 16-bit grey values to 8-bit RGB as PIL converts mode `I;16`: values above 255 clip to 255 (a 16-bit
 * greyscale PNG is mostly white in PIL, and so in Hugging Face's processors), each replicated 3 times.
 *
 * @example
 * ```ts
 * clipGrey16(new Uint16Array([0, 200, 30000])); // Uint8Array [0, 0, 0, 200, 200, 200, 255, 255, 255]
 * ```
 */
export function clipGrey16(values: Uint16Array): Uint8Array {
  const rgb = new Uint8Array(values.length * 3);
  for (let index = 0; index < values.length; index++) rgb.fill(Math.min(values[index]!, 255), index * 3, index * 3 + 3);
  return rgb;
}

/**
 * Decodes an image to 8-bit RGB exactly as PIL's `ImageOps.exif_transpose` +
 * `convert('RGB')` would: first frame only, EXIF orientation applied, alpha
 * dropped without compositing, palette colours used regardless of
 * transparency, greyscale replicated, 16-bit colour scaled to 8-bit (`>> 8`), 16-bit greyscale without alpha
 * clipped to 255 (PIL's mode `I;16`), CMYK
 * converted with PIL's naive formula. Embedded ICC profiles are ignored, as
 * PIL and Hugging Face ignore them.
 *
 * @throws ImageSourceError, ImageTooLargeError, UnsupportedImageFormatError, ImageDecodeError; InvalidArgumentError for bad
 * options; the abort reason when `options.signal` is aborted.
 * @example
 * ```ts
 * import { decodeImage } from '@msd/vision';
 *
 * const { data, width, height } = await decodeImage('photo.jpg');
 * ```
 */
export async function decodeImage(input: ImageInput, options: DecodeImageOptions = {}): Promise<RgbImage> {
  const { signal } = options;
  checkAbortSignal(signal, 'options.signal');
  const limits = resolveImageLimits(options.limits);
  const failOn = options.failOn ?? 'error';
  throwIfAborted(signal);
  const probed = await probeImage(input, limits, failOn, signal);
  throwIfAborted(signal);
  const image = await decodeProbed(probed, limits, failOn);
  throwIfAborted(signal);
  return image;
}
