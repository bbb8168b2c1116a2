import { defineConfig } from 'vitest/config';

// The fault suite (`npm run test:faults`): processes killed, servers restarted, providers failing.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/quiet-runtime.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
