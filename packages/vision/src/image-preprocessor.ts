import { InvalidArgumentError } from '@msd/core';
import { decodeImage, type DecodeImageOptions } from './decode-image';
import type { ImageInput } from './image-input';
import { mapWithConcurrency } from './map-with-concurrency';
import { padBackground, padToSquare } from './pad-to-square';
import { loadPreprocessorConfig, type PreprocessorConfig } from './preprocessor-config';
import { resizeRgb, resizeTarget, type Resampler } from './resize-image';
import type { RgbImage } from './rgb-image';
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
 * Options of {@link ImagePreprocessor} (decoder limits and batch concurrency).
 *
 * @example
 * ```ts
 * const options: ImagePreprocessorOptions = { limits: { maxPixels: 1e7 }, concurrency: 2 };
 * ```
 */
export interface ImagePreprocessorOptions extends DecodeImageOptions {
  /** Images processed at once by {@link ImagePreprocessor.preprocessBatch}. Default 4. */
  concurrency?: number;
  /** Resize implementation; default `'auto'` (see {@link Resampler}). */
  resampler?: Resampler;
}

/**
 * Turns images into the pixel tensor a CLIP / LLaVA-1.5 vision tower expects,
 * following a Hugging Face `preprocessor_config.json`:
 * decode (see {@link decodeImage}) -> pad to square (LLaVA) -> resize -> centre
 * crop -> rescale -> normalise -> NCHW float32.
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

  constructor(config: PreprocessorConfig, options: ImagePreprocessorOptions = {}) {
    if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
      throw new InvalidArgumentError({ argument: 'concurrency', message: `concurrency must be a positive integer, got ${options.concurrency}.` });
    }
    if (options.resampler !== undefined && !['auto', 'sharp', 'pil'].includes(options.resampler)) {
      throw new InvalidArgumentError({ argument: 'resampler', message: `resampler must be 'auto', 'sharp' or 'pil', got ${String(options.resampler)}.` });
    }
    this.config = config;
    this.options = options;
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
   * crop/normalise step.
   *
   * @example
   * ```ts
   * const resized = await preprocessor.prepareRgb('cat.jpg'); // 336 x 336 RGB
   * ```
   */
  async prepareRgb(input: ImageInput): Promise<RgbImage> {
    const { config } = this;
    let image = await decodeImage(input, this.options);
    if (config.doPad) image = padToSquare(image, padBackground(config.imageMean));
    if (config.doResize) {
      const target = resizeTarget(image.width, image.height, config.size);
      image = await resizeRgb(image, target.width, target.height, config.resample, this.options.resampler);
    }
    return image;
  }

  /**
   * Preprocesses one image into a `[1, 3, H, W]` tensor.
   *
   * @example
   * ```ts
   * const { data, dims } = await preprocessor.preprocess(await readFile('cat.jpg'));
   * ```
   */
  async preprocess(input: ImageInput): Promise<ImageTensor> {
    const image = await this.prepareRgb(input);
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
   * const { dims } = await preprocessor.preprocessBatch(['a.jpg', 'b.png'], { concurrency: 2 }); // [2, 3, 336, 336]
   * ```
   */
  async preprocessBatch(inputs: readonly ImageInput[], options: { concurrency?: number } = {}): Promise<ImageTensor> {
    const concurrency = options.concurrency ?? this.options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError({ argument: 'concurrency', message: `concurrency must be a positive integer, got ${concurrency}.` });
    }
    if (inputs.length === 0) {
      throw new InvalidArgumentError({ argument: 'inputs', message: 'preprocessBatch needs at least one image.' });
    }
    let shape: { height: number; width: number } | undefined;
    let out: Float32Array | undefined;
    const images = await mapWithConcurrency(inputs, concurrency, async (input) => this.prepareRgb(input));
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
 * already-parsed {@link PreprocessorConfig}).
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
  return (await toPreprocessor(config, options)).preprocessBatch(inputs);
}

function isParsed(config: unknown): config is PreprocessorConfig {
  return typeof config === 'object' && config !== null && 'cropSize' in config && 'imageMean' in config && 'doPad' in config;
}

async function toPreprocessor(
  config: PreprocessorConfig | string | Record<string, unknown>,
  options?: ImagePreprocessorOptions,
): Promise<ImagePreprocessor> {
  if (isParsed(config)) return new ImagePreprocessor(config, options);
  return ImagePreprocessor.load(config as string | Record<string, unknown>, options);
}
