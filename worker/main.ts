// Production worker entry point: `npm run worker`, against an external Temporal and Postgres.
import { loadEntryConfig } from '../config/entry';
import { createReloadableConfig, installSighupReload } from '../config/secrets';
import { createLogger } from '../observability/logger';
import { migrateDatabase } from '../db/migrate';
import { startWorker } from './run';
import { bindAddress, installTemporalRuntime } from '../observability/temporal-runtime';

const { config, processEnv, temporalAddress, databaseUrl } = loadEntryConfig('npm run worker');
const logger = createLogger({ level: config.logLevel, name: 'skerry-worker' });
// Before the first NativeConnection: the SDK's own metrics on WORKER_TEMPORAL_METRICS_PORT.
installTemporalRuntime({ metricsBindAddress: bindAddress(config.metrics.workerHost, config.metrics.workerTemporalPort) });
// Rotated secrets without a restart: SIGHUP re-reads .env.<APP_ENV>; clients use the new keys from
// their next call, webhook verifiers from the next request.
const configSource = createReloadableConfig({ processEnv });
installSighupReload(configSource, logger);
await migrateDatabase(databaseUrl);
const worker = await startWorker(config, {
  temporalAddress,
  databaseUrl,
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
