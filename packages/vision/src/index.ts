/**
 * Image preprocessing for vision-language models (CLIP / LLaVA-1.5), driven by
 * a Hugging Face `preprocessor_config.json`, producing float32 NCHW tensors
 * for onnxruntime. Decodes with sharp, loaded lazily on first use.
 *
 * This is the Node entry; bundlers that resolve the `browser` condition get `browser.ts`: the same pipeline,
 * decoding with `createImageBitmap`, without {@link loadSharp}, {@link resizeRgb} and
 * {@link imageProcessorConfigFile}.
 *
 * @module @msd/vision
 */
export * from './portable';
export { resizeRgb } from './resize-image';
export { imageProcessorConfigFile } from './preprocessor-config-file';
export { loadSharp } from './load-sharp';
export type { Sharp } from './load-sharp';
