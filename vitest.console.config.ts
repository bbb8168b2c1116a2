import { defineConfig } from 'vitest/config';

// `npm run test:console`: the operator's console in Chromium against `npm start` (test/console/).
// Not part of `npm test`: it starts its own whole stack and a browser; .ci/run runs it after test:faults.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/console/**/*.test.ts'],
    setupFiles: ['test/support/quiet-runtime.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
