import type sharpType from 'sharp';

/**
 * The sharp module's default export.
 *
 * @example
 * ```ts
 * import { loadSharp, type Sharp } from '@msd/vision';
 *
 * const sharp: Sharp = await loadSharp();
 * ```
 */
export type Sharp = typeof sharpType;

let pending: Promise<Sharp> | undefined;

/**
 * Loads sharp (a native module) on first use, so importing `@msd/vision`
 * does not load it.
 *
 * @example
 * ```ts
 * import { loadSharp } from '@msd/vision';
 *
 * const sharp = await loadSharp();
 * console.log(sharp.versions.vips);
 * ```
 */
export function loadSharp(): Promise<Sharp> {
  pending ??= import('sharp').then((module) => ((module as { default?: Sharp }).default ?? module) as Sharp);
  return pending;
}
