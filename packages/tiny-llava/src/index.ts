/**
 * The bundled default model of msd: a tiny LLaVA-architecture target trained from scratch by the
 * toolchain in `training/`, its MSD draft, tokenizer and configs.
 *
 * @module @msd/tiny-llava
 */
export { tinyLlavaDirectory, tinyLlavaManifest } from './model-directory';
export { tinyLlavaExampleImage, TINY_LLAVA_EXAMPLE_IMAGES } from './example-images';
export type { TinyLlavaExampleImage } from './example-images';
