// package.json `imports`: sharp in Node, createImageBitmap in browsers (see image-platform.ts).
import { platform } from '#image-platform';
import type { ImageFailOn, ProbedImage } from './image-platform';
import { checkPixels, resolveImageLimits, type ImageLimits } from './image-limits';
import { readImageInput, type ImageInput } from './image-input';
import type { RgbImage } from './rgb-image';
import { checkAbortSignal, throwIfAborted } from './throw-if-aborted';

// Re-exported where it always was; the maths has no platform in it.
export { clipGrey16 } from './grey16';

/**
 * Encoded formats accepted by {@link decodeImage}: JPEG, PNG, WebP, GIF and TIFF in Node (sharp); the browser build
 * has no TIFF, which browsers other than Safari cannot decode.
 *
 * @example
 * ```ts
 * import { SUPPORTED_IMAGE_FORMATS } from '@msd/vision';
 *
 * SUPPORTED_IMAGE_FORMATS.includes('webp'); // true
 * ```
 */
export const SUPPORTED_IMAGE_FORMATS: readonly string[] = platform.supportedFormats;

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
  /**
   * How picky the decoder is about damaged pixel data (sharp's `failOn`). Default `'error'`: truncated or corrupt data
   * throws. The browser build ignores it: browsers' decoders have no such setting, and refuse truncated data.
   */
  failOn?: 'none' | 'truncated' | 'error' | 'warning';
  /**
   * Cancels the work. Checked before anything is read and between stages; once aborted, the call throws the
   * signal's reason if it is an Error, else a DOMException named `AbortError`. A stage already running in the decoder finishes first.
   */
  signal?: AbortSignal;
}

/**
 * Reads an input and probes its header: format supported, first frame within
 * `limits.maxPixels`. Decodes nothing.
 */
export async function probeImage(input: ImageInput, limits: ImageLimits, failOn: ImageFailOn, signal?: AbortSignal): Promise<ProbedImage> {
  const { bytes, label } = await readImageInput(input, limits.maxBytes, signal);
  throwIfAborted(signal);
  const probed = await platform.probe(bytes, label, failOn);
  checkPixels(label, probed.width, probed.height, limits.maxPixels, `${probed.width}x${probed.height}`);
  return probed;
}

/** Decodes the first frame of a probed image to 8-bit RGB (see {@link decodeImage}). */
export function decodeProbed(probed: ProbedImage, limits: ImageLimits, failOn: ImageFailOn): Promise<RgbImage> {
  return platform.decode(probed, limits, failOn);
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
 * The browser build decodes with `createImageBitmap` and reads the pixels back from a canvas, which gives the
 * same bytes for opaque images; see the package README for the cases that differ (16-bit greyscale, and
 * translucent pixels where WebGL2 is missing).
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
