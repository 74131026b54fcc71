import { defineConfig } from 'tsup';
import { baseOptions } from '../../tsup.base';

// The CLI is a second entry; declarations only for the library.
export default defineConfig({
  ...baseOptions,
  entry: ['src/index.ts', 'src/cli.ts'],
  dts: { entry: 'src/index.ts', compilerOptions: { customConditions: [] } },
});
