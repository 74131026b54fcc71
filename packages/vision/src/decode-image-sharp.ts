import type { FailOnOptions } from 'sharp';
import { cmykToRgb } from './cmyk-to-rgb';
import { ImageDecodeError, ImageTooLargeError, UnsupportedImageFormatError } from './errors';
import { clipGrey16 } from './grey16';
import type { ProbedImage } from './image-platform';
import type { ImageLimits } from './image-limits';
import { loadSharp } from './load-sharp';
import type { RgbImage } from './rgb-image';

/** What sharp decodes here; `SUPPORTED_IMAGE_FORMATS` in Node. */
export const SHARP_IMAGE_FORMATS: readonly string[] = Object.freeze(['jpeg', 'png', 'webp', 'gif', 'tiff']);

function isUnsupportedMessage(error: unknown): boolean {
  return /unsupported image format|bad seek|Input file is missing/i.test(String((error as Error)?.message ?? error));
}

function decodeFailure(label: string, cause: unknown): Error {
  if (isUnsupportedMessage(cause)) {
    return new UnsupportedImageFormatError({ source: label, supported: SHARP_IMAGE_FORMATS, cause });
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

/** Checks the format and reads the first frame's size from the header with `sharp().metadata()`. */
export async function probeWithSharp(bytes: Uint8Array, label: string, failOn: FailOnOptions): Promise<ProbedImage> {
  const sharp = await loadSharp();
  let metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false, failOn }).metadata();
  } catch (cause) {
    throw decodeFailure(label, cause);
  }
  const format = metadata.format as string | undefined;
  if (!format || !SHARP_IMAGE_FORMATS.includes(format)) {
    throw new UnsupportedImageFormatError({ source: label, format, supported: SHARP_IMAGE_FORMATS });
  }
  // Animated images report all frames stacked in `height`; only the first frame (`pageHeight`) is decoded.
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  const grey16 = metadata.depth === 'ushort' && metadata.channels === 1;
  return { bytes, label, format, width, height, cmyk: metadata.space === 'cmyk', grey16 };
}

/** Decodes the first frame of a probed image to 8-bit RGB with sharp (see `decodeImage`). */
export async function decodeWithSharp(probed: ProbedImage, limits: ImageLimits, failOn: FailOnOptions): Promise<RgbImage> {
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
