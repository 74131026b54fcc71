import { defineConfig } from 'tsup';
import { baseOptions } from '../../tsup.base';

// Two builds: the Node entry and the browser entry (no Node module; model files from URLs or picked files).
// Both builds write into dist/ at the same time, so neither cleans it: the build script empties it first.
export default defineConfig([
  { ...baseOptions, clean: false },
  {
    ...baseOptions,
    entry: { browser: 'src/browser.ts' },
    platform: 'browser',
    target: 'es2022',
    clean: false,
  },
]);
