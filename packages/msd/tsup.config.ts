import { defineConfig } from 'tsup';
import { baseOptions } from '../../tsup.base';
import { writePage } from './src/serve/page-build';

// The CLI, the benchmark subpath and transformers.js support are entries of their own, so the `msd` entry never loads them.
// Both builds write into dist/ at the same time, so neither cleans it: the build script empties it first.
export default defineConfig([
  {
    ...baseOptions,
    clean: false,
    entry: {
      index: 'src/index.ts',
      cli: 'src/cli.ts',
      'bench/index': 'src/bench/index.ts',
      'bench/transformers-js': 'src/bench/transformers-js.ts',
      'serve/index': 'src/serve/index.ts',
    },
    dts: {
      entry: {
        index: 'src/index.ts',
        'bench/index': 'src/bench/index.ts',
        'bench/transformers-js': 'src/bench/transformers-js.ts',
        'serve/index': 'src/serve/index.ts',
      },
      compilerOptions: { customConditions: [] },
    },
    // The web page of `msd serve` is a browser module: built after the Node bundles, into dist/serve-page/.
    onSuccess: () => writePage('src/serve/page', 'dist/serve-page'),
  },
  // The browser entry: BrowserPipeline on onnxruntime-web, with every workspace package's browser entry.
  {
    ...baseOptions,
    entry: { browser: 'src/browser.ts' },
    platform: 'browser',
    target: 'es2022',
    clean: false,
    esbuildOptions(options) {
      options.conditions = ['browser'];
    },
    dts: { entry: { browser: 'src/browser.ts' }, compilerOptions: { customConditions: ['browser'], types: [] } },
  },
]);
