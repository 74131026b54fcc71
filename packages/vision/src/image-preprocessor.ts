import { InvalidArgumentError, MsdError } from '@msd/core';
// package.json `imports`: sharp in Node, createImageBitmap in browsers (see image-platform.ts).
import { platform } from '#image-platform';
import { decodeProbed, probeImage, type DecodeImageOptions } from './decode-image';
import { ImageDecodeError, ImageTooLargeError } from './errors';
import { checkImageInput, type ImageInput } from './image-input';
import { checkPixels, resolveImageLimits, type ImageLimits } from './image-limits';
import { mapWithConcurrency } from './map-with-concurrency';
import { padBackground, padToSquare } from './pad-to-square';
import { checkParsedConfig, loadPreprocessorConfig, type PreprocessorConfig } from './preprocessor-config';
import { chooseResampler, RESAMPLERS, resizeTarget, type Resampler } from './resampler';
import type { RgbImage } from './rgb-image';
import { checkAbortSignal, throwIfAborted } from './throw-if-aborted';
import { writeChwTensor } from './to-tensor';

/**
 * A float32 NCHW tensor, ready for `new ort.Tensor('float32', data, dims)`.
 *
 * @example
 * ```ts
 * import type { ImageTensor } from '@msd/vision';
 *
 * const { data, dims }: ImageTensor = await preprocessor.preprocess('cat.jpg'); // dims [1, 3, 336, 336]
 * ```
 */
export interface ImageTensor {
  /** `n * 3 * height * width` values, image-major, then channel (R, G, B), row, column. */
  data: Float32Array;
  /** `[n, 3, height, width]`. */
  dims: [number, 3, number, number];
}

/**
 * Options of one {@link ImagePreprocessor.preprocess} call.
 *
 * @example
 * ```ts
 * import type { PreprocessCallOptions } from '@msd/vision';
 *
 * const options: PreprocessCallOptions = { signal: AbortSignal.timeout(2000) };
 * await preprocessor.preprocess('cat.jpg', options);
 * ```
 */
export interface PreprocessCallOptions {
  /**
   * Cancels this call: checked before anything is read, between stages and between images; once aborted, the call
   * throws the signal's reason if it is an Error, else a DOMException named `AbortError`.
   */
  signal?: AbortSignal;
}

/**
 * Options of one {@link ImagePreprocessor.preprocessBatch} call.
 *
 * @example
 * ```ts
 * import type { PreprocessBatchOptions } from '@msd/vision';
 *
 * const options: PreprocessBatchOptions = { concurrency: 2, signal: controller.signal };
 * await preprocessor.preprocessBatch(['a.jpg', 'b.png'], options);
 * ```
 */
export interface PreprocessBatchOptions extends PreprocessCallOptions {
  /** Images processed at once; default the preprocessor's `concurrency` (4). */
  concurrency?: number;
}

/**
 * Options of {@link ImagePreprocessor} (decoder limits and batch concurrency).
 * A `signal` given here applies to every call, as well as a call's own.
 *
 * @example
 * ```ts
 * const options: ImagePreprocessorOptions = { limits: { maxPixels: 1e7 }, concurrency: 2 };
 * ```
 */
export interface ImagePreprocessorOptions extends DecodeImageOptions {
  /** Images processed at once by {@link ImagePreprocessor.preprocessBatch}. Default 4. */
  concurrency?: number;
  /**
   * Resize implementation (see {@link Resampler}). Default `'pil'`: the exact port of Pillow's resize, so
   * pixel values equal Hugging Face's `CLIPImageProcessor` (libvips differs by up to 17 grey levels on
   * downscaled screenshots, enough to change greedy answers). `'auto'` or `'sharp'` trade that for speed
   * on large images; `msd bench` reports the difference. The browser build runs only `'pil'` (there is no
   * sharp there), and refuses the others with an `InvalidArgumentError`.
   */
  resampler?: Resampler;
}

/**
 * Turns images into the pixel tensor a CLIP / LLaVA-1.5 vision tower expects,
 * following a Hugging Face `preprocessor_config.json`:
 * decode (see {@link decodeImage}) -> pad to square (LLaVA) -> resize -> centre
 * crop -> rescale -> normalise -> NCHW float32.
 *
 * The browser build is this same class: only reading (URLs instead of paths) and decoding (`createImageBitmap`
 * instead of sharp) differ, and it resizes with the port of Pillow only. `load` there takes the parsed config
 * object or a URL.
 *
 * @example
 * ```ts
 * import { ImagePreprocessor } from '@msd/vision';
 *
 * const preprocessor = await ImagePreprocessor.load('models/llava-1.5-7b-hf');
 * const { data, dims } = await preprocessor.preprocess('cat.jpg'); // dims [1, 3, 336, 336]
 * const batch = await preprocessor.preprocessBatch(['a.png', 'b.webp']); // dims [2, 3, 336, 336]
 * ```
 */
export class ImagePreprocessor {
  /** The validated configuration. */
  readonly config: PreprocessorConfig;
  private readonly options: ImagePreprocessorOptions;
  private readonly limits: ImageLimits;

  constructor(config: PreprocessorConfig, options: ImagePreprocessorOptions = {}) {
    checkParsedConfig(config);
    this.limits = resolveImageLimits(options.limits);
    checkAbortSignal(options.signal, 'options.signal');
    if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
      throw new InvalidArgumentError({ argument: 'concurrency', message: `concurrency must be a positive integer, got ${options.concurrency}.` });
    }
    if (options.resampler !== undefined && !RESAMPLERS.includes(options.resampler)) {
      throw new InvalidArgumentError({
        argument: 'resampler',
        message: `resampler must be one of ${RESAMPLERS.map((name) => `'${name}'`).join(', ')}, got ${String(options.resampler)}.`,
      });
    }
    if (options.resampler !== undefined && !platform.resamplers.includes(options.resampler)) {
      throw new InvalidArgumentError({
        argument: 'resampler',
        message: `resampler '${options.resampler}' resizes with libvips (sharp), which only the Node build of @msd/vision has.`,
        hint: `Use ${platform.resamplers.map((name) => `'${name}'`).join(' or ')} (the default), the exact port of Pillow's resize.`,
      });
    }
    this.config = config;
    this.options = { ...options, resampler: options.resampler ?? 'pil' };
  }

  /**
   * Creates a preprocessor from a model directory, a `preprocessor_config.json`
   * path, or the parsed JSON object.
   *
   * @example
   * ```ts
   * const preprocessor = await ImagePreprocessor.load({ size: { shortest_edge: 336 }, crop_size: 336, do_pad: true });
   * ```
   */
  static async load(source: string | Record<string, unknown>, options?: ImagePreprocessorOptions): Promise<ImagePreprocessor> {
    return new ImagePreprocessor(await loadPreprocessorConfig(source), options);
  }

  /**
   * Height and width of one output image.
   *
   * @example
   * ```ts
   * preprocessor.outputSize(640, 480); // { height: 336, width: 336 }
   * ```
   */
  outputSize(width: number, height: number): { height: number; width: number } {
    const { config } = this;
    if (config.doCenterCrop) return { ...config.cropSize };
    let w = width;
    let h = height;
    if (config.doPad) w = h = Math.max(width, height);
    if (config.doResize) ({ width: w, height: h } = resizeTarget(w, h, config.size));
    return { height: h, width: w };
  }

  /**
   * Decodes, pads and resizes one image: the uint8 RGB image right before the
   * crop/normalise step. The padded square and the resized image are checked
   * against `limits.maxPixels` from the header, before any pixel is decoded.
   *
   * @example
   * ```ts
   * const resized = await preprocessor.prepareRgb('cat.jpg'); // 336 x 336 RGB
   * ```
   */
  async prepareRgb(input: ImageInput, options: PreprocessCallOptions = {}): Promise<RgbImage> {
    checkAbortSignal(options.signal, 'options.signal');
    const signals = [options.signal, this.options.signal];
    throwIfAborted(...signals);
    const { config, limits } = this;
    const failOn = this.options.failOn ?? 'error';
    const probed = await probeImage(input, limits, failOn, options.signal ?? this.options.signal);
    this.checkPlannedSizes(probed.label, probed.width, probed.height);
    throwIfAborted(...signals);
    let image = await decodeProbed(probed, limits, failOn);
    throwIfAborted(...signals);
    if (config.doPad) image = padToSquare(image, padBackground(config.imageMean), { maxPixels: limits.maxPixels, source: probed.label });
    if (config.doResize) {
      throwIfAborted(...signals);
      image = await this.resize(image, probed.label);
    }
    throwIfAborted(...signals);
    return image;
  }

  /** Every buffer the pipeline will make from a `width` x `height` header must fit `maxPixels`. */
  private checkPlannedSizes(label: string, width: number, height: number): void {
    const { config, limits } = this;
    let w = width;
    let h = height;
    if (config.doPad && w !== h) {
      w = h = Math.max(width, height);
      checkPixels(label, w, h, limits.maxPixels, `${width}x${height} padded to ${w}x${h}`);
    }
    if (config.doResize && w > 0 && h > 0) {
      const target = resizeTarget(w, h, config.size);
      checkPixels(label, target.width, target.height, limits.maxPixels, `${w}x${h} resized to ${target.width}x${target.height}`);
    }
  }

  private async resize(image: RgbImage, label: string): Promise<RgbImage> {
    const { config, limits } = this;
    const target = resizeTarget(image.width, image.height, config.size);
    const detail = `${image.width}x${image.height} resized to ${target.width}x${target.height}`;
    checkPixels(label, target.width, target.height, limits.maxPixels, detail);
    if (chooseResampler(image.width, image.height, target.width, target.height, config.resample, this.options.resampler) === 'pil') {
      // The exact port resizes horizontally first: target width x source height exists in between.
      checkPixels(label, target.width, image.height, limits.maxPixels, `${detail}, via ${target.width}x${image.height}`);
    }
    try {
      return await platform.resize(image, target.width, target.height, config.resample, this.options.resampler ?? 'pil');
    } catch (cause) {
      if (MsdError.isInstance(cause)) throw cause;
      if (cause instanceof RangeError) {
        throw new ImageTooLargeError({ source: label, limit: 'pixels', actual: target.width * target.height, max: limits.maxPixels, detail, cause });
      }
      throw new ImageDecodeError({ source: label, message: `resizing failed: ${String((cause as Error)?.message ?? cause)}`, cause });
    }
  }

  /**
   * Preprocesses one image into a `[1, 3, H, W]` tensor.
   *
   * @example
   * ```ts
   * const { data, dims } = await preprocessor.preprocess(await readFile('cat.jpg'), { signal: AbortSignal.timeout(2000) });
   * ```
   */
  async preprocess(input: ImageInput, options: PreprocessCallOptions = {}): Promise<ImageTensor> {
    const image = await this.prepareRgb(input, options);
    const { height, width } = this.outputSize(image.width, image.height);
    const data = writeChwTensor(image, this.config, height, width, new Float32Array(3 * height * width));
    return { data, dims: [1, 3, height, width] };
  }

  /**
   * Preprocesses many images (at most `concurrency` at once) into one
   * `[n, 3, H, W]` tensor. All images must come out the same size, which holds
   * whenever the config centre-crops, pads, or resizes to a fixed size.
   *
   * @example
   * ```ts
   * const { dims } = await preprocessor.preprocessBatch(['a.jpg', 'b.png'], { concurrency: 2, signal }); // [2, 3, 336, 336]
   * ```
   */
  async preprocessBatch(inputs: readonly ImageInput[], options: PreprocessBatchOptions = {}): Promise<ImageTensor> {
    const concurrency = options.concurrency ?? this.options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError({ argument: 'concurrency', message: `concurrency must be a positive integer, got ${concurrency}.` });
    }
    if (!Array.isArray(inputs)) {
      throw new InvalidArgumentError({ argument: 'inputs', message: `preprocessBatch needs an array of images, got ${typeof inputs}.` });
    }
    if (inputs.length === 0) {
      throw new InvalidArgumentError({ argument: 'inputs', message: 'preprocessBatch needs at least one image.' });
    }
    checkAbortSignal(options.signal, 'options.signal');
    // Refuse a bad element before reading any image.
    inputs.forEach((input, index) => checkImageInput(input, index));
    const signals = [options.signal, this.options.signal];
    throwIfAborted(...signals);
    const call = { signal: options.signal };
    let shape: { height: number; width: number } | undefined;
    let out: Float32Array | undefined;
    const images = await mapWithConcurrency(inputs, concurrency, async (input) => this.prepareRgb(input, call));
    throwIfAborted(...signals);
    images.forEach((image, index) => {
      const size = this.outputSize(image.width, image.height);
      shape ??= size;
      if (size.height !== shape.height || size.width !== shape.width) {
        throw new InvalidArgumentError({
          argument: 'inputs',
          message: `image ${index} comes out ${size.width}x${size.height}, image 0 ${shape.width}x${shape.height}; a batch needs one size.`,
          hint: 'Enable do_center_crop or do_pad in the config, or preprocess the images one by one.',
        });
      }
      out ??= new Float32Array(inputs.length * 3 * shape.height * shape.width);
      writeChwTensor(image, this.config, shape.height, shape.width, out, index * 3 * shape.height * shape.width);
    });
    return { data: out!, dims: [inputs.length, 3, shape!.height, shape!.width] };
  }
}

/**
 * One-call helper: preprocesses one image with a config (object, path or
 * already-parsed {@link PreprocessorConfig}). `options.signal` cancels it.
 *
 * @example
 * ```ts
 * import { preprocessImage } from '@msd/vision';
 *
 * const { data, dims } = await preprocessImage('cat.jpg', 'models/llava-1.5-7b-hf');
 * ```
 */
export async function preprocessImage(
  input: ImageInput,
  config: PreprocessorConfig | string | Record<string, unknown>,
  options?: ImagePreprocessorOptions,
): Promise<ImageTensor> {
  checkAbortSignal(options?.signal, 'options.signal');
  throwIfAborted(options?.signal);
  return (await toPreprocessor(config, options)).preprocess(input);
}

/**
 * One-call helper: preprocesses many images into one `[n, 3, H, W]` tensor.
 *
 * @example
 * ```ts
 * import { preprocessImages } from '@msd/vision';
 *
 * const { dims } = await preprocessImages(['a.jpg', 'b.png'], 'models/llava-1.5-7b-hf', { concurrency: 2 });
 * ```
 */
export async function preprocessImages(
  inputs: readonly ImageInput[],
  config: PreprocessorConfig | string | Record<string, unknown>,
  options?: ImagePreprocessorOptions,
): Promise<ImageTensor> {
  checkAbortSignal(options?.signal, 'options.signal');
  throwIfAborted(options?.signal);
  return (await toPreprocessor(config, options)).preprocessBatch(inputs);
}

function isParsed(config: unknown): config is PreprocessorConfig {
  return typeof config === 'object' && config !== null && 'cropSize' in config && 'imageMean' in config && 'doPad' in config;
}

async function toPreprocessor(config: PreprocessorConfig | string | Record<string, unknown>, options?: ImagePreprocessorOptions): Promise<ImagePreprocessor> {
  if (isParsed(config)) return new ImagePreprocessor(config, options);
  return ImagePreprocessor.load(config as string | Record<string, unknown>, options);
}
