import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { ConfigError, validateModelManifest, type ModelManifest } from '@msd/core';
import { imageProcessorConfigFile } from '@msd/vision';

/** A model directory with its parsed manifest (see docs/model-format.md). */
export interface ModelDirectory {
  /** Absolute or relative path of the directory. */
  path: string;
  /** Its manifest.json. */
  manifest: ModelManifest;
}

/** The largest manifest.json read: real ones are a few kilobytes. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function readManifestText(manifestPath: string): string {
  const info = statSync(manifestPath);
  if (!info.isFile()) {
    throw new ConfigError({
      code: 'invalid_manifest',
      path: manifestPath,
      message: 'manifest.json is not a regular file.',
      hint: 'Pass a directory exported by the msd toolchain.',
    });
  }
  if (info.size > MAX_MANIFEST_BYTES) {
    throw new ConfigError({
      code: 'invalid_manifest',
      path: manifestPath,
      message: `manifest.json is ${info.size} bytes; no real manifest is over ${MAX_MANIFEST_BYTES}.`,
      hint: 'Re-export the model.',
    });
  }
  return readFileSync(manifestPath, 'utf8');
}

/**
 * The real path of a file the manifest names, refused when it (or a symbolic link on the way)
 * leads outside the model directory: a manifest must not make msd read arbitrary files.
 */
function confinedFile(directory: string, file: string): string {
  const path = join(directory, file);
  if (!existsSync(path)) {
    throw new ConfigError({
      code: 'model_file_missing',
      path,
      message: 'A file the model needs is missing.',
      hint: 'Copy the whole model directory, or re-export it.',
    });
  }
  const outside = relative(realpathSync(directory), realpathSync(path));
  if (outside.startsWith('..') || isAbsolute(outside)) {
    throw new ConfigError({
      code: 'invalid_manifest',
      path,
      message: `${file} leads outside the model directory.`,
      hint: 'Keep every model file inside the model directory.',
    });
  }
  if (!statSync(path).isFile()) {
    throw new ConfigError({
      code: 'model_file_missing',
      path,
      message: `${file} is not a regular file.`,
      hint: 'Copy the whole model directory, or re-export it.',
    });
  }
  return path;
}

/**
 * Reads a model directory's manifest.json, checks it against the msd-model v1 schema
 * ({@link validateModelManifest}: every field, every cross-reference), and checks that every file it
 * names exists inside the directory.
 *
 * @example
 * ```ts
 * import { readModelDirectory } from '@msd/models';
 *
 * const { manifest } = readModelDirectory('packages/tiny-llava/model');
 * console.log(manifest.imageTokensPerImage);
 * ```
 */
export function readModelDirectory(path: string): ModelDirectory {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ConfigError({
      code: 'model_not_found',
      message: `The model directory must be a path, got ${path === '' ? 'an empty string' : typeof path}.`,
      hint: 'Pass the directory an msd export wrote.',
    });
  }
  const manifestPath = join(path, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new ConfigError({
      code: 'model_not_found',
      path: manifestPath,
      message: 'No manifest.json in the model directory.',
      hint: 'Pass a directory exported by the msd toolchain (docs/model-format.md).',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readManifestText(manifestPath));
  } catch (cause) {
    if (ConfigError.isInstance(cause)) throw cause;
    throw new ConfigError({ code: 'invalid_manifest', path: manifestPath, message: 'manifest.json is not valid JSON.', hint: 'Re-export the model.', cause });
  }
  const manifest = validateModelManifest(parsed, manifestPath);
  const files = [...Object.values(manifest.graphs), ...Object.values(manifest.drafts)].map((graph) => graph.file);
  for (const file of ['tokenizer.json', 'tokenizer_config.json', imageProcessorConfigFile(path), ...files]) confinedFile(path, file);
  return { path, manifest };
}
