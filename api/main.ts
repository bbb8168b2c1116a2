// Production API entry point: `npm run api`, against an external Temporal and Postgres.
import { loadEntryConfig } from '../config/entry';
import { createReloadableConfig, installSighupReload } from '../config/secrets';
import { createLogger } from '../observability/logger';
import { migrateDatabase } from '../db/migrate';
import { fileURLToPath } from 'node:url';
import { startApi } from './server';

const { config, processEnv, temporalAddress, databaseUrl } = loadEntryConfig('npm run api');
const logger = createLogger({ level: config.logLevel, name: 'skerry-api' });
// Rotated secrets without a restart: SIGHUP re-reads .env.<APP_ENV>; clients use the new keys from
// their next call, webhook verifiers from the next request.
const configSource = createReloadableConfig({ processEnv });
installSighupReload(configSource, logger);
await migrateDatabase(databaseUrl);
// The console, when built (npm run console:build); without it /console/ says how to build it.
const consoleDir = fileURLToPath(new URL('../dist/console', import.meta.url));
const api = await startApi(config, { temporalAddress, databaseUrl, logger, configSource, consoleDir });
// Two doors: the admin API (keys required; keep it private) and the public door providers reach.
logger.info({ admin: api.url, public: api.publicUrl, publicUrl: config.publicUrl }, 'api listening');
/** In-flight requests get this long to finish; then the process exits anyway rather than hang a deploy. */
const SHUTDOWN_LIMIT_MS = 15_000;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'api shutting down');
    setTimeout(() => {
      logger.error({ limitMs: SHUTDOWN_LIMIT_MS }, 'api shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    void api.close().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err: err.message }, 'api shutdown failed');
        process.exit(1);
      },
    );
  });
}
