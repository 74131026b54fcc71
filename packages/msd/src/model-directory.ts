import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ModelManifest } from '@msd/core';

/** A model directory with its parsed manifest (see docs/model-format.md). */
export interface ModelDirectory {
  /** Absolute or relative path of the directory. */
  path: string;
  /** Its manifest.json. */
  manifest: ModelManifest;
}

/**
 * Reads and checks a model directory's manifest.json, and that every file it names exists.
 *
 * @example
 * ```ts
 * import { readModelDirectory } from 'msd';
 *
 * const { manifest } = readModelDirectory('packages/tiny-llava/model');
 * console.log(manifest.imageTokensPerImage);
 * ```
 */
export function readModelDirectory(path: string): ModelDirectory {
  const manifestPath = join(path, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new ConfigError({ code: 'model_not_found', path: manifestPath, message: 'No manifest.json in the model directory.', hint: 'Pass a directory exported by the msd toolchain (docs/model-format.md).' });
  }
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
  } catch (cause) {
    throw new ConfigError({ path: manifestPath, message: 'manifest.json is not valid JSON.', hint: 'Re-export the model.', cause });
  }
  if (manifest.format !== 'msd-model' || manifest.formatVersion !== 1) {
    throw new ConfigError({ path: manifestPath, message: `Unsupported manifest format ${String(manifest.format)} v${String(manifest.formatVersion)}.`, hint: 'This msd reads msd-model v1 manifests.' });
  }
  const files = [...Object.values(manifest.graphs ?? {}), ...Object.values(manifest.drafts ?? {})].map((graph) => graph.file);
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json', ...files]) {
    if (!existsSync(join(path, file))) {
      throw new ConfigError({ code: 'model_file_missing', path: join(path, file), message: 'A file the model needs is missing.', hint: 'Copy the whole model directory, or re-export it.' });
    }
  }
  return { path, manifest };
}
