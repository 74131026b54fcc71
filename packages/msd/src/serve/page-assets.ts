/**
 * The files of the page `msd serve` serves at `/`, ready to send. From the package they are the build's
 * `dist/serve-page/`; from source (tsx, vitest) page.ts is built in memory on each load, so a run from
 * source never serves a stale build.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MsdError } from '@msd/core';

/** One static file of the page. */
export interface PageAsset {
  /** The file's bytes. */
  body: Buffer;
  /** Its `Content-Type` header, with the charset for text. */
  contentType: string;
}

const PAGE_FILES = [
  { path: '/', file: 'index.html', contentType: 'text/html; charset=utf-8' },
  { path: '/page.js', file: 'page.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/page.css', file: 'page.css', contentType: 'text/css; charset=utf-8' },
] as const;

/**
 * The page's files by URL path: `'/'`, `'/page.js'`, `'/page.css'`. Load them once when the server starts.
 * Throws an `MsdError` with code `page_missing` when the package's build of the page is missing.
 *
 * @example
 * ```ts
 * const assets = await loadPageAssets();
 * const page = assets.get('/');
 * if (page) {
 *   response.writeHead(200, { 'Content-Type': page.contentType });
 *   response.end(page.body);
 * }
 * ```
 */
export async function loadPageAssets(): Promise<Map<string, PageAsset>> {
  const moduleUrl = new URL(import.meta.url);
  const root = await packageRoot(dirname(fileURLToPath(moduleUrl)));
  const fromSource = moduleUrl.pathname.endsWith('.ts');
  const assets = new Map<string, PageAsset>();
  if (fromSource) {
    const pageDirectory = join(root, 'src', 'serve', 'page');
    // A computed specifier, so tsup never bundles the builder (and esbuild, a devDependency) into dist.
    const builder: typeof import('./page-build') = await import(pathToFileURL(join(root, 'src', 'serve', 'page-build.ts')).href);
    for (const { path, file, contentType } of PAGE_FILES) {
      const body =
        file === 'page.js' ? Buffer.from(await builder.buildPageScript(pageDirectory, { minify: false })) : await readFile(join(pageDirectory, file));
      assets.set(path, { body, contentType });
    }
    return assets;
  }
  const builtDirectory = join(root, 'dist', 'serve-page');
  for (const { path, file, contentType } of PAGE_FILES) {
    const location = join(builtDirectory, file);
    try {
      assets.set(path, { body: await readFile(location), contentType });
    } catch (cause) {
      throw new MsdError({
        code: 'page_missing',
        message: `The web page of msd serve is not built: cannot read ${location}.`,
        hint: 'Build it with `pnpm --filter msd build` (a published msd ships it).',
        cause,
      });
    }
  }
  return assets;
}

/** The msd package's directory: the nearest one above `directory` whose package.json is msd's. */
async function packageRoot(directory: string): Promise<string> {
  for (let current = directory; ; current = dirname(current)) {
    if ((await packageName(join(current, 'package.json'))) === 'msd') return current;
    if (dirname(current) === current) {
      throw new MsdError({
        code: 'page_missing',
        message: `Cannot find the msd package above ${directory}, so not its web page either.`,
        hint: 'Run msd from its package (an npm install or this repository).',
      });
    }
  }
}

async function packageName(manifest: string): Promise<unknown> {
  try {
    return (JSON.parse(await readFile(manifest, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}
