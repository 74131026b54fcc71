import { ImageDecodeError, ImageTooLargeError, UnsupportedImageFormatError } from './errors';
import { readImageHeader } from './image-header';
import { checkPixels, type ImageLimits } from './image-limits';
import type { ProbedImage } from './image-platform';
import type { RgbImage } from './rgb-image';

// The few DOM APIs used here, typed locally: the package compiles against Node's types, and a browser-only
// global must be looked up at run time anyway, to fail with a typed error where it is missing.
interface ImageBitmapLike {
  readonly width: number;
  readonly height: number;
  close(): void;
}
interface ImageBitmapOptionsLike {
  colorSpaceConversion?: 'none' | 'default';
  premultiplyAlpha?: 'none' | 'premultiply' | 'default';
  imageOrientation?: 'from-image' | 'flipY' | 'none';
}
interface Context2dLike {
  imageSmoothingEnabled: boolean;
  drawImage(image: ImageBitmapLike, dx: number, dy: number): void;
  getImageData(sx: number, sy: number, sw: number, sh: number): { data: Uint8ClampedArray };
}
interface WebGl2Like {
  readonly TEXTURE_2D: number;
  readonly RGBA: number;
  readonly RGBA8: number;
  readonly UNSIGNED_BYTE: number;
  readonly FRAMEBUFFER: number;
  readonly COLOR_ATTACHMENT0: number;
  readonly FRAMEBUFFER_COMPLETE: number;
  readonly MAX_TEXTURE_SIZE: number;
  readonly UNPACK_PREMULTIPLY_ALPHA_WEBGL: number;
  readonly UNPACK_FLIP_Y_WEBGL: number;
  readonly UNPACK_COLORSPACE_CONVERSION_WEBGL: number;
  readonly NONE: number;
  readonly NO_ERROR: number;
  getParameter(name: number): unknown;
  createTexture(): unknown;
  bindTexture(target: number, texture: unknown): void;
  pixelStorei(name: number, value: number | boolean): void;
  texImage2D(
    target: number,
    level: number,
    internalFormat: number,
    width: number,
    height: number,
    border: number,
    format: number,
    type: number,
    source: ImageBitmapLike,
  ): void;
  createFramebuffer(): unknown;
  bindFramebuffer(target: number, framebuffer: unknown): void;
  framebufferTexture2D(target: number, attachment: number, textarget: number, texture: unknown, level: number): void;
  checkFramebufferStatus(target: number): number;
  readPixels(x: number, y: number, width: number, height: number, format: number, type: number, pixels: Uint8Array): void;
  getError(): number;
  getExtension(name: 'WEBGL_lose_context'): { loseContext(): void } | null;
}
interface OffscreenCanvasLike {
  getContext(id: '2d', options?: { willReadFrequently?: boolean }): Context2dLike | null;
  getContext(id: 'webgl2', options?: { premultipliedAlpha?: boolean; antialias?: boolean; depth?: boolean; stencil?: boolean }): WebGl2Like | null;
}
interface BrowserImageApi {
  createImageBitmap?: (image: Blob, options?: ImageBitmapOptionsLike) => Promise<ImageBitmapLike>;
  OffscreenCanvas?: new (width: number, height: number) => OffscreenCanvasLike;
}

/** What browsers decode here, and so `SUPPORTED_IMAGE_FORMATS` in the browser build: Node's list but TIFF. */
export const BROWSER_IMAGE_FORMATS: readonly string[] = Object.freeze(['jpeg', 'png', 'webp', 'gif']);

const MIME_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };

/**
 * Checks the format and reads the size from the header (see `readImageHeader`), decoding nothing. Browsers decode
 * more than Node's sharp does (BMP, AVIF, ICO, SVG); those are refused as in Node, so an input works in both or in neither.
 */
export async function probeInBrowser(bytes: Uint8Array, label: string): Promise<ProbedImage> {
  const header = readImageHeader(bytes);
  if (!header || !BROWSER_IMAGE_FORMATS.includes(header.format)) {
    throw new UnsupportedImageFormatError({ source: label, format: header?.format, supported: BROWSER_IMAGE_FORMATS });
  }
  return { bytes, label, format: header.format, width: header.width, height: header.height };
}

/**
 * Decodes the first frame to 8-bit RGB with the browser's decoder, matching sharp's decode in Node:
 * `colorSpaceConversion: 'none'` ignores embedded ICC profiles (as PIL does), `premultiplyAlpha: 'none'` keeps
 * colour under transparency, EXIF orientation is applied, and alpha is then dropped without compositing.
 *
 * The pixels come back through a 2D canvas, which stores them premultiplied: exact for opaque pixels, lossy
 * (transparent ones come back black) for the rest. Images with any such pixel are read again through a WebGL2
 * texture, which keeps them unpremultiplied, where WebGL2 is available; never resized by the browser, whose
 * resampling is not PIL's.
 */
export async function decodeInBrowser(probed: ProbedImage, limits: ImageLimits): Promise<RgbImage> {
  const { label } = probed;
  const { createImageBitmap, OffscreenCanvas } = globalThis as BrowserImageApi;
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') {
    throw new ImageDecodeError({
      source: label,
      message: 'this JavaScript environment has no createImageBitmap and OffscreenCanvas to decode images with.',
      hint: 'Run in a current browser (a page or a worker), or use the Node build of @msd/vision.',
    });
  }
  const bitmap = await createBitmap(createImageBitmap, probed);
  try {
    const { width, height } = bitmap;
    checkPixels(label, width, height, limits.maxPixels, `${width}x${height} decoded`);
    if (!(width > 0 && height > 0)) throw new ImageDecodeError({ source: label, message: `the decoder made a ${width}x${height} image.` });
    let rgba: Uint8Array;
    try {
      rgba = readWithCanvas2d(OffscreenCanvas, bitmap);
    } catch (cause) {
      if (cause instanceof RangeError) {
        throw new ImageTooLargeError({ source: label, limit: 'pixels', actual: width * height, max: limits.maxPixels, cause });
      }
      throw new ImageDecodeError({ source: label, message: `reading the pixels back failed: ${String((cause as Error)?.message ?? cause)}`, cause });
    }
    if (hasTranslucentPixel(rgba)) rgba = readWithWebgl2(OffscreenCanvas, bitmap) ?? rgba;
    return { data: dropAlpha(rgba), width, height };
  } finally {
    bitmap.close();
  }
}

const BITMAP_OPTIONS: ImageBitmapOptionsLike = { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' };

async function createBitmap(create: NonNullable<BrowserImageApi['createImageBitmap']>, probed: ProbedImage): Promise<ImageBitmapLike> {
  // A Blob cannot be made from a view of shared memory; such bytes are copied first.
  const bytes = probed.bytes.buffer instanceof ArrayBuffer ? (probed.bytes as Uint8Array<ArrayBuffer>) : probed.bytes.slice();
  const blob = new Blob([bytes], { type: MIME_TYPES[probed.format] ?? '' });
  try {
    return await create(blob, BITMAP_OPTIONS);
  } catch (cause) {
    if (!(cause instanceof TypeError)) throw undecodable(probed, cause);
  }
  // Browsers older than the spec's 'from-image' reject it as a TypeError (an undecodable image is an
  // InvalidStateError); their default orientation then applies.
  try {
    return await create(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (cause) {
    throw undecodable(probed, cause);
  }
}

function undecodable(probed: ProbedImage, cause: unknown): ImageDecodeError {
  return new ImageDecodeError({
    source: probed.label,
    message: `the browser cannot decode it as ${probed.format} (${String((cause as Error)?.message ?? cause)})`,
    cause,
  });
}

function readWithCanvas2d(Canvas: NonNullable<BrowserImageApi['OffscreenCanvas']>, bitmap: ImageBitmapLike): Uint8Array {
  // willReadFrequently keeps the canvas in memory: no GPU upload and readback for one getImageData.
  const context = new Canvas(bitmap.width, bitmap.height).getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('no 2d context on an OffscreenCanvas');
  context.imageSmoothingEnabled = false;
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The bitmap's RGBA bytes as decoded (not premultiplied), or `undefined` where WebGL2 cannot give them. */
function readWithWebgl2(Canvas: NonNullable<BrowserImageApi['OffscreenCanvas']>, bitmap: ImageBitmapLike): Uint8Array | undefined {
  let gl: WebGl2Like | null = null;
  try {
    gl = new Canvas(1, 1).getContext('webgl2', { premultipliedAlpha: false, antialias: false, depth: false, stencil: false });
    if (!gl) return undefined;
    const { width, height } = bitmap;
    const maxSide = Number(gl.getParameter(gl.MAX_TEXTURE_SIZE));
    if (!(width <= maxSide && height <= maxSide)) return undefined;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.bindFramebuffer(gl.FRAMEBUFFER, gl.createFramebuffer());
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return undefined;
    const pixels = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    return gl.getError() === gl.NO_ERROR ? pixels : undefined;
  } catch {
    return undefined; // the canvas's values stand: exact where opaque
  } finally {
    // Browsers cap live WebGL contexts (about 16); do not wait for the collector to free this one.
    gl?.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

function hasTranslucentPixel(rgba: Uint8Array): boolean {
  for (let index = 3; index < rgba.length; index += 4) if (rgba[index] !== 255) return true;
  return false;
}

function dropAlpha(rgba: Uint8Array): Uint8Array {
  const pixels = rgba.length >> 2;
  const rgb = new Uint8Array(pixels * 3);
  for (let pixel = 0; pixel < pixels; pixel++) {
    rgb[pixel * 3] = rgba[pixel * 4]!;
    rgb[pixel * 3 + 1] = rgba[pixel * 4 + 1]!;
    rgb[pixel * 3 + 2] = rgba[pixel * 4 + 2]!;
  }
  return rgb;
}
