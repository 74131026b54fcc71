import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@msd/core';
import { MISSING_TOKENIZER_FILE_HINT, readTokenizerFilesWith, type TokenizerFileReader, type TokenizerFiles } from './tokenizer-files';

/**
 * Reads and parses `tokenizer.json` and `tokenizer_config.json` from a directory. When
 * tokenizer_config.json has no `chat_template`, one is taken from `chat_template.jinja` or
 * `chat_template.json` beside it (where transformers >= 4.43 saves a processor's template).
 * Node only: in a browser, fetch the files with `fetchTokenizerFiles` (or `Tokenizer.fromUrl`).
 *
 * Throws a `ConfigError` (`tokenizer_file_missing` or `tokenizer_file_malformed`) naming the file.
 *
 * @example
 * ```ts
 * import { readTokenizerFiles } from '@msd/tokenizer';
 *
 * const files = await readTokenizerFiles('models/tiny-llava');
 * console.log(Object.keys(files.tokenizerJson.model));
 * ```
 */
export async function readTokenizerFiles(directory: string): Promise<TokenizerFiles> {
  return readTokenizerFilesWith(directoryReader(directory), directory);
}

function directoryReader(directory: string): TokenizerFileReader {
  const location = (name: string) => join(directory, name);
  return {
    location,
    read: async (name) => {
      const path = location(name);
      try {
        return await readFile(path, 'utf8');
      } catch (cause) {
        throw unreadable(path, cause, MISSING_TOKENIZER_FILE_HINT);
      }
    },
    readOptional: async (name) => {
      const path = location(name);
      try {
        return await readFile(path, 'utf8');
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw unreadable(path, cause, 'Check the file permissions.');
      }
    },
  };
}

function unreadable(path: string, cause: unknown, hint: string): ConfigError {
  return new ConfigError({
    path,
    code: 'tokenizer_file_missing',
    message: `cannot read the file (${(cause as NodeJS.ErrnoException).code ?? String(cause)}).`,
    hint,
    cause,
  });
}
