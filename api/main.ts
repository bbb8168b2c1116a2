// Production API entry point: `npm run api`, against an external Temporal and Postgres.
import { loadConfig, loadEnvFiles, ConfigError } from '../config';
import { createReloadableConfig, installSighupReload } from '../config/secrets';
import { createLogger } from '../observability/logger';
import { migrateDatabase } from '../db/migrate';
import { startApi } from './server';

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
const logger = createLogger({ level: config.logLevel, name: 'skerry-api' });
if (!config.temporal.address || !config.database.url) {
  logger.fatal('npm run api needs TEMPORAL_ADDRESS and DATABASE_URL; use npm start for the embedded stack');
  process.exit(2);
}
// Rotated secrets without a restart: SIGHUP re-reads .env.<APP_ENV>; clients use the new keys from
// their next call, webhook verifiers from the next request.
const configSource = createReloadableConfig({ processEnv });
installSighupReload(configSource, logger);
await migrateDatabase(config.database.url);
const api = await startApi(config, { temporalAddress: config.temporal.address, databaseUrl: config.database.url, logger, configSource });
logger.info({ url: api.url }, 'api listening');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'api shutting down');
    void api.close().then(() => process.exit(0));
  });
}
