import { defineConfig, type Options } from 'tsup';

/**
 * The one build every package shares: ESM for Node 20 with declarations and source maps. The
 * declarations are built without the `@msd/source` condition so they point at other packages' `dist`.
 */
export const baseOptions: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: { compilerOptions: { customConditions: [] } },
  tsconfig: 'tsconfig.build.json',
  sourcemap: true,
  clean: true,
  target: 'node20',
};

export default defineConfig(baseOptions);
