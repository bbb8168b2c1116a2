// `skerry doctor`: the preflight before going live. It reads the configuration as the API and worker
// do (the environment and .env.<APP_ENV>), asks each enabled provider what it can answer, and exits
// non-zero when anything would fail in front of a customer. It needs no admin API, only the
// provider credentials and (for the Airbnb tokens) the database.
import { Command } from 'commander';
import type { Config } from '../../config';
import type { DoctorCheck } from '../doctor/checks';
import { CliError, EXIT, type GlobalOptions } from '../http';
import { print } from '../output';

/** npm start's embedded PostgreSQL (stack/embedded-postgres.ts), as `skerry keys` finds it. */
const databaseUrlOf = (config: Config) => config.database.url ?? `postgres://postgres:postgres@127.0.0.1:${config.database.embeddedPort}/skerry`;

export function formatChecks(checks: readonly DoctorCheck[]): string {
  const width = Math.max(...checks.map((check) => check.name.length));
  return checks.map((check) => `${check.ok ? 'ok  ' : 'FAIL'}  ${check.name.padEnd(width)}  ${check.detail}`).join('\n');
}

/** The checks for the configuration in `env`; a configuration loadConfig refuses is one failed check. */
export async function doctor(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  // Loaded here, not at the top: every other command starts without the provider clients.
  const [{ ConfigError, loadConfig }, { createDatabase }, { runDoctorChecks }] = await Promise.all([
    import('../../config'),
    import('../../db/client'),
    import('../doctor/checks'),
  ]);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [{ name: 'configuration', ok: false, detail: err.message.replace(/\s*\n\s*/g, ' ') }];
    throw err;
  }
  const database = config.channels.airbnb.enabled ? createDatabase(databaseUrlOf(config), { max: 1 }) : undefined;
  try {
    return [{ name: 'configuration', ok: true, detail: `APP_ENV=${config.appEnv}` }, ...(await runDoctorChecks({ config, database: database?.db }))];
  } finally {
    await database?.close();
  }
}

export function doctorCommand(globals: () => GlobalOptions, env: NodeJS.ProcessEnv): Command {
  return new Command('doctor')
    .description('preflight: credentials, webhook secrets, https URLs, the Swish certificate and the channel hosts of every enabled provider')
    .action(async () => {
      if (env === process.env) (await import('../../config')).loadEnvFiles(env);
      const checks = await doctor(env);
      print(globals(), checks, () => formatChecks(checks));
      const failed = checks.filter((check) => !check.ok).length;
      if (failed > 0) throw new CliError(`${failed} check(s) failed`, EXIT.unavailable);
    });
}
