/**
 * Builds the page `msd serve` serves at `/`: `page/page.ts` bundled into one browser ES module, next to
 * `page/index.html` and `page/page.css` as they are. The package build writes it to `dist/serve-page/`
 * (tsup.config.ts); `page-assets.ts` builds it in memory when msd runs from source.
 *
 * esbuild is a devDependency: only those two callers load this module, never the published bundles.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The page's files that are served as written, beside the built `page.js`. */
export const PAGE_STATIC_FILES = ['index.html', 'page.css'] as const;

/**
 * Bundles `page.ts` of `pageDirectory` into one ES2020 module for the browser and returns its text.
 * Minified without a source map for the package; readable with an inline source map from source.
 *
 * @example
 * ```ts
 * const script = await buildPageScript('src/serve/page', { minify: true });
 * ```
 */
export async function buildPageScript(pageDirectory: string, { minify }: { minify: boolean }): Promise<string> {
  const result = await build({
    entryPoints: [join(pageDirectory, 'page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify,
    sourcemap: minify ? false : 'inline',
    charset: 'utf8',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild wrote nothing for ${join(pageDirectory, 'page.ts')}`);
  return output.text;
}

/**
 * Writes the built page (`index.html`, `page.js`, `page.css`) into `outDirectory`.
 *
 * @example
 * ```ts
 * await writePage('src/serve/page', 'dist/serve-page');
 * ```
 */
export async function writePage(pageDirectory: string, outDirectory: string): Promise<void> {
  await mkdir(outDirectory, { recursive: true });
  await Promise.all([
    buildPageScript(pageDirectory, { minify: true }).then((script) => writeFile(join(outDirectory, 'page.js'), script)),
    ...PAGE_STATIC_FILES.map((name) => copyFile(join(pageDirectory, name), join(outDirectory, name))),
  ]);
}
