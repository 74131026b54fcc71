/**
 * Image preprocessing for vision-language models (CLIP / LLaVA-1.5), driven by
 * a Hugging Face `preprocessor_config.json`, producing float32 NCHW tensors
 * for onnxruntime. Decodes with sharp, loaded lazily on first use.
 *
 * @module @msd/vision
 */
export { ImagePreprocessor, preprocessImage, preprocessImages } from './image-preprocessor';
export type { ImageTensor, ImagePreprocessorOptions, PreprocessCallOptions, PreprocessBatchOptions } from './image-preprocessor';
export { parsePreprocessorConfig, loadPreprocessorConfig, imageProcessorConfigFile } from './preprocessor-config';
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
export { resizeRgb, resizeTarget, chooseResampler, RESAMPLERS } from './resize-image';
export type { Resampler } from './resize-image';
export { pilResize } from './pil-resample';
export type { PilFilter } from './pil-resample';
export { writeChwTensor } from './to-tensor';
export { loadSharp } from './load-sharp';
export type { Sharp } from './load-sharp';
export type { RgbImage } from './rgb-image';
export { ImageDecodeError, UnsupportedImageFormatError, ImageTooLargeError, ImageSourceError } from './errors';
