import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as nodeEntry from '@msd/vision';

// The browser entry must bundle for a page with nothing of Node in it: no node: import, no fs, path or sharp.
// Nothing is external, so such an import anywhere below the entry would fail the build.

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const browserOptions = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  conditions: ['@msd/source', 'browser'],
  write: false,
  metafile: true,
  logLevel: 'silent',
  absWorkingDir: packageDir,
} satisfies BuildOptions;

/** Bundles `import ... from '@msd/vision'` as a page's bundler would: by package name, through the exports map. */
function bundleByName() {
  return build({ ...browserOptions, stdin: { contents: "export * from '@msd/vision';", resolveDir: packageDir, loader: 'ts' } });
}

/** Imports of Node built-ins or sharp, whichever way they are written. */
const NODE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["'](?:node:[^"']*|fs|fs\/promises|path|sharp)["']/;

/** The Node entry's exports that need sharp or a filesystem. */
const NODE_ONLY = ['imageProcessorConfigFile', 'loadSharp', 'resizeRgb'];

describe('the browser entry of @msd/vision', () => {
  it('bundles for the browser with no node: import and no fs, path or sharp', async () => {
    const result = await bundleByName();
    const code = result.outputFiles[0]!.text;
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('src/browser.ts');
    expect(inputs).toContain('src/platform-browser.ts');
    for (const nodeModule of ['src/platform-node.ts', 'src/load-sharp.ts', 'src/image-file.ts', 'src/decode-image-sharp.ts', 'src/resize-image.ts']) {
      expect(inputs).not.toContain(nodeModule);
    }
    expect(inputs.filter((input) => /sharp|node:/.test(input))).toEqual([]);
    expect(code).not.toContain('node:');
    expect(code).not.toMatch(NODE_IMPORT);
    // Node globals a browser lacks, used rather than named in a message.
    expect(code).not.toMatch(/loadSharp|\bBuffer\.(?:from|alloc|concat)|\bprocess\.\w/);
  });

  it('is a real check: the Node entry does not bundle for the browser', async () => {
    const failure = await build({ ...browserOptions, entryPoints: [join(packageDir, 'src/index.ts')] }).catch((error: unknown) => error);
    expect(String((failure as Error)?.message)).toMatch(/node:/);
  });

  it("exports the Node entry's API but what needs sharp or a filesystem, and runs its pure parts under Node", async () => {
    const result = await bundleByName();
    const file = join(mkdtempSync(join(tmpdir(), 'msd-vision-browser-')), 'browser.mjs');
    writeFileSync(file, result.outputFiles[0]!.text);
    const browserEntry = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof nodeEntry;
    expect(Object.keys(browserEntry).sort()).toEqual(
      Object.keys(nodeEntry)
        .filter((name) => !NODE_ONLY.includes(name))
        .sort(),
    );
    expect(browserEntry.SUPPORTED_IMAGE_FORMATS).toEqual(['jpeg', 'png', 'webp', 'gif']);
    const raw = { size: { shortest_edge: 336 }, crop_size: 336, do_pad: true };
    expect(await browserEntry.loadPreprocessorConfig(raw)).toEqual(await nodeEntry.loadPreprocessorConfig(raw));
    expect(browserEntry.parseDataUrl('data:image/png;base64,iVBORw0KGgo=')).toEqual(nodeEntry.parseDataUrl('data:image/png;base64,iVBORw0KGgo='));
    // Node has no createImageBitmap: the browser build says so with a typed error rather than a TypeError.
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    const error = await browserEntry.decodeImage(png).catch((caught: unknown) => caught);
    expect(browserEntry.ImageDecodeError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message).toContain('createImageBitmap');
  });
});
