import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// The transformers conformance suite (issue 14): run by scripts/conformance.sh, which builds the
// reference files first and sets MSD_CONFORMANCE_DIR. The base config's resolve conditions, its
// own file list (mergeConfig would append the unit tests' globs).
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['packages/msd/conformance/**/*.test.ts'], testTimeout: 300_000 },
});
