// `skerry mobilepay webhooks register|list|delete`: the webhook Vipps MobilePay delivers ePayment
// events to, managed through its Webhooks API with the application's own configuration (the
// environment and .env.<APP_ENV>, as `skerry doctor` reads it). Vipps answers a registration with
// the secret its deliveries are signed with; it is stored sealed in the database (provider_webhooks),
// where the API's verifier reads it. Like `skerry keys`, this works on the database and the provider
// directly: no admin API key, the operator holds the provider credentials already.
//
// A rotation without downtime: register again (both secrets verify while both registrations exist),
// then delete the old registration.
import { Command } from 'commander';
import type { Config } from '../../config';
import type { ProviderWebhookStore } from '../../store/provider-webhooks';
import type { MobilePayApi } from '../../providers/mobilepay/api';
import { ProviderError } from '../../providers/errors';
import { CliError, EXIT, type GlobalOptions } from '../http';
import { print, table } from '../output';

const PROVIDER = 'mobilepay';

interface Context {
  config: Config;
  api: MobilePayApi;
  store: ProviderWebhookStore;
}

/** npm start's embedded PostgreSQL (stack/embedded-postgres.ts), as `skerry keys` finds it. */
const databaseUrlOf = (config: Config) => config.database.url ?? `postgres://postgres:postgres@127.0.0.1:${config.database.embeddedPort}/skerry`;

const withoutCredentials = (url: string) => url.replace(/\/\/[^@]*@/, '//');

/** A provider or database failure as the exit code scripts rely on. */
function cliErrorOf(err: unknown, databaseUrl: string): unknown {
  if (err instanceof CliError) return err;
  const code = ((err as { cause?: { code?: string } }).cause ?? (err as { code?: string })).code;
  if (code === 'ECONNREFUSED') return new CliError(`cannot reach the database at ${withoutCredentials(databaseUrl)} (is npm start running? or set DATABASE_URL)`, EXIT.unavailable);
  if (code === '42P01') return new CliError('this database has no provider_webhooks table yet: start the API once (it applies the migrations)', EXIT.unavailable);
  if (err instanceof ProviderError) {
    const exits: Partial<Record<ProviderError['kind'], number>> = {
      validation: EXIT.usage,
      not_found: EXIT.notFound,
      authentication: EXIT.unauthorized,
      conflict: EXIT.unavailable,
      unavailable: EXIT.unavailable,
      rate_limited: EXIT.unavailable,
      timeout: EXIT.unavailable,
    };
    return new CliError(`Vipps MobilePay: ${err.message}`, exits[err.kind] ?? EXIT.server);
  }
  return err;
}

export function mobilepayCommand(globals: () => GlobalOptions, env: NodeJS.ProcessEnv): Command {
  const mobilepay = new Command('mobilepay').description('Vipps MobilePay: the webhook Skerry receives ePayment events on');
  const webhooks = new Command('webhooks')
    .description('register, list and delete the webhook through the Webhooks API; the secret is stored sealed for the verifier')
    .option('--database-url <url>', "the database Skerry runs on (default: DATABASE_URL, else npm start's embedded PostgreSQL)");
  mobilepay.addCommand(webhooks);

  const run = async <T>(work: (context: Context) => Promise<T>): Promise<T> => {
    // Loaded here, not at start: the other commands need neither the configuration nor a database driver.
    const [{ ConfigError, loadConfig, loadEnvFiles }, { createDatabase }, { createProviderWebhookStore }, { createMobilePayApi, mobilePayConnection }] = await Promise.all([
      import('../../config'),
      import('../../db/client'),
      import('../../store/provider-webhooks'),
      import('../../providers/mobilepay/api'),
    ]);
    if (env === process.env) loadEnvFiles(env);
    let config: Config;
    try {
      config = loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage);
      throw err;
    }
    if (!config.mobilepay.enabled) throw new CliError('MobilePay is not configured (MOBILEPAY_CLIENT_ID and the other MOBILEPAY_* keys)', EXIT.usage);
    const api = createMobilePayApi(mobilePayConnection(config.mobilepay));
    const databaseUrl = webhooks.opts<{ databaseUrl?: string }>().databaseUrl ?? databaseUrlOf(config);
    const database = createDatabase(databaseUrl, { max: 1 });
    try {
      return await work({ config, api, store: createProviderWebhookStore(database.db, config.channels.tokenEncryptionKey) });
    } catch (err) {
      throw cliErrorOf(err, databaseUrl);
    } finally {
      await database.close();
    }
  };

  webhooks
    .command('register')
    .description("register the public door's /webhooks/mobilepay for every ePayment event Skerry handles, and store the secret")
    .option('--url <url>', 'where Vipps delivers (default: PUBLIC_URL + /webhooks/mobilepay)')
    .action(async (options: { url?: string }) => {
      const { EPAYMENT_EVENT_TYPES } = await import('../../providers/mobilepay/webhooks');
      const registered = await run(async ({ config, api, store }) => {
        const url = options.url ?? `${config.publicUrl.replace(/\/+$/, '')}/webhooks/mobilepay`;
        const events = [...EPAYMENT_EVENT_TYPES];
        const { id, secret } = await api.registerWebhook({ url, events });
        try {
          return await store.add({ id, provider: PROVIDER, account: config.mobilepay.merchantSerialNumber, url, events, secret });
        } catch (err) {
          // Not stored means never verified: take the registration back rather than leave deliveries failing.
          await api.deleteWebhook(id).catch(() => undefined);
          throw err;
        }
      });
      print(globals(), registered, () =>
        [
          `registered ${registered.id}: ${registered.events.length} event types to ${registered.url}`,
          'its secret is stored sealed; the API verifies deliveries with it (MOBILEPAY_WEBHOOK_SECRET, when set, is accepted too)',
        ].join('\n'),
      );
    });

  webhooks
    .command('list')
    .description('the registrations Vipps MobilePay has for this sales unit, and whether Skerry holds their secret')
    .action(async () => {
      const rows = await run(async ({ api, store, config }) => {
        const [remote, stored] = await Promise.all([api.listWebhooks(), store.list(PROVIDER, config.mobilepay.merchantSerialNumber)]);
        const storedIds = new Set(stored.map((record) => record.id));
        const remoteIds = new Set(remote.webhooks.map((webhook) => webhook.id));
        return [
          ...remote.webhooks.map((webhook) => ({ id: webhook.id, url: webhook.url, events: webhook.events.length, secret: storedIds.has(webhook.id) ? 'stored' : 'not stored' })),
          // Stored but gone at Vipps (deleted elsewhere): its secret still verifies until deleted here.
          ...stored.filter((record) => !remoteIds.has(record.id)).map((record) => ({ id: record.id, url: record.url, events: record.events.length, secret: 'stored, not at Vipps' })),
        ];
      });
      print(globals(), rows, () => (rows.length ? table(rows) : 'no webhooks registered: skerry mobilepay webhooks register'));
    });

  webhooks
    .command('delete')
    .description('delete a registration at Vipps MobilePay and its stored secret')
    .argument('<id>', 'the registration id (from list)')
    .action(async (id: string) => {
      const outcome = await run(async ({ api, store }) => {
        let atVipps = true;
        try {
          await api.deleteWebhook(id);
        } catch (err) {
          if (!(err instanceof ProviderError) || err.kind !== 'not_found') throw err;
          atVipps = false;
        }
        const stored = await store.remove(PROVIDER, id);
        return { id, deletedAtVipps: atVipps, secretRemoved: stored };
      });
      if (!outcome.deletedAtVipps && !outcome.secretRemoved) throw new CliError(`no MobilePay webhook ${id}`, EXIT.notFound);
      print(globals(), outcome, () => `deleted ${id}${outcome.deletedAtVipps ? '' : ' (already gone at Vipps)'}${outcome.secretRemoved ? '; its stored secret is removed' : ''}`);
    });

  return mobilepay;
}
