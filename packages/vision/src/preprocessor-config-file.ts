import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@msd/core';
import type { ConfigText } from './image-platform';

/** The text of the config a model directory or a file path names (Node's half of `loadPreprocessorConfig`). */
export async function readPreprocessorConfigFile(source: string): Promise<ConfigText> {
  let file = source;
  let nested = false;
  try {
    if ((await stat(source)).isDirectory()) {
      const name = imageProcessorConfigFile(source);
      file = join(source, name);
      nested = name === 'processor_config.json';
    }
  } catch (cause) {
    throw new ConfigError({
      path: source,
      code: 'config_not_found',
      message: 'no such file or directory.',
      hint: 'Pass a model directory or a preprocessor_config.json path.',
      cause,
    });
  }
  try {
    return { file, text: await readFile(file, 'utf8'), nested };
  } catch (cause) {
    throw new ConfigError({
      path: file,
      code: 'config_not_found',
      message: 'cannot be read.',
      hint: 'Check the model directory holds a preprocessor_config.json.',
      cause,
    });
  }
}

/**
 * Which file of a model directory holds its image processor: `preprocessor_config.json`, or, in a
 * directory that has only transformers 5's `processor_config.json`, that one (the settings sit under
 * its `image_processor` key). The name is returned even when neither file exists, so callers report
 * the usual file as missing. Node only (it looks at the filesystem).
 *
 * @example
 * ```ts
 * import { imageProcessorConfigFile } from '@msd/vision';
 *
 * imageProcessorConfigFile('models/llava-1.5-7b-hf'); // 'preprocessor_config.json'
 * ```
 */
export function imageProcessorConfigFile(directory: string): 'preprocessor_config.json' | 'processor_config.json' {
  const usual = 'preprocessor_config.json';
  return existsSync(join(directory, usual)) || !existsSync(join(directory, 'processor_config.json')) ? usual : 'processor_config.json';
}
