// Production worker entry point: `npm run worker`, against an external Temporal and Postgres.
import { loadConfig, loadEnvFiles, ConfigError } from '../config';
import { createReloadableConfig, installSighupReload } from '../config/secrets';
import { createLogger } from '../observability/logger';
import { migrateDatabase } from '../db/migrate';
import { startWorker } from './run';
import { bindAddress, installTemporalRuntime } from '../observability/temporal-runtime';

// The environment as the process manager set it: a reload (SIGHUP) re-reads the env files under it.
const processEnv = { ...process.env };
loadEnvFiles();
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger({ level: config.logLevel, name: 'skerry-worker' });
if (!config.temporal.address || !config.database.url) {
  logger.fatal('npm run worker needs TEMPORAL_ADDRESS and DATABASE_URL; use npm start for the embedded stack');
  process.exit(2);
}
// Before the first NativeConnection: the SDK's own metrics on WORKER_TEMPORAL_METRICS_PORT.
installTemporalRuntime({ metricsBindAddress: bindAddress(config.metrics.workerHost, config.metrics.workerTemporalPort) });
// Rotated secrets without a restart: SIGHUP re-reads .env.<APP_ENV>; clients use the new keys from
// their next call, webhook verifiers from the next request.
const configSource = createReloadableConfig({ processEnv });
installSighupReload(configSource, logger);
await migrateDatabase(config.database.url);
const worker = await startWorker(config, {
  temporalAddress: config.temporal.address,
  databaseUrl: config.database.url,
  logger,
  workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH,
  metricsPort: config.metrics.workerPort,
  configSource,
});
logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'worker running');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'worker shutting down');
    void worker.shutdown();
  });
}
await worker.done;
