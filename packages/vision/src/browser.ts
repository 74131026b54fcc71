/**
 * The browser entry of `@msd/vision` (the `browser` export condition): the Node entry's pipeline and API, minus
 * `loadSharp`, `resizeRgb` and `imageProcessorConfigFile`. Images are `Uint8Array`s, `Blob`s, `data:` URLs or
 * http(s)/blob: URLs; they decode with `createImageBitmap` and resize with the port of Pillow only.
 */
export * from './portable';
