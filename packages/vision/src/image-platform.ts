import type { ImageLimits } from './image-limits';
import type { ResampleFilter } from './preprocessor-config';
import type { Resampler } from './resampler';
import type { RgbImage } from './rgb-image';

/** How picky the decoder is about damaged pixel data: `DecodeImageOptions.failOn`. */
export type ImageFailOn = 'none' | 'truncated' | 'error' | 'warning';

/**
 * An image read and probed but not decoded: the header facts every size check
 * runs on before any pixel exists.
 */
export interface ProbedImage {
  /** The encoded image. */
  bytes: Uint8Array;
  /** Names the image in errors. */
  label: string;
  /** The encoded format, e.g. `png`. */
  format: string;
  /**
   * Width of the first frame, from the header (before EXIF orientation); 0 where the header did not say (the
   * browser's header reader on a malformed file), and then the decoded size is checked instead.
   */
  width: number;
  /** Height of the first frame (`pageHeight` for animated images), from the header; 0 where unknown, as `width`. */
  height: number;
  /** CMYK images decode through `cmykToRgb` (sharp only). */
  cmyk?: boolean;
  /**
   * 16-bit greyscale without alpha (sharp only). PIL opens it in mode `I;16`, and `convert('RGB')` clips its values
   * to 255 instead of scaling them, so it decodes through `clipGrey16`.
   */
  grey16?: boolean;
}

/**
 * Where a preprocessor config came from and its text: a file (Node) or a URL (browser), and whether it is
 * transformers 5's `processor_config.json`, whose settings sit under `image_processor`.
 */
export interface ConfigText {
  /** The file path or URL, for messages. */
  file: string;
  /** The file's text. */
  text: string;
  /** The file is a `processor_config.json`. */
  nested: boolean;
}

/**
 * What differs between Node and browsers; everything else in the package is one code path. package.json `imports`
 * maps `#image-platform` to `platform-node.ts` (sharp, node:fs) or, under the `browser` condition, to
 * `platform-browser.ts` (createImageBitmap, fetch), so a browser bundle never sees a Node module.
 */
export interface ImagePlatform {
  /** Encoded formats this platform decodes. */
  readonly supportedFormats: readonly string[];
  /** The resamplers this platform can run; the others are refused when a preprocessor is made. */
  readonly resamplers: readonly Resampler[];
  /** The sentence of error hints that lists the accepted input forms. */
  readonly inputForms: string;
  /** The bytes a string input names when it is not a `data:` URL (a file path in Node, a URL in browsers). */
  readLocation(location: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Checks the format and reads the size from the header, decoding nothing. */
  probe(bytes: Uint8Array, label: string, failOn: ImageFailOn): Promise<ProbedImage>;
  /** Decodes the first frame to 8-bit RGB as PIL's `exif_transpose` + `convert('RGB')` would. */
  decode(probed: ProbedImage, limits: ImageLimits, failOn: ImageFailOn): Promise<RgbImage>;
  /** Resizes with `resampler` (one of {@link ImagePlatform.resamplers}). */
  resize(image: RgbImage, width: number, height: number, filter: ResampleFilter, resampler: Resampler): Promise<RgbImage>;
  /** The text of the preprocessor config a string source names (a model directory or file in Node, a URL in browsers). */
  readConfig(source: string): Promise<ConfigText>;
}
