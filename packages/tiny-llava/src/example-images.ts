import { fileURLToPath } from 'node:url';

/** Example images shipped with the bundled model, for README examples that work after an npm install. */
export const TINY_LLAVA_EXAMPLE_IMAGES = ['scene.png', 'example.png'] as const;

/** The name of an image {@link tinyLlavaExampleImage} can return. */
export type TinyLlavaExampleImage = (typeof TINY_LLAVA_EXAMPLE_IMAGES)[number];

/**
 * Path of an example image shipped with `@msd/tiny-llava`: `scene.png` (three shapes on a beige
 * background, which the bundled model describes correctly) or `example.png` (a house, sun and grass,
 * unlike anything it was trained on).
 *
 * @example
 * ```ts
 * import { tinyLlavaExampleImage } from '@msd/tiny-llava';
 *
 * const image = tinyLlavaExampleImage(); // .../node_modules/@msd/tiny-llava/examples/scene.png
 * ```
 */
export function tinyLlavaExampleImage(name: TinyLlavaExampleImage = 'scene.png'): string {
  if (!(TINY_LLAVA_EXAMPLE_IMAGES as readonly string[]).includes(name)) {
    throw new TypeError(`No example image '${name}': choose ${TINY_LLAVA_EXAMPLE_IMAGES.join(' or ')}.`);
  }
  // src/ and dist/ both sit one level below the package.
  return fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
}
