import { ImageSourceError, ImageTooLargeError } from './errors';
import { throwIfAborted } from './throw-if-aborted';

/** Schemes a page can fetch an image from; `file:` and the like are refused rather than left to fail oddly. */
const FETCHABLE = new Set(['http:', 'https:', 'blob:']);

/**
 * `location` relative to the page (or worker) where there is one. The browser build's `readLocation`: strings that
 * are not `data:` URLs are URLs there, as there are no file paths.
 */
function resolveUrl(location: string): URL {
  try {
    return new URL(location, (globalThis as { location?: { href?: string } }).location?.href);
  } catch (cause) {
    throw new ImageSourceError({
      source: location,
      message: `${location} is not a URL.`,
      hint: 'In a browser an image string is a data:, http(s): or blob: URL (relative to the page); pass bytes as a Blob or Uint8Array.',
      cause,
    });
  }
}

/**
 * Fetches the image at a URL, refusing it by its `Content-Length` when that is over `maxBytes`, and otherwise
 * reading the body in chunks and stopping as soon as more than `maxBytes` have arrived, whatever the header said
 * (it may be absent, or wrong for a compressed response).
 */
export async function fetchImageBytes(location: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const url = resolveUrl(location);
  if (!FETCHABLE.has(url.protocol)) {
    throw new ImageSourceError({
      source: location,
      message: `Cannot fetch image ${location}: only http:, https: and blob: URLs can be fetched here.`,
      hint: 'Pass the bytes as a Blob or Uint8Array, or a data: URL.',
    });
  }
  const failed = (cause: unknown): unknown => {
    if (signal?.aborted) return signal.reason;
    return new ImageSourceError({
      source: location,
      message: `Cannot fetch image ${location}: ${String((cause as Error)?.message ?? cause)}.`,
      hint: 'Check the URL; a page can fetch another origin only when that origin allows it (CORS).',
      cause,
    });
  };
  let response: Response;
  try {
    response = await fetch(url, signal ? { signal } : {});
  } catch (cause) {
    throw failed(cause);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new ImageSourceError({
      source: location,
      message: `Cannot fetch image ${location}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`,
      hint: 'Check the URL.',
    });
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ImageTooLargeError({ source: location, limit: 'bytes', actual: declared, max: maxBytes });
  }
  try {
    return await readBody(response, location, maxBytes, signal);
  } catch (cause) {
    if (ImageTooLargeError.isInstance(cause)) throw cause;
    throw failed(cause);
  }
}

async function readBody(response: Response, location: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
      if (total > maxBytes) throw new ImageTooLargeError({ source: location, limit: 'bytes', actual: total, max: maxBytes, atLeast: true });
    }
  } catch (cause) {
    await reader.cancel().catch(() => undefined);
    throw cause;
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
