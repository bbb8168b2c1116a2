// `npm start`: the whole stack on embedded defaults, in one terminal. Each service is the real
// thing (Temporal dev server, PostgreSQL, the worker, the API); whatever is configured externally
// (TEMPORAL_ADDRESS, DATABASE_URL, real provider keys) is used instead of the embedded default.
import { once } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { Runtime, type LogLevel, type LogMetadata, type Logger as TemporalLogger } from '@temporalio/worker';
import { ConfigError, loadEnvFiles, type Config } from '../config';
import { createReloadableConfig, installSighupReload, type ReloadableConfig } from '../config/secrets';
import { createLogger, type Logger } from '../observability/logger';
import { migrateDatabase } from '../db/migrate';
import { startWorker } from '../worker/run';
import { startApi } from '../api/server';
import { needsSandboxes, startSandboxes } from '../sandbox/start';
import { ensureBinary } from './binaries';
import { startTemporalDevServer } from './temporal-dev-server';
import { startEmbeddedPostgres } from './embedded-postgres';
import { isPortFree } from './ports';
import { developmentKey } from './development-key';
import { SKERRY_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { bindAddress } from '../observability/temporal-runtime';
import { CONSOLE_DIST, ensureConsoleBuilt } from './console-build';

const say = (message: string) => console.log(`[skerry] ${message}`);

async function requireFreePort(port: number, what: string, variable: string) {
  if (!(await isPortFree(port))) {
    throw new Error(`port ${port} for ${what} is already in use; stop what uses it or set ${variable}`);
  }
}

/**
 * The Temporal SDK's own messages go to Skerry's log: its routine chatter (worker states, the webpack
 * statistics of the workflow bundle, "No workflows registered" from each activity-only provider
 * worker) at debug, its warnings and errors as they are.
 */
function temporalSdkLogger(logger: Logger): TemporalLogger {
  const sdk = logger.child({ component: 'temporal-sdk' });
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const routine = level === 'TRACE' || level === 'DEBUG' || level === 'INFO' || message.startsWith('No workflows registered');
    if (routine) sdk.debug(meta ?? {}, message);
    else if (level === 'WARN') sdk.warn(meta ?? {}, message);
    else sdk.error(meta ?? {}, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

/** What the terminal shows; everything at LOG_LEVEL goes to the log file. */
async function stackLogger(config: Config, logFile: string): Promise<Logger> {
  const file = pino.destination({ dest: logFile, mkdir: true, sync: false });
  // Open before the first line: an early exit flushes it, and flushing a file not yet open throws.
  await once(file, 'ready');
  return createLogger({
    level: config.logLevel,
    name: 'skerry',
    destination: pino.multistream([
      { level: 'warn', stream: process.stdout },
      { level: config.logLevel as pino.Level, stream: file },
    ]),
  });
}

async function main(configSource: ReloadableConfig) {
  const config = configSource.current();
  const logFile = join(config.dataDir, 'skerry.log');
  const logger = await stackLogger(config, logFile);
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
    const metricsBindAddress =
      temporalMetricsPort !== undefined && (await isPortFree(temporalMetricsPort, config.metrics.workerHost)) ? bindAddress(config.metrics.workerHost, temporalMetricsPort) : undefined;
    if (metricsBindAddress) temporalMetrics = `http://${metricsBindAddress}/metrics`;
    else if (temporalMetricsPort !== undefined) say(`port ${temporalMetricsPort} is in use: the Temporal SDK metrics are off (set WORKER_TEMPORAL_METRICS_PORT)`);
    // As observability/temporal-runtime.ts installs it for `npm run worker`, with the SDK's log routed
    // to Skerry's (installed once, before the first connection).
    Runtime.install({
      logger: temporalSdkLogger(logger),
      telemetryOptions: metricsBindAddress
        ? { metrics: { prometheus: { bindAddress: metricsBindAddress, useSecondsForDurations: true }, globalTags: { service: 'skerry-worker' } } }
        : undefined,
    });

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
        // The UI decodes payloads through the admin door's codec server, with the development key.
        uiCodec: async () => ({ url: `http://127.0.0.1:${config.port}/codec`, apiKey: (await readFile(join(config.dataDir, 'dev-api-key'), 'utf8')).trim() }),
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
    const apiKey = await developmentKey(config, databaseUrl);

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

    // Built once, then again only when its sources or the API it is typed from changed.
    await ensureConsoleBuilt({ log: say }).catch((err: Error) => say(`the console could not be built (${err.message}); /console/ says so until it is`));
    const api = await startApi(config, { temporalAddress, databaseUrl, logger: logger.child({ process: 'api' }), configSource, consoleDir: CONSOLE_DIST });
    stops.push({ name: 'API', stop: () => api.close() });

    const lines = [
      '',
      'Skerry is running:',
      `  Admin API        ${api.url}  (every route needs the API key; this door is for you, not the internet)`,
      `  Console          ${api.url}/console/  (sign in with the API key below)`,
      `  OpenAPI docs     ${api.url}/docs`,
      `  Metrics          ${api.url}/metrics${temporalMetrics ? `  (Temporal SDK: ${temporalMetrics})` : ''}`,
      `  Public door      ${api.publicUrl}  (webhooks at /webhooks/<provider>, payment return pages, /health; providers reach it at ${config.publicUrl})`,
      apiKey
        ? `  API key          every scope, kept in ${join(config.dataDir, 'dev-api-key')}:\n\n    export SKERRY_API_KEY=${apiKey}\n`
        : `  API key          none made outside development: SKERRY_BOOTSTRAP_API_KEY, or npx skerry keys create`,
      `  Temporal Web UI  ${temporalUi ?? '(external Temporal at ' + temporalAddress + ')'}`,
      `  Temporal gRPC    ${temporalAddress}`,
      `  PostgreSQL       ${config.database.url ? '(external DATABASE_URL)' : databaseUrl.replace(/\/\/[^@]*@/, '//')}`,
      sandboxUrl ? `  Sandbox          ${sandboxUrl}  (Stripe under /stripe, MobilePay under /mobilepay, PayPal under /paypal, Booking.com under /booking-com, Airbnb under /airbnb; controls under /<provider>/_control)` : '',
      swishSandboxUrl ? `  Swish sandbox    ${swishSandboxUrl}  (mutual TLS; certificates in ${config.swish.sandboxCertDir})` : '',
      '',
      `Logs (LOG_LEVEL=${config.logLevel}) in ${logFile}; warnings and errors show here.`,
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

// SKERRY_TOPOLOGY=cluster: the real Temporal server, two workers and two APIs (stack/cluster).
if (process.env.SKERRY_TOPOLOGY === 'cluster') {
  await import('./cluster/start');
} else {
  // The environment as the shell set it: a reload re-reads the env files under it.
  const processEnv = { ...process.env };
  // The sandboxes' iCal exports (Airbnb's) are on loopback, which an iCal import refuses unless its
  // host is allow-listed: this stack lists its own sandbox, and only when the operator listed nothing.
  processEnv.ICAL_IMPORT_ALLOWED_HOSTS ??= `127.0.0.1:${processEnv.SANDBOX_PORT ?? 4010}`;
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
}
