import { ConfigError } from '@msd/core';
import type { ConfigText } from './image-platform';

/**
 * The text of the config a URL names (the browser build's half of `loadPreprocessorConfig`): the file itself, or,
 * for a folder URL (ending in `/`), its `preprocessor_config.json`, else transformers 5's `processor_config.json`,
 * as Node looks in a model directory.
 */
export async function fetchPreprocessorConfig(source: string): Promise<ConfigText> {
  let url: URL;
  try {
    url = new URL(source, (globalThis as { location?: { href?: string } }).location?.href);
  } catch (cause) {
    throw new ConfigError({
      path: source,
      code: 'config_not_found',
      message: 'is not a URL.',
      hint: 'In a browser pass the parsed preprocessor_config.json object, its URL, or the URL of the model folder ending in "/".',
      cause,
    });
  }
  if (!url.pathname.endsWith('/')) return { file: url.href, text: (await fetchText(url.href, false))!, nested: false };
  const usual = new URL('preprocessor_config.json', url).href;
  const text = await fetchText(usual, true);
  if (text !== undefined) return { file: usual, text, nested: false };
  const processor = new URL('processor_config.json', url).href;
  const nestedText = await fetchText(processor, true);
  // Neither there: report the usual file missing, as Node does for a directory.
  if (nestedText === undefined) throw notFound(usual, 'HTTP 404.');
  return { file: processor, text: nestedText, nested: true };
}

/** The body of `url`; `undefined` for a 404 when `optional`. */
async function fetchText(url: string, optional: boolean): Promise<string | undefined> {
  try {
    const response = await fetch(url);
    if (optional && response.status === 404) return undefined;
    if (!response.ok) throw notFound(url, `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`);
    return await response.text();
  } catch (cause) {
    if (ConfigError.isInstance(cause)) throw cause;
    throw notFound(url, `the request failed (${String((cause as Error)?.message ?? cause)}).`, cause);
  }
}

function notFound(url: string, message: string, cause?: unknown): ConfigError {
  return new ConfigError({
    path: url,
    code: 'config_not_found',
    message,
    hint: 'Check the URL of preprocessor_config.json (or of the model folder, ending in "/"), and that the server allows this page to fetch it (CORS).',
    cause,
  });
}
