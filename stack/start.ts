// `npm start`: the whole stack on embedded defaults, in one terminal. Each service is the real
// thing (Temporal dev server, PostgreSQL, the worker, the API); whatever is configured externally
// (TEMPORAL_ADDRESS, DATABASE_URL, real provider keys) is used instead of the embedded default.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadEnvFiles } from '../config';
import { createReloadableConfig, installSighupReload, type ReloadableConfig } from '../config/secrets';
import { createLogger } from '../observability/logger';
import { migrateDatabase } from '../db/migrate';
import { startWorker } from '../worker/run';
import { startApi } from '../api/server';
import { needsSandboxes, startSandboxes } from '../sandbox/start';
import { ensureBinary } from './binaries';
import { startTemporalDevServer } from './temporal-dev-server';
import { startEmbeddedPostgres } from './embedded-postgres';
import { isPortFree } from './ports';
import { SKERRY_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { bindAddress, installTemporalRuntime } from '../observability/temporal-runtime';

const say = (message: string) => console.log(`[skerry] ${message}`);

async function requireFreePort(port: number, what: string, variable: string) {
  if (!(await isPortFree(port))) {
    throw new Error(`port ${port} for ${what} is already in use; stop what uses it or set ${variable}`);
  }
}

async function main(configSource: ReloadableConfig) {
  const config = configSource.current();
  const logger = createLogger({ level: config.logLevel, name: 'skerry' });
  // Rotated secrets without a restart, as `npm run worker` and `npm run api` do: SIGHUP re-reads
  // .env.<APP_ENV>; without this handler Node would end the whole stack on SIGHUP.
  installSighupReload(configSource, logger);
  const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('shutting down…');
    for (const { name, stop } of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        console.error(`[skerry] stopping ${name} failed: ${(err as Error).message}`);
      }
    }
    say('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    await mkdir(config.dataDir, { recursive: true });

    // The worker and the API share this process and its metrics registry, served by the API at
    // /metrics. The Temporal SDK's own metrics get their port when it is free (optional here).
    let temporalMetrics: string | undefined;
    const temporalMetricsPort = config.metrics.workerTemporalPort;
    if (temporalMetricsPort !== undefined && (await isPortFree(temporalMetricsPort, config.metrics.workerHost))) {
      installTemporalRuntime({ metricsBindAddress: bindAddress(config.metrics.workerHost, temporalMetricsPort) });
      temporalMetrics = `http://${bindAddress(config.metrics.workerHost, temporalMetricsPort)}/metrics`;
    } else if (temporalMetricsPort !== undefined) {
      say(`port ${temporalMetricsPort} is in use: the Temporal SDK metrics are off (set WORKER_TEMPORAL_METRICS_PORT)`);
    }

    let temporalAddress = config.temporal.address;
    let temporalUi: string | undefined;
    if (!temporalAddress) {
      await requireFreePort(7233, 'the Temporal dev server', 'TEMPORAL_ADDRESS');
      const cliPath = await ensureBinary('temporal', { explicitPath: config.temporal.cliPath, log: say });
      say('starting the Temporal dev server (state in .data/temporal.db)…');
      const server = await startTemporalDevServer({
        cliPath,
        port: 7233,
        uiPort: config.temporal.uiPort,
        dbFile: join(config.dataDir, 'temporal.db'),
        namespace: config.temporal.namespace,
        searchAttributes: SKERRY_SEARCH_ATTRIBUTES,
        logFile: join(config.dataDir, 'temporal.log'),
      });
      stops.push({ name: 'Temporal dev server', stop: () => server.stop() });
      temporalAddress = server.address;
      temporalUi = server.uiUrl;
    }

    let databaseUrl = config.database.url;
    if (!databaseUrl) {
      await requireFreePort(config.database.embeddedPort, 'the embedded PostgreSQL', 'EMBEDDED_PG_PORT or DATABASE_URL');
      say('starting the embedded PostgreSQL (data in .data/postgres)…');
      const postgres = await startEmbeddedPostgres({
        dataDir: join(config.dataDir, 'postgres'),
        port: config.database.embeddedPort,
        persistent: true,
      });
      stops.push({ name: 'PostgreSQL', stop: () => postgres.stop() });
      databaseUrl = postgres.url;
    }
    await migrateDatabase(databaseUrl);

    let sandboxUrl: string | undefined;
    let swishSandboxUrl: string | undefined;
    if (needsSandboxes(config)) {
      await requireFreePort(config.sandbox.port, 'the provider sandbox', 'SANDBOX_PORT');
      if (config.swish.sandboxed) await requireFreePort(config.sandbox.swishPort, 'the Swish sandbox', 'SANDBOX_SWISH_PORT');
      const sandboxes = await startSandboxes(config);
      stops.push({ name: 'provider sandboxes', stop: () => sandboxes.close() });
      sandboxUrl = sandboxes.url;
      swishSandboxUrl = sandboxes.swishApiBase;
    }

    say('starting the worker…');
    const worker = await startWorker(config, { temporalAddress, databaseUrl, logger: logger.child({ process: 'worker' }), configSource });
    stops.push({ name: 'worker', stop: () => worker.shutdown() });

    const api = await startApi(config, { temporalAddress, databaseUrl, logger: logger.child({ process: 'api' }), configSource });
    stops.push({ name: 'API', stop: () => api.close() });

    const lines = [
      '',
      'Skerry is running:',
      `  API              ${config.publicUrl}`,
      `  OpenAPI docs     ${config.publicUrl}/docs`,
      `  Metrics          ${config.publicUrl}/metrics${temporalMetrics ? `  (Temporal SDK: ${temporalMetrics})` : ''}`,
      `  Temporal Web UI  ${temporalUi ?? '(external Temporal at ' + temporalAddress + ')'}`,
      `  Temporal gRPC    ${temporalAddress}`,
      `  PostgreSQL       ${config.database.url ? '(external DATABASE_URL)' : databaseUrl.replace(/\/\/[^@]*@/, '//')}`,
      sandboxUrl ? `  Sandbox          ${sandboxUrl}  (Stripe under /stripe, MobilePay under /mobilepay, PayPal under /paypal, Booking.com under /booking-com, Airbnb under /airbnb; controls under /<provider>/_control)` : '',
      swishSandboxUrl ? `  Swish sandbox    ${swishSandboxUrl}  (mutual TLS; certificates in ${config.swish.sandboxCertDir})` : '',
      '',
      'Press Ctrl-C to stop. Open workflows resume from .data/ on the next start.',
      '',
    ];
    console.log(lines.filter((line) => line !== undefined).join('\n'));
    await worker.done;
    if (!stopping) {
      console.error('[skerry] the worker stopped unexpectedly');
      await shutdown(1);
    }
  } catch (err) {
    console.error(`[skerry] start failed: ${(err as Error).message}`);
    await shutdown(1);
  }
}

// The environment as the shell set it: a reload re-reads the env files under it.
const processEnv = { ...process.env };
loadEnvFiles();
try {
  await main(createReloadableConfig({ processEnv }));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
