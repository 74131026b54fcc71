import { ConfigError, InvalidArgumentError } from '@msd/core';
// package.json `imports`: node:fs in Node, fetch in browsers (see image-platform.ts).
import { platform } from '#image-platform';

/**
 * The resampling filter named by a config's PIL `resample` code
 * (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming).
 *
 * @example
 * ```ts
 * import { parsePreprocessorConfig, type ResampleFilter } from '@msd/vision';
 *
 * const filter: ResampleFilter = parsePreprocessorConfig({ resample: 3 }).resample; // 'bicubic'
 * ```
 */
export type ResampleFilter = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos' | 'box' | 'hamming';

/**
 * A validated, normalised `preprocessor_config.json` (CLIPImageProcessor fields
 * plus LLaVA-1.5's pad-to-square; SiglipImageProcessor's resize to `{ height, width }`
 * without a crop).
 *
 * @example
 * ```ts
 * import { parsePreprocessorConfig } from '@msd/vision';
 *
 * const config = parsePreprocessorConfig({ size: { shortest_edge: 336 }, crop_size: 336, do_pad: true });
 * config.cropSize; // { height: 336, width: 336 }
 * ```
 */
export interface PreprocessorConfig {
  /** Resize before cropping. */
  doResize: boolean;
  /** `{ shortestEdge }` keeps the aspect ratio; `{ height, width }` resizes to exactly that. */
  size: { shortestEdge: number } | { height: number; width: number };
  /** Resampling filter (from the PIL code in `resample`). */
  resample: ResampleFilter;
  /** Centre crop after resizing. */
  doCenterCrop: boolean;
  /** Crop size. */
  cropSize: {
    /** Height in pixels of the centre crop (`crop_size.height`, or `crop_size` when it is a number; default 224). */
    height: number;
    /** Width in pixels of the centre crop (`crop_size.width`, or `crop_size` when it is a number; default 224). */
    width: number;
  };
  /** Multiply pixel values by `rescaleFactor`. */
  doRescale: boolean;
  /** Usually 1/255. */
  rescaleFactor: number;
  /** Subtract `imageMean` and divide by `imageStd` per channel. */
  doNormalize: boolean;
  /** Per-channel mean (R, G, B). */
  imageMean: [number, number, number];
  /** Per-channel standard deviation (R, G, B). */
  imageStd: [number, number, number];
  /** Convert to RGB (always done; kept for reference). */
  doConvertRgb: boolean;
  /** LLaVA-1.5 pad-to-square with the mean colour before resizing (`do_pad` or `image_aspect_ratio: "pad"`). */
  doPad: boolean;
}

const PIL_RESAMPLE: Record<number, ResampleFilter | undefined> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };
const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
const HALF: [number, number, number] = [0.5, 0.5, 0.5];

/** What a config leaves out means what its `image_processor_type`'s class defaults to in transformers. */
interface ProcessorDefaults {
  size: PreprocessorConfig['size'];
  doCenterCrop: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}
const CLIP_DEFAULTS: ProcessorDefaults = { size: { shortestEdge: 224 }, doCenterCrop: true, imageMean: CLIP_MEAN, imageStd: CLIP_STD };
// SiglipImageProcessor: straight resize to 224x224 (no aspect ratio, no crop), mean and std 0.5.
const SIGLIP_DEFAULTS: ProcessorDefaults = { size: { height: 224, width: 224 }, doCenterCrop: false, imageMean: HALF, imageStd: HALF };
const PROCESSOR_DEFAULTS: Record<string, ProcessorDefaults> = {
  CLIPImageProcessor: CLIP_DEFAULTS,
  LlavaImageProcessor: CLIP_DEFAULTS,
  SiglipImageProcessor: SIGLIP_DEFAULTS,
};

function processorDefaults(type: unknown, path?: string): ProcessorDefaults {
  if (type === undefined || type === null) return CLIP_DEFAULTS;
  // transformers names a class's backends CLIPImageProcessor, CLIPImageProcessorFast, CLIPImageProcessorPil.
  const base = typeof type === 'string' ? type.replace(/(Fast|Pil)$/, '') : undefined;
  const defaults = base === undefined ? undefined : PROCESSOR_DEFAULTS[base];
  if (!defaults) {
    fail(path, 'image_processor_type', `${describe(type)} is not supported; supported: ${Object.keys(PROCESSOR_DEFAULTS).join(', ')}.`);
  }
  return defaults;
}

function fail(path: string | undefined, field: string, message: string): never {
  throw new ConfigError({
    path,
    message: `${field} ${message}`,
    hint: 'Fix preprocessor_config.json (see the CLIPImageProcessor documentation) or pass a corrected object.',
  });
}

function readBool(raw: Record<string, unknown>, key: string, fallback: boolean, path?: string): boolean {
  const value = raw[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') fail(path, key, `must be true or false, got ${JSON.stringify(value)}.`);
  return value;
}

/**
 * Largest `size`/`crop_size` side accepted. Vision towers use 224..1024; a
 * bigger value is a broken or hostile config whose buffers (a crop of 100000²
 * floats) could not be allocated.
 */
const MAX_SIDE = 4096;

function isSide(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_SIDE;
}

function readPositiveInt(value: unknown, field: string, path?: string): number {
  if (!isSide(value)) fail(path, field, `must be an integer from 1 to ${MAX_SIDE}, got ${describe(value)}.`);
  return value;
}

/** JSON.stringify turns NaN and Infinity into null; name them. */
function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}

function readHeightWidth(value: unknown, field: string, path?: string): { height: number; width: number } {
  if (typeof value === 'number') {
    const side = readPositiveInt(value, field, path);
    return { height: side, width: side };
  }
  if (value && typeof value === 'object' && 'height' in value && 'width' in value) {
    const record = value as Record<string, unknown>;
    return {
      height: readPositiveInt(record.height, `${field}.height`, path),
      width: readPositiveInt(record.width, `${field}.width`, path),
    };
  }
  return fail(path, field, `must be a number or { "height", "width" }, got ${describe(value)}.`);
}

function readSize(value: unknown, fallback: PreprocessorConfig['size'], path?: string): PreprocessorConfig['size'] {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number') return { shortestEdge: readPositiveInt(value, 'size', path) };
  if (value && typeof value === 'object' && 'shortest_edge' in value) {
    return { shortestEdge: readPositiveInt((value as Record<string, unknown>).shortest_edge, 'size.shortest_edge', path) };
  }
  return readHeightWidth(value, 'size', path);
}

function readTriple(value: unknown, field: string, fallback: [number, number, number], path?: string): [number, number, number] {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number' && Number.isFinite(value)) return [value, value, value];
  if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return [value[0], value[1], value[2]];
  }
  return fail(path, field, `must be a finite number or an array of 3 finite numbers, got ${describe(value)}.`);
}

function readResample(value: unknown, path?: string): ResampleFilter {
  if (value === undefined || value === null) return 'bicubic';
  const filter = typeof value === 'number' ? PIL_RESAMPLE[value] : undefined;
  if (!filter) {
    fail(path, 'resample', `${JSON.stringify(value)} is not supported; use a PIL code: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming.`);
  }
  return filter;
}

/**
 * Validates the JSON object of a Hugging Face `preprocessor_config.json` and
 * normalises it. Unknown keys are ignored; bad values throw a `ConfigError`.
 *
 * @param raw - The parsed JSON.
 * @param path - Where it came from, for error messages.
 * @example
 * ```ts
 * import { parsePreprocessorConfig } from '@msd/vision';
 *
 * const config = parsePreprocessorConfig(JSON.parse(text), 'model/preprocessor_config.json');
 * ```
 */
export function parsePreprocessorConfig(raw: unknown, path?: string): PreprocessorConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError({ path, message: 'a preprocessor config must be a JSON object.', hint: 'Check the file is a preprocessor_config.json.' });
  }
  const record = raw as Record<string, unknown>;
  const defaults = processorDefaults(record.image_processor_type, path);
  const rescaleFactor = record.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !Number.isFinite(rescaleFactor) || rescaleFactor <= 0) {
    fail(path, 'rescale_factor', `must be a finite positive number, got ${describe(rescaleFactor)}.`);
  }
  const imageStd = readTriple(record.image_std, 'image_std', defaults.imageStd, path);
  if (imageStd.some((value) => value <= 0)) fail(path, 'image_std', `entries must be positive, got ${describe(imageStd)}.`);
  const aspect = record.image_aspect_ratio;
  if (aspect !== undefined && aspect !== null && typeof aspect !== 'string') {
    fail(path, 'image_aspect_ratio', `must be a string, got ${JSON.stringify(aspect)}.`);
  }
  return {
    doResize: readBool(record, 'do_resize', true, path),
    size: readSize(record.size, defaults.size, path),
    resample: readResample(record.resample, path),
    doCenterCrop: readBool(record, 'do_center_crop', defaults.doCenterCrop, path),
    cropSize: record.crop_size === undefined || record.crop_size === null ? { height: 224, width: 224 } : readHeightWidth(record.crop_size, 'crop_size', path),
    doRescale: readBool(record, 'do_rescale', true, path),
    rescaleFactor,
    doNormalize: readBool(record, 'do_normalize', true, path),
    imageMean: readTriple(record.image_mean, 'image_mean', defaults.imageMean, path),
    imageStd,
    doConvertRgb: readBool(record, 'do_convert_rgb', true, path),
    doPad: readBool(record, 'do_pad', false, path) || aspect === 'pad',
  };
}

/**
 * Checks the sizes of an already-built {@link PreprocessorConfig} (one made
 * by hand rather than by {@link parsePreprocessorConfig}) before its buffers
 * are allocated.
 */
export function checkParsedConfig(config: PreprocessorConfig): void {
  if (!config || typeof config !== 'object') {
    throw new InvalidArgumentError({ argument: 'config', message: `config must be a PreprocessorConfig object, got ${describe(config)}.` });
  }
  const sides: Array<[string, unknown]> = [];
  if (config.doCenterCrop) sides.push(['cropSize.height', config.cropSize?.height], ['cropSize.width', config.cropSize?.width]);
  if (config.doResize) {
    for (const [key, value] of Object.entries(config.size ?? { shortestEdge: undefined })) sides.push([`size.${key}`, value]);
  }
  const bad = sides.find(([, value]) => !isSide(value));
  if (bad) {
    throw new InvalidArgumentError({
      argument: 'config',
      message: `config.${bad[0]} must be an integer from 1 to ${MAX_SIDE}, got ${describe(bad[1])}.`,
      hint: 'Build the config with parsePreprocessorConfig or loadPreprocessorConfig.',
    });
  }
}

/**
 * Loads and validates a `preprocessor_config.json`: from a model directory, a
 * file path, or an already-parsed object. A directory without one may hold
 * transformers 5's `processor_config.json` instead, whose `image_processor`
 * object carries the same fields. In the browser build a string is a URL: of the
 * file itself, or of the model's folder when it ends in `/` (then
 * `preprocessor_config.json` there, else `processor_config.json`), fetched with `fetch`.
 *
 * @example
 * ```ts
 * import { loadPreprocessorConfig } from '@msd/vision';
 *
 * const config = await loadPreprocessorConfig('models/llava-1.5-7b-hf');
 * ```
 */
export async function loadPreprocessorConfig(source: string | Record<string, unknown>): Promise<PreprocessorConfig> {
  if (typeof source !== 'string') return parsePreprocessorConfig(source);
  const { file, text, nested } = await platform.readConfig(source);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError({ path: file, message: 'is not valid JSON.', hint: 'Fix or re-download the file.', cause });
  }
  if (nested) {
    const imageProcessor = (json as { image_processor?: unknown } | null)?.image_processor;
    if (imageProcessor === null || typeof imageProcessor !== 'object' || Array.isArray(imageProcessor)) {
      throw new ConfigError({
        path: file,
        message: 'has no "image_processor" object, and the directory has no preprocessor_config.json.',
        hint: 'Save the processor with transformers (processor.save_pretrained) or add a preprocessor_config.json.',
      });
    }
    return parsePreprocessorConfig(imageProcessor, `${file} (image_processor)`);
  }
  return parsePreprocessorConfig(json, file);
}
