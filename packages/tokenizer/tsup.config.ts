import { defineConfig } from 'tsup';
import { baseOptions } from '../../tsup.base';

export default defineConfig([
  // The Node build as every package has it; its clean step spares the browser build's files, which the second
  // config writes at the same time.
  { ...baseOptions, clean: ['!browser.js', '!browser.js.map'] },
  // dist/browser.js, the `browser` export condition's target. The types stay index.d.ts's: the browser API is
  // the same names with the same signatures.
  { ...baseOptions, entry: ['src/browser.ts'], platform: 'browser', target: 'es2022', dts: false, clean: false },
]);
