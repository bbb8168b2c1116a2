// `npm run start:cluster` (or SKERRY_TOPOLOGY=cluster npm start): Skerry as it runs when one
// machine is not enough, on this one. The real Temporal server on its own PostgreSQL with SQL
// visibility, Skerry's PostgreSQL, two worker processes and two API processes (each with its own
// admin and public door) behind one public address, and the provider sandboxes.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadConfig, loadEnvFiles } from '../../config';
import { needsSandboxes, startSandboxes } from '../../sandbox/start';
import { buildWorkflowBundle } from '../../worker/bundle';
import { developmentKey } from '../development-key';
import { isPortFree } from '../ports';
import { startClusterInfrastructure } from './infrastructure';
import { startClusterApps } from './topology';
import { startBalancer } from './balancer';
import { startCodecProxy } from '../codec-proxy';

const say = (message: string) => console.log(`[skerry cluster] ${message}`);
const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  say('draining and stopping…');
  for (const { name, stop } of stops.reverse()) {
    try {
      await stop();
    } catch (err) {
      console.error(`[skerry cluster] stopping ${name} failed: ${(err as Error).message}`);
    }
  }
  say('stopped');
  process.exit(code);
}

async function main() {
  loadEnvFiles();
  const config = loadConfig();
  if (config.temporal.address || config.database.url) {
    throw new Error('npm run start:cluster runs its own Temporal server and databases: unset TEMPORAL_ADDRESS and DATABASE_URL (npm run worker / npm run api run against external ones)');
  }
  const dataDir = join(config.dataDir, 'cluster');
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const apis = [
    { admin: config.port, public: config.publicDoor.port + 10 },
    { admin: config.port + 2, public: config.publicDoor.port + 12 },
  ];
  const workers = [0, 1].map((i) => ({ metricsPort: config.metrics.workerPort === undefined ? ('off' as const) : config.metrics.workerPort + 10 * i, temporalMetricsPort: 'off' as const }));
  const fixed = { temporalFrontend: 7233, skerryPostgres: config.database.embeddedPort, temporalPostgres: config.database.embeddedPort + 1 };
  const uiPort = config.temporal.uiPort;
  for (const port of [fixed.temporalFrontend, fixed.skerryPostgres, fixed.temporalPostgres, uiPort, config.publicDoor.port, ...apis.flatMap((a) => [a.admin, a.public])]) {
    if (!(await isPortFree(port))) throw new Error(`port ${port} is already in use (another npm start?); stop what uses it or move PORT / PUBLIC_PORT / EMBEDDED_PG_PORT / TEMPORAL_UI_PORT`);
  }

  say(`starting Temporal on PostgreSQL (state in ${dataDir}; the server and schema tool are built once into ~/.cache/skerry/bin)…`);
  const infra = await startClusterInfrastructure({ dataDir, persistent: true, ports: fixed, log: say, cliPath: config.temporal.cliPath });
  stops.push({ name: 'Temporal and PostgreSQL', stop: () => infra.stop() });
  const apiKey = await developmentKey(config, infra.databaseUrl);

  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  // Every API process builds its return and webhook URLs on the one address providers reach.
  env.PUBLIC_URL = config.publicUrl;
  if (needsSandboxes(config)) {
    const sandboxes = await startSandboxes(config);
    stops.push({ name: 'provider sandboxes', stop: () => sandboxes.close() });
    env.SANDBOX_URL = sandboxes.url;
    // Its iCal exports are on loopback, which the import refuses unless allow-listed (stack/start.ts).
    env.ICAL_IMPORT_ALLOWED_HOSTS ??= new URL(sandboxes.url).host;
  }
  say('bundling the workflows once for both workers…');
  const workflowBundlePath = await buildWorkflowBundle(join(dataDir, 'workflow-bundle.js'));

  say('starting two workers and two APIs…');
  const apps = await startClusterApps({ temporalAddress: infra.temporalAddress, databaseUrl: infra.databaseUrl, workflowBundlePath, env, apis, workers, logDir });
  stops.push({ name: 'workers and APIs', stop: () => apps.stop() });
  const balancer = await startBalancer({ port: config.publicDoor.port, backends: apis.map((a) => ({ host: '127.0.0.1', port: a.public })) });
  stops.push({ name: 'public balancer', stop: () => balancer.close() });
  // The Web UI decodes payloads through the first admin door's codec server, with the development key
  // added by a loopback proxy (as `npm start` does for the dev server's UI).
  const codec = await startCodecProxy({
    target: async () => (apiKey ? { url: `http://127.0.0.1:${apis[0]!.admin}/codec`, apiKey } : undefined),
    uiOrigins: [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`],
  });
  stops.push({ name: 'codec proxy', stop: () => codec.close() });
  const ui = await infra.startWebUi({ port: uiPort, codecEndpoint: codec.url });
  for (const app of [...apps.workers, ...apps.apis]) {
    void app.exited.then(({ code, signal }) => {
      if (!stopping) console.error(`[skerry cluster] ${app.name} (pid ${app.child.pid}) exited (code ${code ?? 'null'}, signal ${signal ?? 'null'}); see ${join(logDir, `${app.name}.log`)}`);
    });
  }

  console.log(
    [
      '',
      'Skerry (cluster topology) is running:',
      ...apps.apis.map((app, i) => `  ${app.name} (pid ${app.child.pid})  admin http://127.0.0.1:${apis[i]!.admin}  public http://127.0.0.1:${apis[i]!.public}`),
      `  Public address   ${balancer.url}  (round-robin over both public doors; providers reach it at ${config.publicUrl})`,
      ...apps.workers.map((app, i) => `  ${app.name} (pid ${app.child.pid})  metrics ${workers[i]!.metricsPort === 'off' ? 'off' : `http://127.0.0.1:${workers[i]!.metricsPort}/metrics`}`),
      `  Temporal gRPC    ${infra.temporalAddress}  (server ${join(dataDir, 'temporal-server.log')}; SQL visibility)`,
      `  Temporal Web UI  ${ui.url}  (Temporal's UI server against the cluster; ${join(dataDir, 'temporal-ui.log')})`,
      `  Temporal DB      ${infra.temporalPostgresUrl.replace(/\/\/[^@]*@/, '//')}`,
      `  PostgreSQL       ${infra.databaseUrl.replace(/\/\/[^@]*@/, '//')}`,
      env.SANDBOX_URL ? `  Sandbox          ${env.SANDBOX_URL}` : '',
      apiKey ? `\n    export SKERRY_API_KEY=${apiKey}\n` : '',
      `Logs per process in ${logDir}. Ctrl-C drains the workers and stops everything.`,
      '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
try {
  await main();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `[skerry cluster] start failed: ${(err as Error).message}`);
  await shutdown(err instanceof ConfigError ? 2 : 1);
}
