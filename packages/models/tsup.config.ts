import { defineConfig } from 'tsup';
import { baseOptions } from '../../tsup.base';

// Two builds: the Node entry and the browser entry (no Node module; model files from URLs or picked files).
export default defineConfig([
  baseOptions,
  {
    ...baseOptions,
    entry: { browser: 'src/browser.ts' },
    platform: 'browser',
    target: 'es2022',
    clean: false,
  },
]);
