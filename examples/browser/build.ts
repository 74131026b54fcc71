/**
 * Builds the browser example: `main.ts` bundled by esbuild into one ES module for the browser, beside
 * `index.html` and `style.css`, in `examples/browser/dist/` (or `outDirectory`).
 *
 *   pnpm exec tsx examples/browser/build.ts [--out DIR] [--no-minify]
 *
 * Workspace packages resolve to their TypeScript sources and browser entries through the export
 * conditions `@msd/source` and `browser`; onnxruntime-web is bundled as its package exports it for
 * the browser, and its `.wasm`/`.mjs` files are served beside the page (`/ort/`, `serve.ts`).
 */
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

/** This example's folder. */
export const EXAMPLE_DIRECTORY = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const REPOSITORY_ROOT = join(EXAMPLE_DIRECTORY, '..', '..');
/** Where {@link buildBrowserExample} writes by default. */
export const DEFAULT_OUT_DIRECTORY = join(EXAMPLE_DIRECTORY, 'dist');
/** The page's files copied as they are. */
const STATIC_FILES = ['index.html', 'style.css'] as const;

/** The part of esbuild's JS API this script uses. */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{
    errors: { text: string }[];
    warnings: { text: string; location?: { file: string; line: number } | null }[];
    metafile?: { inputs: Record<string, { bytes: number }>; outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }> }> };
  }>;
}

/**
 * esbuild, resolved from the `msd` package, whose devDependency it is (the examples' workspace package
 * has no bundler of its own).
 */
function loadEsbuild(): Esbuild {
  const require = createRequire(join(REPOSITORY_ROOT, 'packages', 'msd', 'package.json'));
  return require('esbuild') as Esbuild;
}

/** Size of one built file. */
export interface BuiltFile {
  /** Name inside the output folder. */
  name: string;
  /** Bytes on disk. */
  bytes: number;
  /** Bytes gzip-compressed (level 9), what a server sending `Content-Encoding: gzip` transfers. */
  gzipBytes: number;
}

/** What {@link buildBrowserExample} wrote. */
export interface BrowserExampleBuild {
  /** The output folder. */
  outDirectory: string;
  /** Every file written (the source map excluded), with its size. */
  files: BuiltFile[];
  /** The bundled script `main.js`. */
  script: BuiltFile;
  /** Bytes of `main.js` by where they came from: onnxruntime-web, msd's packages, the page, other dependencies (the tokenizer's). */
  scriptBreakdown: Record<'onnxruntime-web' | 'msd packages' | 'page' | 'other dependencies', number>;
  /** esbuild's warnings, as text. */
  warnings: string[];
}

/** Options of {@link buildBrowserExample}. */
export interface BuildBrowserExampleOptions {
  /** Output folder. Default `examples/browser/dist/`. */
  outDirectory?: string;
  /** Minify the script. Default true. */
  minify?: boolean;
}

function breakdownOf(inputs: Record<string, { bytesInOutput: number }>): BrowserExampleBuild['scriptBreakdown'] {
  const totals = { 'onnxruntime-web': 0, 'msd packages': 0, page: 0, 'other dependencies': 0 };
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    if (path.includes('onnxruntime-web')) totals['onnxruntime-web'] += bytesInOutput;
    else if (path.startsWith('packages/') || path.includes('/packages/')) totals['msd packages'] += bytesInOutput;
    else if (path.startsWith('examples/browser/')) totals.page += bytesInOutput;
    else totals['other dependencies'] += bytesInOutput;
  }
  return totals;
}

async function sizeOf(directory: string, name: string): Promise<BuiltFile> {
  const bytes = await readFile(join(directory, name));
  return { name, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

/**
 * Bundles the example page and copies its static files: `index.html`, `style.css`, `main.js` (with
 * `main.js.map`). Throws with esbuild's messages when the bundle fails (a module the browser cannot
 * load, such as a `node:` import on the browser path).
 *
 * @example
 * ```ts
 * const { outDirectory, script } = await buildBrowserExample();
 * console.log(`${outDirectory}/main.js: ${script.bytes} bytes, ${script.gzipBytes} gzipped`);
 * ```
 */
export async function buildBrowserExample(options: BuildBrowserExampleOptions = {}): Promise<BrowserExampleBuild> {
  const outDirectory = options.outDirectory ?? DEFAULT_OUT_DIRECTORY;
  await rm(outDirectory, { recursive: true, force: true });
  await mkdir(outDirectory, { recursive: true });
  const result = await loadEsbuild().build({
    absWorkingDir: REPOSITORY_ROOT,
    entryPoints: [join(EXAMPLE_DIRECTORY, 'main.ts')],
    outfile: join(outDirectory, 'main.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    // Workspace packages: their TypeScript sources, and their browser entries where they have one.
    conditions: ['@msd/source', 'browser'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    charset: 'utf8',
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  await Promise.all(STATIC_FILES.map((name) => copyFile(join(EXAMPLE_DIRECTORY, name), join(outDirectory, name))));
  const files = await Promise.all(['main.js', ...STATIC_FILES].map((name) => sizeOf(outDirectory, name)));
  const outputs = result.metafile?.outputs ?? {};
  const mainOutput = Object.entries(outputs).find(([path]) => path.endsWith('main.js'))?.[1];
  return {
    outDirectory,
    files,
    script: files[0]!,
    scriptBreakdown: breakdownOf(mainOutput?.inputs ?? {}),
    warnings: result.warnings.map((warning) => (warning.location ? `${warning.location.file}:${warning.location.line}: ${warning.text}` : warning.text)),
  };
}

function kilobytes(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-minify': { type: 'boolean', default: false } } });
  const built = await buildBrowserExample({ ...(values.out ? { outDirectory: values.out } : {}), minify: !values['no-minify'] });
  for (const warning of built.warnings) console.warn(`warning: ${warning}`);
  console.log(`built the browser example into ${relative(process.cwd(), built.outDirectory) || '.'}`);
  for (const file of built.files) console.log(`  ${file.name.padEnd(11)} ${kilobytes(file.bytes).padStart(11)}  (gzip ${kilobytes(file.gzipBytes)})`);
  const parts = Object.entries(built.scriptBreakdown)
    .map(([part, bytes]) => `${part} ${kilobytes(bytes)}`)
    .join(', ');
  console.log(`  main.js by source: ${parts}`);
  console.log('serve it: pnpm exec tsx examples/browser/serve.ts');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
