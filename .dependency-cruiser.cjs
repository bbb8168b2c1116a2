// The house rules of Skerry's imports: every import points down the layers, no module circles, and the
// sandboxes (other companies' servers) import nothing of the product. `npm test` runs this check;
// README.md ("Layout") draws the same layers.
//
// Each layer names the layers it may import. What no rule allows is a violation.
const LAYERS = {
  domain: [],
  config: ['domain'],
  // Key material (HKDF subkeys, sealing, the payload codec): what every layer that keeps or sends a secret uses.
  security: ['domain', 'config'],
  db: ['domain'],
  observability: ['domain', 'config'],
  workflows: ['domain'],
  store: ['domain', 'security', 'db', 'observability'],
  providers: ['domain', 'security', 'config', 'db', 'store', 'observability'],
  activities: ['domain', 'security', 'config', 'db', 'store', 'providers', 'observability', 'workflows'],
  client: ['domain', 'security', 'config', 'db', 'store', 'providers', 'observability', 'workflows'],
  api: ['domain', 'security', 'config', 'db', 'store', 'providers', 'observability', 'workflows', 'client'],
  worker: ['domain', 'security', 'config', 'db', 'store', 'providers', 'observability', 'workflows', 'activities', 'client'],
  cli: ['domain', 'security', 'config', 'db', 'store', 'providers', 'observability', 'workflows', 'client'],
  // The development stack starts everything, the sandboxes included; nothing imports it but tests and benches.
  stack: ['domain', 'security', 'config', 'db', 'store', 'providers', 'observability', 'workflows', 'activities', 'client', 'api', 'worker', 'sandbox'],
  sandbox: [],
  // The operator's console runs in a browser: it knows the server only by the client generated from the
  // OpenAPI document (console/src/generated), never by importing server code.
  console: [],
};

const allowed = [
  // npm packages and Node's built-ins; workflows/ are kept off I/O modules by eslint's determinism rules.
  { from: {}, to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'core'] } },
  // Tests and benchmarks may reach any layer.
  { from: { path: '^(test|bench)/' }, to: {} },
  { from: { path: '^bin/' }, to: { path: '^cli/' } },
  ...Object.entries(LAYERS).map(([layer, below]) => ({
    from: { path: `^${layer}/` },
    to: { path: `^(${[layer, ...below].join('|')})/` },
  })),
  // The console's client is generated at its build; before that the import resolves to nothing.
  { from: { path: '^console/' }, to: { couldNotResolve: true, path: '^\\./generated/api$' } },
  // Workflows proxy activities by their type only: no activity code enters the workflow bundle.
  { from: { path: '^workflows/' }, to: { path: '^activities/', dependencyTypes: ['type-only'] } },
];

module.exports = {
  allowed,
  allowedSeverity: 'error',
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle makes two modules one unit that cannot be read, tested or layered alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'sandbox-is-another-company',
      severity: 'error',
      comment: "A sandbox that shares the client's reading of a protocol proves nothing: sandbox/ imports only sandbox/.",
      from: { path: '^sandbox/' },
      to: { pathNot: '^sandbox/', dependencyTypesNot: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'core'] },
    },
    {
      name: 'console-is-a-client',
      severity: 'error',
      comment: 'The console (a browser app) imports nothing of the server: its API types are generated from /docs/json.',
      from: { path: '^console/' },
      to: { pathNot: '^(console/|\\./generated/api$)', dependencyTypesNot: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'core'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a broken build waiting for a runtime.',
      from: {},
      // The console's generated client exists once the console is built (its own type check fails without it).
      to: { couldNotResolve: true, pathNot: '^\\./generated/api$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.data|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
