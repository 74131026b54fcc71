/**
 * What both entries of `@msd/vision` export: the whole pipeline, whose reading and decoding come from the
 * platform module package.json `imports` picks (sharp and node:fs in Node, createImageBitmap and fetch in
 * browsers). `index.ts` (Node) adds what only sharp or a filesystem can do; `browser.ts` adds nothing.
 */
export { ImagePreprocessor, preprocessImage, preprocessImages } from './image-preprocessor';
export type { ImageTensor, ImagePreprocessorOptions, PreprocessCallOptions, PreprocessBatchOptions } from './image-preprocessor';
export { parsePreprocessorConfig, loadPreprocessorConfig } from './preprocessor-config';
export type { PreprocessorConfig, ResampleFilter } from './preprocessor-config';
export { decodeImage, SUPPORTED_IMAGE_FORMATS } from './decode-image';
export type { DecodeImageOptions } from './decode-image';
export { readImageInput, describeImageInput, checkImageInput } from './image-input';
export type { ImageInput, ImageBytes } from './image-input';
export { parseDataUrl } from './data-url';
export { DEFAULT_IMAGE_LIMITS, resolveImageLimits } from './image-limits';
export type { ImageLimits } from './image-limits';
export { padToSquare, padBackground } from './pad-to-square';
export type { PadToSquareOptions } from './pad-to-square';
export { resizeTarget, chooseResampler, RESAMPLERS } from './resampler';
export type { Resampler } from './resampler';
export { pilResize } from './pil-resample';
export type { PilFilter } from './pil-resample';
export { writeChwTensor } from './to-tensor';
export type { RgbImage } from './rgb-image';
export { ImageDecodeError, UnsupportedImageFormatError, ImageTooLargeError, ImageSourceError } from './errors';
