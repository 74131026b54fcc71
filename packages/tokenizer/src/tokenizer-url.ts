import { ConfigError, InvalidArgumentError } from '@msd/core';
import { MISSING_TOKENIZER_FILE_HINT, readTokenizerFilesWith, type TokenizerFileReader, type TokenizerFiles } from './tokenizer-files';

/**
 * Options of {@link fetchTokenizerFiles}.
 *
 * @example
 * ```ts
 * import type { FetchTokenizerFilesOptions } from '@msd/tokenizer';
 *
 * const options: FetchTokenizerFilesOptions = { signal: AbortSignal.timeout(30_000) };
 * ```
 */
export interface FetchTokenizerFilesOptions {
  /**
   * The `fetch` to use, e.g. one that adds an `Authorization` header for a gated Hugging Face repository, or
   * reads from a cache. Default: the global `fetch`.
   */
  fetch?: typeof fetch;
  /** Cancels the requests; the call then throws the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Fetches and parses a tokenizer's files from a base URL (the folder that holds them): `tokenizer.json` and
 * `tokenizer_config.json`, and, when the config has no `chat_template`, `chat_template.jinja` or
 * `chat_template.json` (a 404 on those two means "not there"), as {@link readTokenizerFiles} reads them from a
 * directory. Works in browsers and in Node (global `fetch`).
 *
 * `baseUrl` is a folder: a missing trailing slash is added, so `.../resolve/main` and `.../resolve/main/` fetch
 * the same files. A relative URL is resolved against the page's address where there is one.
 * Throws a `ConfigError` naming the URL: `tokenizer_file_missing` for an HTTP error status or a failed request,
 * `tokenizer_file_malformed` for a file that is not valid JSON; `InvalidArgumentError` for a `baseUrl` that is not a URL.
 *
 * @example
 * ```ts
 * import { fetchTokenizerFiles, Tokenizer } from '@msd/tokenizer';
 *
 * const files = await fetchTokenizerFiles('https://huggingface.co/llava-hf/llava-1.5-7b-hf/resolve/main/');
 * const tokenizer = Tokenizer.fromJSON(files);
 * ```
 */
export async function fetchTokenizerFiles(baseUrl: string | URL, options: FetchTokenizerFilesOptions = {}): Promise<TokenizerFiles> {
  const base = folderUrl(baseUrl);
  const fetchFile = options.fetch ?? globalThis.fetch;
  if (typeof fetchFile !== 'function') {
    throw new InvalidArgumentError({
      argument: 'options.fetch',
      message: 'There is no global fetch here and no options.fetch was given.',
      hint: 'Pass options.fetch, or run on Node >= 18 or in a browser.',
    });
  }
  return readTokenizerFilesWith(urlReader(base, fetchFile, options.signal), base.href);
}

/** `baseUrl` as a URL whose path ends in `/`, so relative file names resolve inside it rather than beside it. */
function folderUrl(baseUrl: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(baseUrl), (globalThis as { location?: { href?: string } }).location?.href);
  } catch (cause) {
    throw new InvalidArgumentError({
      argument: 'baseUrl',
      message: `${JSON.stringify(String(baseUrl))} is not a URL.`,
      hint: 'Pass an absolute URL of the folder that holds tokenizer.json, e.g. https://example.com/models/tiny-llava/.',
      cause,
    });
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

/** Not-there statuses of the optional files; anything else failing is an error worth reporting. */
const ABSENT_STATUSES = new Set([404, 410]);

function urlReader(base: URL, fetchFile: typeof fetch, signal: AbortSignal | undefined): TokenizerFileReader {
  const location = (name: string) => new URL(name, base).href;
  const get = async (name: string, optional: boolean): Promise<string | undefined> => {
    const url = location(name);
    const failed = (cause: unknown): unknown => {
      if (signal?.aborted) return signal.reason;
      return new ConfigError({
        path: url,
        code: 'tokenizer_file_missing',
        message: `the request failed (${String((cause as Error)?.message ?? cause)}).`,
        hint: 'Check the URL and the network; a page can fetch another origin only when that origin allows it (CORS).',
        cause,
      });
    };
    let response: Response;
    try {
      response = await fetchFile(url, signal ? { signal } : {});
    } catch (cause) {
      throw failed(cause);
    }
    if (optional && ABSENT_STATUSES.has(response.status)) return undefined;
    if (!response.ok) {
      throw new ConfigError({
        path: url,
        code: 'tokenizer_file_missing',
        message: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`,
        hint: optional ? 'Check the server; a missing file should answer 404.' : MISSING_TOKENIZER_FILE_HINT,
      });
    }
    try {
      return await response.text();
    } catch (cause) {
      throw failed(cause); // the connection can drop in the middle of the body
    }
  };
  return {
    location,
    read: async (name) => (await get(name, false)) as string,
    readOptional: (name) => get(name, true),
  };
}
