import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ConfigError, type ModelManifest } from '@msd/core';

/**
 * Directory of the bundled tiny LLaVA model (`manifest.json`, `config.json`, tokenizer, `onnx/`).
 * Works from the source tree and from the built package alike: both sit one level below the package.
 *
 * @example
 * ```ts
 * import { tinyLlavaDirectory } from '@msd/tiny-llava';
 *
 * const dir = tinyLlavaDirectory(); // .../node_modules/@msd/tiny-llava/model
 * ```
 */
export function tinyLlavaDirectory(): string {
  const directory = fileURLToPath(new URL('../model', import.meta.url));
  if (!existsSync(`${directory}/manifest.json`)) {
    throw new ConfigError({
      code: 'model_not_found',
      path: directory,
      message: 'The bundled model is missing (no manifest.json).',
      hint: 'Reinstall @msd/tiny-llava, or rebuild it with `training/run.sh all`.',
    });
  }
  return directory;
}

/**
 * The bundled model's manifest: graph files with their signatures, image token, image positions per image.
 *
 * @example
 * ```ts
 * import { tinyLlavaManifest } from '@msd/tiny-llava';
 *
 * const manifest = await tinyLlavaManifest();
 * console.log(manifest.imageTokensPerImage, Object.keys(manifest.drafts));
 * ```
 */
export async function tinyLlavaManifest(): Promise<ModelManifest> {
  const directory = tinyLlavaDirectory();
  return JSON.parse(await readFile(`${directory}/manifest.json`, 'utf8')) as ModelManifest;
}
