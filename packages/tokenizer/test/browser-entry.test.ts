import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '@msd/core';
import { build, type BuildOptions } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as nodeEntry from '@msd/tokenizer';
import { readFixtureFiles, tinyLlavaTokenizerDir } from './helpers';

// The browser entry must bundle for a page with nothing of Node in it. The whole dependency tree is bundled
// (nothing external), so a node: import anywhere in it, ours or a dependency's, fails the build.

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

/** Bundles `import ... from '@msd/tokenizer'` as a page's bundler would: by package name, through the exports map. */
function bundleByName() {
  return build({ ...browserOptions, stdin: { contents: "export * from '@msd/tokenizer';", resolveDir: packageDir, loader: 'ts' } });
}

/** Imports of Node built-ins or sharp, whichever way they are written. */
const NODE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["'](?:node:[^"']*|fs|fs\/promises|path|sharp)["']/;

describe('the browser entry of @msd/tokenizer', () => {
  it('bundles for the browser with no node: import and no fs, path or sharp', async () => {
    const result = await bundleByName();
    const code = result.outputFiles[0]!.text;
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('src/browser.ts');
    expect(inputs).toContain('src/tokenizer-directory-browser.ts');
    expect(inputs).not.toContain('src/tokenizer-directory.ts');
    expect(inputs.filter((input) => /sharp|node:/.test(input))).toEqual([]);
    expect(code).not.toContain('node:');
    expect(code).not.toMatch(NODE_IMPORT);
    expect(code).not.toMatch(/\bsharp\b/);
  });

  it('is a real check: the Node entry does not bundle for the browser', async () => {
    const failure = await build({ ...browserOptions, entryPoints: [join(packageDir, 'src/index.ts')] }).catch((error: unknown) => error);
    expect(String((failure as Error)?.message)).toMatch(/node:fs/);
  });

  it('runs: fromJSON encodes as in Node, fromDirectory throws a typed error, and it exports the Node API but readTokenizerFiles', async () => {
    const result = await bundleByName();
    const file = join(mkdtempSync(join(tmpdir(), 'msd-tokenizer-browser-')), 'browser.mjs');
    writeFileSync(file, result.outputFiles[0]!.text);
    const browserEntry = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof nodeEntry;

    expect(Object.keys(browserEntry).sort()).toEqual(
      Object.keys(nodeEntry)
        .filter((name) => name !== 'readTokenizerFiles')
        .sort(),
    );

    const files = readFixtureFiles();
    const text = 'Hello <image> world, 東京 🙂';
    expect(browserEntry.Tokenizer.fromJSON(files).encode(text, { addSpecialTokens: true })).toEqual(
      nodeEntry.Tokenizer.fromJSON(files).encode(text, { addSpecialTokens: true }),
    );
    const error = await browserEntry.Tokenizer.fromDirectory(tinyLlavaTokenizerDir).catch((caught: unknown) => caught);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('fromUrl');
  });
});
