import { defineConfig } from 'tsup';
import { baseOptions } from '../../tsup.base';

// The CLI is a second entry, transformers.js support a third (so `msd` never loads it); declarations for the libraries.
export default defineConfig({
  ...baseOptions,
  entry: ['src/index.ts', 'src/cli.ts', 'src/transformers-js.ts'],
  dts: { entry: ['src/index.ts', 'src/transformers-js.ts'], compilerOptions: { customConditions: [] } },
});
