import { ConfigError, MsdError, type ModelManifest, validateModelManifest } from '@msd/core';
import type { ModelFileReader } from './open-graph';

/** Bytes received so far while a model file downloads. */
export interface DownloadProgress {
  /** The file, relative to the model directory. */
  file: string;
  /** Bytes received. */
  loadedBytes: number;
  /** The file's size when the server said (`Content-Length`), else undefined. */
  totalBytes: number | undefined;
  /** True when the bytes came from the cache, not the network. */
  cached: boolean;
}

/** Options of {@link urlModelSource}. */
export interface UrlModelSourceOptions {
  /**
   * Keep downloaded files in the Cache API (cache `cacheName`), so the next visit reads them from disk.
   * Default true where the Cache API exists (browsers on https or localhost).
   */
  cache?: boolean;
  /** The Cache API cache's name. Default `'msd-models'`. */
  cacheName?: string;
  /** Called as bytes arrive. */
  onProgress?: (progress: DownloadProgress) => void;
  /** The fetch to use. Default: the global one. */
  fetch?: typeof fetch;
}

/** The part of the Cache API this module uses (typed here: Node's typings do not have it). */
interface CacheStorageLike {
  open(name: string): Promise<{ match(url: string): Promise<Response | undefined>; put(url: string, response: Response): Promise<void> }>;
}

/** The Cache API, where the platform has it. */
function cacheStorage(): CacheStorageLike | undefined {
  return (globalThis as { caches?: CacheStorageLike }).caches;
}

/**
 * A model directory served over HTTP (a browser app's own host, a CDN): files fetched relative to
 * `baseUrl`, with download progress, and kept in the Cache API so a second visit loads from disk.
 *
 * @example
 * ```ts
 * import { urlModelSource } from '@msd/models';
 *
 * const source = urlModelSource('/model/', { onProgress: (p) => console.log(p.file, p.loadedBytes, p.totalBytes) });
 * const manifest = await readModelManifest(source);
 * ```
 */
export function urlModelSource(baseUrl: string | URL, options: UrlModelSourceOptions = {}): ModelFileReader {
  const base = new URL(String(baseUrl).endsWith('/') ? String(baseUrl) : `${String(baseUrl)}/`, (globalThis as { location?: { href: string } }).location?.href);
  const fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
  const useCache = (options.cache ?? true) && cacheStorage() !== undefined;
  return {
    label: base.href,
    async read(file: string): Promise<Uint8Array> {
      const url = new URL(file, base).href;
      const cache = useCache ? await cacheStorage()!.open(options.cacheName ?? 'msd-models') : undefined;
      const cached = await cache?.match(url);
      if (cached) {
        const bytes = new Uint8Array(await cached.arrayBuffer());
        options.onProgress?.({ file, loadedBytes: bytes.byteLength, totalBytes: bytes.byteLength, cached: true });
        return bytes;
      }
      let response: Response;
      try {
        response = await fetcher(url);
      } catch (cause) {
        throw new MsdError({
          code: 'model_fetch_failed',
          message: `Cannot fetch ${url}: ${String((cause as Error)?.message ?? cause)}.`,
          hint: 'Check the model URL and that the server allows this origin (CORS).',
          cause,
        });
      }
      if (!response.ok) {
        throw new MsdError({
          code: response.status === 404 ? 'model_file_missing' : 'model_fetch_failed',
          message: `Fetching ${url} answered HTTP ${response.status}.`,
          hint: 'Serve every file of the model directory under one URL (docs/browser.md).',
        });
      }
      const bytes = await readWithProgress(response, (loadedBytes, totalBytes) => options.onProgress?.({ file, loadedBytes, totalBytes, cached: false }));
      // A full cache (quota) must not fail the load: the model is in memory already.
      await cache?.put(url, new Response(bytes.slice().buffer, { headers: { 'Content-Type': 'application/octet-stream' } })).catch(() => {});
      return bytes;
    },
  };
}

async function readWithProgress(response: Response, progress: (loaded: number, total: number | undefined) => void): Promise<Uint8Array> {
  const declared = Number(response.headers.get('Content-Length'));
  const total = Number.isFinite(declared) && declared > 0 ? declared : undefined;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    progress(bytes.byteLength, total);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    progress(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * A model directory the user picked (`<input type="file" webkitdirectory>`, drag and drop): files
 * matched by their path relative to the directory (`webkitRelativePath` minus the folder's name, or
 * the map's keys).
 *
 * @example
 * ```ts
 * import { fileModelSource } from '@msd/models';
 *
 * const source = fileModelSource(input.files!); // the files of a picked model directory
 * ```
 */
export function fileModelSource(files: Iterable<File> | ReadonlyMap<string, Blob>): ModelFileReader {
  const byPath = new Map<string, Blob>();
  if (files instanceof Map) {
    for (const [path, blob] of files) byPath.set(path.replace(/^\.?\//, ''), blob);
  } else {
    for (const file of files as Iterable<File>) {
      const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
      // A picked directory's files carry its name first: `model/onnx/decoder_model.onnx`.
      byPath.set(relative.includes('/') ? relative.slice(relative.indexOf('/') + 1) : relative, file);
    }
  }
  return {
    label: `${byPath.size} picked files`,
    async read(file: string): Promise<Uint8Array> {
      const blob = byPath.get(file);
      if (!blob)
        throw new MsdError({
          code: 'model_file_missing',
          message: `The picked model directory has no ${file}.`,
          hint: 'Pick the whole model directory (manifest.json and onnx/).',
        });
      return new Uint8Array(await blob.arrayBuffer());
    },
  };
}

/**
 * Reads a JSON file of a model directory through a {@link ModelFileReader}.
 *
 * @example
 * ```ts
 * import { readModelJson } from '@msd/models';
 *
 * const config = await readModelJson(source, 'preprocessor_config.json');
 * ```
 */
export async function readModelJson(source: ModelFileReader, file: string): Promise<Record<string, unknown>> {
  const text = new TextDecoder().decode(await source.read(file));
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError({ path: `${source.label}${file}`, message: 'is not valid JSON.', cause });
  }
}

/**
 * Reads and validates `manifest.json` through a {@link ModelFileReader}: the browser's counterpart of
 * `readModelDirectory`.
 *
 * @example
 * ```ts
 * import { readModelManifest, urlModelSource } from '@msd/models';
 *
 * const manifest = await readModelManifest(urlModelSource('/model/'));
 * ```
 */
export async function readModelManifest(source: ModelFileReader): Promise<ModelManifest> {
  const json = await readModelJson(source, 'manifest.json');
  return validateModelManifest(json, `${source.label}manifest.json`);
}
