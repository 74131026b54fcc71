import { defineConfig } from 'tsup';
import { baseOptions } from '../../tsup.base';

// The CLI, the benchmark subpath and transformers.js support are entries of their own, so the `msd` entry never loads them.
export default defineConfig({
  ...baseOptions,
  entry: { index: 'src/index.ts', cli: 'src/cli.ts', 'bench/index': 'src/bench/index.ts', 'bench/transformers-js': 'src/bench/transformers-js.ts' },
  dts: {
    entry: { index: 'src/index.ts', 'bench/index': 'src/bench/index.ts', 'bench/transformers-js': 'src/bench/transformers-js.ts' },
    compilerOptions: { customConditions: [] },
  },
});
