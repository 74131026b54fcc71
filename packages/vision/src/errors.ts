import { MsdError } from '@msd/core';

const decodeMarker = 'msd.error.ImageDecodeError';
const decodeSymbol = Symbol.for(decodeMarker);

/**
 * The bytes look like an image format msd supports but cannot be decoded
 * (corrupt data, truncated file, invalid metadata).
 *
 * @example
 * ```ts
 * import { ImageDecodeError, preprocessImage } from '@msd/vision';
 *
 * try {
 *   await preprocessImage('broken.jpg', config);
 * } catch (error) {
 *   if (ImageDecodeError.isInstance(error)) console.error(error.code, error.source);
 * }
 * ```
 */
export class ImageDecodeError extends MsdError {
  private readonly [decodeSymbol] = true;
  /** A short description of the input (file path, `<buffer 123 bytes>`, `<data: URL>`). */
  readonly source: string;

  constructor(options: { source: string; message: string; hint?: string; cause?: unknown }) {
    super({
      code: 'image_decode_failed',
      message: `Could not decode image ${options.source}: ${options.message}`,
      hint: options.hint ?? 'The file is corrupt or truncated; re-export or re-download it.',
      cause: options.cause,
    });
    this.name = 'ImageDecodeError';
    this.source = options.source;
  }

  /** True when `error` is an {@link ImageDecodeError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is ImageDecodeError {
    return MsdError.hasMarker(error, decodeMarker);
  }
}

const unsupportedMarker = 'msd.error.UnsupportedImageFormatError';
const unsupportedSymbol = Symbol.for(unsupportedMarker);

/**
 * The input is not an image, or is an image format msd does not accept.
 * Supported: JPEG, PNG, WebP, GIF, TIFF.
 *
 * @example
 * ```ts
 * import { UnsupportedImageFormatError, preprocessImage } from '@msd/vision';
 *
 * try {
 *   await preprocessImage('notes.txt', config);
 * } catch (error) {
 *   if (UnsupportedImageFormatError.isInstance(error)) console.error(error.format); // undefined: not an image
 * }
 * ```
 */
export class UnsupportedImageFormatError extends MsdError {
  private readonly [unsupportedSymbol] = true;
  /** The detected format (`svg`, `heif`, ...), or `undefined` when the bytes are not a known image. */
  readonly format: string | undefined;
  /** A short description of the input. */
  readonly source: string;

  constructor(options: { source: string; format?: string; supported: readonly string[]; cause?: unknown }) {
    const what = options.format ? `is ${options.format}, which is not supported` : 'is not a recognised image';
    super({
      code: 'unsupported_image_format',
      message: `Image ${options.source} ${what}.`,
      hint: `Convert it to one of: ${options.supported.join(', ')}.`,
      cause: options.cause,
    });
    this.name = 'UnsupportedImageFormatError';
    this.format = options.format;
    this.source = options.source;
  }

  /** True when `error` is an {@link UnsupportedImageFormatError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is UnsupportedImageFormatError {
    return MsdError.hasMarker(error, unsupportedMarker);
  }
}

const tooLargeMarker = 'msd.error.ImageTooLargeError';
const tooLargeSymbol = Symbol.for(tooLargeMarker);

/**
 * The image exceeds the configured byte or pixel limit. Bytes are counted
 * while reading; pixels are checked from the header before the pixels are
 * decoded, for the image itself and for every buffer preprocessing would
 * make from it (the padded square, the resized image).
 *
 * @example
 * ```ts
 * import { ImageTooLargeError, preprocessImage } from '@msd/vision';
 *
 * try {
 *   await preprocessImage('huge.png', config, { limits: { maxPixels: 4096 * 4096 } });
 * } catch (error) {
 *   if (ImageTooLargeError.isInstance(error)) console.error(error.limit, error.actual, error.max);
 * }
 * ```
 */
export class ImageTooLargeError extends MsdError {
  private readonly [tooLargeSymbol] = true;
  /** Which limit was exceeded. */
  readonly limit: 'pixels' | 'bytes';
  /** The image's size in that unit. */
  readonly actual: number;
  /** The configured maximum. */
  readonly max: number;
  /** A short description of the input. */
  readonly source: string;

  /**
   * @param options.atLeast - `actual` is a lower bound: reading stopped once past the limit.
   * @param options.detail - What was measured, e.g. `640x1 padded to 640x640`.
   */
  constructor(options: { source: string; limit: 'pixels' | 'bytes'; actual: number; max: number; detail?: string; atLeast?: boolean; cause?: unknown }) {
    const unit = options.limit === 'pixels' ? 'pixels' : 'bytes';
    const option =
      options.limit === 'pixels'
        ? '`limits.maxPixels` (`limits.maxImagePixels` of an msd pipeline)'
        : '`limits.maxBytes` (`limits.maxImageBytes` of an msd pipeline)';
    const amount = `${options.atLeast ? 'at least ' : ''}${options.actual} ${unit}`;
    super({
      code: 'image_too_large',
      message: `Image ${options.source} has ${amount}${options.detail ? ` (${options.detail})` : ''}, more than the limit of ${options.max}.`,
      hint: `Downscale the image before passing it in, or raise ${option} if you trust the source.`,
      cause: options.cause,
    });
    this.name = 'ImageTooLargeError';
    this.limit = options.limit;
    this.actual = options.actual;
    this.max = options.max;
    this.source = options.source;
  }

  /** True when `error` is an {@link ImageTooLargeError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is ImageTooLargeError {
    return MsdError.hasMarker(error, tooLargeMarker);
  }
}

const sourceMarker = 'msd.error.ImageSourceError';
const sourceSymbol = Symbol.for(sourceMarker);

/**
 * The image input could not be read at all: a missing or unreadable file, a
 * malformed `data:` URL, or a value that is not a path, buffer or data URL.
 *
 * @example
 * ```ts
 * import { ImageSourceError, preprocessImage } from '@msd/vision';
 *
 * try {
 *   await preprocessImage('missing.png', config);
 * } catch (error) {
 *   if (ImageSourceError.isInstance(error)) console.error(error.message);
 * }
 * ```
 */
export class ImageSourceError extends MsdError {
  private readonly [sourceSymbol] = true;
  /** A short description of the input. */
  readonly source: string;

  constructor(options: { source: string; message: string; hint?: string; cause?: unknown }) {
    super({ code: 'image_source_unreadable', message: options.message, hint: options.hint, cause: options.cause });
    this.name = 'ImageSourceError';
    this.source = options.source;
  }

  /** True when `error` is an {@link ImageSourceError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is ImageSourceError {
    return MsdError.hasMarker(error, sourceMarker);
  }
}
