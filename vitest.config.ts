import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Worker threads have crashed the Temporal native bridge; forks keep each file in its own process.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/quiet-runtime.ts'],
    exclude: ['test/faults/**', 'test/cluster/**', 'test/console/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
