// `skerry keys …`: API keys, managed against the database itself — which is how the first key of a
// deployment is made (there is no key yet to call the API with). `DATABASE_URL` (or --database-url)
// names the database; without it, the one `npm start` runs. With a key, the admin API serves the same
// at /api-keys (scope ops:admin).
import { Command, InvalidArgumentError } from 'commander';
import { API_SCOPES } from '../../db/schema/access';
import type { ApiKeyRecord, ApiKeyStore } from '../../store/api-keys';
import { CliError, EXIT, type GlobalOptions } from '../http';
import { print, table } from '../output';
import { rotateEncryptionCommand } from './rotate-encryption';

/** npm start's embedded PostgreSQL (stack/embedded-postgres.ts), on EMBEDDED_PG_PORT. */
const embeddedDatabaseUrl = (env: NodeJS.ProcessEnv) => `postgres://postgres:postgres@127.0.0.1:${env.EMBEDDED_PG_PORT || 54329}/skerry`;

const scopesArg = (value: string) => {
  const scopes = value === 'all' ? [...API_SCOPES] : value.split(',').map((scope) => scope.trim()).filter(Boolean);
  const unknown = scopes.filter((scope) => !(API_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0 || scopes.length === 0) throw new InvalidArgumentError(`scopes are a comma-separated list of ${API_SCOPES.join(', ')}, or all`);
  return scopes;
};

const row = (record: ApiKeyRecord) => ({
  id: record.id,
  name: record.name,
  prefix: record.prefix,
  scopes: record.scopes.join(' '),
  created: record.createdAt.toISOString(),
  'last used': record.lastUsedAt?.toISOString() ?? '',
  revoked: record.revoked ? (record.revokedAt?.toISOString() ?? 'yes') : '',
});

export function keysCommand(globals: () => GlobalOptions, env: NodeJS.ProcessEnv): Command {
  const keys = new Command('keys')
    .description('API keys for the admin API: create, list, revoke (against the database, so the first key needs none)')
    .option('--database-url <url>', 'the database Skerry runs on (default: DATABASE_URL, else npm start\'s embedded PostgreSQL)');

  const withStore = async <T>(work: (store: ApiKeyStore) => Promise<T>): Promise<T> => {
    const url = keys.opts<{ databaseUrl?: string }>().databaseUrl ?? env.DATABASE_URL ?? embeddedDatabaseUrl(env);
    // Loaded here, not at start: every other command talks to the API and needs no database driver.
    const [{ createDatabase }, { ApiKeyError, createApiKeyStore }] = await Promise.all([import('../../db/client'), import('../../store/api-keys')]);
    const database = createDatabase(url, { max: 1 });
    try {
      return await work(createApiKeyStore(database.db));
    } catch (err) {
      if (err instanceof ApiKeyError) throw new CliError(err.message, EXIT.usage);
      // drizzle wraps the driver's error; its code says what went wrong.
      const code = ((err as { cause?: { code?: string } }).cause ?? (err as { code?: string })).code;
      if (code === 'ECONNREFUSED') throw new CliError(`cannot reach the database at ${url.replace(/\/\/[^@]*@/, '//')} (is npm start running? or set DATABASE_URL)`, EXIT.unavailable);
      if (code === '42P01') throw new CliError('this database has no api_keys table yet: start the API once (it applies the migrations)', EXIT.unavailable);
      throw err;
    } finally {
      await database.close();
    }
  };

  keys
    .command('create')
    .description('make a key; its value is printed once and stored only as a hash')
    .requiredOption('--name <name>', 'who or what uses the key, e.g. "booking site" or "alice"')
    .requiredOption('--scopes <list>', `comma-separated: ${API_SCOPES.join(', ')}; or all`, scopesArg)
    .action(async (options: { name: string; scopes: string[] }) => {
      const { key, record } = await withStore((store) => store.create({ name: options.name, scopes: options.scopes }));
      print(globals(), { key, ...record }, () =>
        [table([row(record)]), '', `The key (shown once): ${key}`, `export SKERRY_API_KEY=${key}`].join('\n'),
      );
    });

  keys
    .command('list')
    .description('every key, never its value')
    .action(async () => {
      const records = await withStore((store) => store.list());
      print(globals(), records, () => (records.length ? table(records.map(row)) : 'no API keys yet: skerry keys create --name <name> --scopes all'));
    });

  keys
    .command('revoke')
    .description('refuse a key from its next request on')
    .argument('<key>', 'the key id (key_…) or its displayed prefix (sk_…)')
    .action(async (idOrPrefix: string) => {
      const record = await withStore((store) => store.revoke(idOrPrefix));
      if (!record) throw new CliError(`no API key ${idOrPrefix}`, EXIT.notFound);
      print(globals(), record, () => `revoked ${record.id} (${record.prefix}…, ${record.name})`);
    });
  keys.addCommand(rotateEncryptionCommand(globals, env, () => keys.opts<{ databaseUrl?: string }>().databaseUrl ?? env.DATABASE_URL ?? embeddedDatabaseUrl(env)));
  return keys;
}
