import { defineConfig } from 'vitest/config';

// The cluster suite (`npm run test:cluster`): the real Temporal server on PostgreSQL with SQL
// visibility, two worker processes and two API processes (stack/cluster), one file at a time.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: ['test/cluster/global-setup.ts'],
    setupFiles: ['test/support/quiet-runtime.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
