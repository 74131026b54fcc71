import { InvalidArgumentError } from '@msd/core';
import type { TokenizerFiles } from './tokenizer-files';

/**
 * The browser build's stand-in for reading a tokenizer directory (package.json `imports` maps
 * `#tokenizer-directory` here under the `browser` condition): a page has no filesystem, so
 * `Tokenizer.fromDirectory` throws a typed error that names the calls that work there.
 */
export async function readTokenizerFiles(directory: string): Promise<TokenizerFiles> {
  throw new InvalidArgumentError({
    argument: 'directory',
    message: `Tokenizer.fromDirectory(${JSON.stringify(directory)}) reads files from disk, which a browser cannot.`,
    hint: 'In a browser use Tokenizer.fromUrl(baseUrl) (fetches tokenizer.json and tokenizer_config.json) or Tokenizer.fromJSON(files).',
  });
}
