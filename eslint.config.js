// Lint guards what memory would not: floating promises anywhere, and determinism in workflows/.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2',
  'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls', 'url', 'util', 'worker_threads', 'zlib',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'dist/**', 'bench/results/**', 'test/replay/histories/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Workflow code is replayed: it must not do I/O or read anything outside the SDK's deterministic
    // replacements. Activities are imported as types only.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...NODE_BUILTINS.flatMap((name) => [
              { name, message: 'Workflows are deterministic: no Node built-ins. Do the I/O in an activity.' },
              { name: `node:${name}`, message: 'Workflows are deterministic: no Node built-ins. Do the I/O in an activity.' },
            ]),
            { name: 'postgres', message: 'No database access in workflows; use an activity.' },
            { name: 'drizzle-orm', message: 'No database access in workflows; use an activity.' },
            { name: 'stripe', message: 'No provider calls in workflows; use an activity.' },
            { name: 'undici', message: 'No network in workflows; use an activity.' },
            { name: '@temporalio/client', message: 'Workflows use @temporalio/workflow, not the client.' },
            { name: '@temporalio/activity', message: 'Activity context does not exist in workflows.' },
          ],
          patterns: [
            { group: ['**/activities/*', '**/activities'], allowTypeImports: true, message: 'Import activities as types only.' },
            { group: ['**/providers/*/*', '**/db/*', '**/api/*', '**/config', '**/config/*'], allowTypeImports: true, message: 'Workflows may only import types from here.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'process', message: 'Workflows must not read the environment.' },
        { name: 'fetch', message: 'No network in workflows; use an activity.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use uuid4() or a seeded value from the workflow input.' },
      ],
    },
  },
);
