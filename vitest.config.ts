import { defineConfig } from 'vitest/config';

// Tests read each workspace package's `src` through the `@msd/source` export
// condition, so nothing has to be built before `vitest` runs.
const conditions = ['@msd/source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@msd/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The memory test collects garbage before it measures.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
