// What every production entry point (`npm run api`, `npm run worker`) does first: read the
// environment once, stop with the variable's name when it is invalid, and insist on the external
// services the embedded stack would otherwise provide.
import { ConfigError, loadConfig, loadEnvFiles, type Config } from './index';

export function loadEntryConfig(command: string): { config: Config; processEnv: NodeJS.ProcessEnv; temporalAddress: string; databaseUrl: string } {
  // The environment as the process manager set it: a reload (SIGHUP) re-reads the env files under it.
  const processEnv = { ...process.env };
  loadEnvFiles();
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  if (!config.temporal.address || !config.database.url) {
    console.error(`${command} needs TEMPORAL_ADDRESS and DATABASE_URL; use npm start for the embedded stack`);
    process.exit(2);
  }
  return { config, processEnv, temporalAddress: config.temporal.address, databaseUrl: config.database.url };
}
