import { defineConfig } from 'tsup';
import { baseOptions } from '../../tsup.base';

// Two builds: the Node entry (onnxruntime-node) and the browser entry (onnxruntime-web, no Node module).
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
