// Wires an API process: Temporal client, database, webhook inbox and its delivery loop, and the two
// doors — the admin API on HOST:PORT (loopback by default) and the public door on
// PUBLIC_HOST:PUBLIC_PORT (webhooks, return pages, /health).
import { Client, Connection } from '@temporalio/client';
import { enabledPaymentProviders, type Config } from '../config';
import { createDatabase } from '../db/client';
import { createPaymentsClient } from '../client/payments';
import { createWebhookVerifiers } from '../providers/registry';
import type { Logger } from '../observability/logger';
import { buildAdminApp, buildPublicApp } from './app';
import { createWebhookInbox } from '../store/webhook-inbox';
import { createWebhookDelivery } from './webhooks/delivery';
import { createBookingsClient } from '../client/bookings';
import { createInventory } from '../store/inventory';
import { bookingTimings } from '../config/booking-timings';
import { ensureChannelBackground, polledChannelAccounts } from './routes/channels';
import type { ChannelName } from '../domain/bookings';
import { createAirbnbOAuth } from '../providers/airbnb/client';
import { createChannelAccountStore } from '../store/channel-accounts';
import { getProcessMetrics, type Metrics } from '../observability/metrics';
import { registerLedgerGauges } from '../store/ledger-gauges';
import { setupReconciliation } from './routes/reconciliation';
import { createProcessResilience, type ProviderResilience } from '../providers/resilience';
import { createPayloadCodec, encryptedDataConverter } from '../security/payload-codec';
import type { ConfigSource } from '../config/secrets';
import { API_SCOPES } from '../db/schema';
import { createApiKeyStore } from '../store/api-keys';
import { createIdempotencyStore } from '../store/idempotency';
import { createOAuthConnectStore } from '../store/oauth-connects';
import { createVerifyBudget, withVerifyBudget } from '../providers/paypal/webhooks';
import { createSwishWebhookVerifier } from '../providers/swish/webhooks';
import { AIRBNB_CALLBACK_PATH } from './channels/airbnb-connect';
import { dependencyChecks } from './routes/health';
import { ensureRetentionSchedule } from '../client/retention';
import { createIcalFeedStore } from '../store/ical-feeds';
import { registerIcalGauges } from '../store/ical-gauges';
import { createIcalClient } from '../client/ical';
import { icalHostBreakers } from '../providers/ical/host-breakers';
import { createPostgresBreakerStore } from '../providers/resilience/breaker-store-postgres';
import { createSealer } from '../security/sealing';
import { createPaymentList } from '../store/payment-list';
import { createPaymentLedger } from '../store/payment-ledger';
import { cachedWebhookSecrets, createProviderWebhookStore } from '../store/provider-webhooks';

/** Answers of money-moving requests older than a day are dropped this often. */
const IDEMPOTENCY_PURGE_EVERY_MS = 3_600_000;

export async function startApi(
  config: Config,
  options: {
    temporalAddress: string;
    databaseUrl: string;
    logger: Logger;
    /** The admin door's port (default config.port); 0 = any free port. */
    port?: number;
    /** The public door's port (default config.publicDoor.port); 0 = any free port. */
    publicPort?: number;
    metrics?: Metrics;
    /** A reloadable configuration (SIGHUP): webhook secrets are read from it at every request. */
    configSource?: ConfigSource;
    /** The built console to serve under /console/ (`npm start` builds it into dist/console). */
    consoleDir?: string;
    /** This process's resilience mechanisms, when the caller shares them (`npm start`); else built here. */
    resilience?: ProviderResilience;
  },
) {
  const metrics = options.metrics ?? getProcessMetrics();
  const database = createDatabase(options.databaseUrl, { max: 20 });
  registerLedgerGauges(metrics, database.db);
  const icalFeeds = createIcalFeedStore(database.db, createSealer(config.channels.tokenEncryptionKey));
  registerIcalGauges(metrics, icalFeeds);
  // The API calls PayPal (webhook verification) and invalidates cached provider reads on webhooks.
  const resilience =
    options.resilience ??
    createProcessResilience(config, database, options.logger, metrics);
  const connection = await Connection.connect({ address: options.temporalAddress, ...config.temporal.connection });
  const temporal = new Client({ connection, namespace: config.temporal.namespace, dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey) });
  const payments = createPaymentsClient({
    temporal,
    taskQueue: config.temporal.taskQueue,
    timing: config.payments,
    createWaitMs: config.api.createWaitMs,
    lateSuccessPolicy: config.lateSuccessPolicy,
    // Webhooks that change nothing are recorded, not signalled (#20).
    ledger: createPaymentLedger(database.db),
  });
  const bookings = createBookingsClient({
    temporal,
    inventory: createInventory(database.db),
    payments,
    taskQueue: config.temporal.taskQueue,
    paymentTiming: config.payments,
    ...bookingTimings(config),
  });
  const icalClient = createIcalClient({ temporal, taskQueue: config.temporal.taskQueue });
  const readiness = dependencyChecks({ sql: database.sql, temporal: connection, redisUrl: config.resilience.redisUrl });
  const inbox = createWebhookInbox(database.db);
  const delivery = createWebhookDelivery({
    inbox,
    payments,
    reservations: bookings,
    pullNow: async (channel) => {
      const account = polledChannelAccounts(config)[channel as ChannelName];
      if (!account) throw new Error(`${channel} has no reservation poll here`);
      await bookings.pollReservationsNow(channel as ChannelName, account);
    },
    logger: options.logger.child({ component: 'webhook-delivery' }),
    sweepEveryMs: config.webhooks.deliverySweepMs,
    maxAttempts: config.webhooks.maxDeliveryAttempts,
    parkAfterMs: config.webhooks.parkAfterMs,
    observer: metrics.deliveryObserver,
  });

  const keys = createApiKeyStore(database.db);
  const idempotency = createIdempotencyStore(database.db);
  if (config.apiKeys.bootstrapKey) {
    const { created, record } = await keys.ensure(config.apiKeys.bootstrapKey, { name: 'bootstrap (SKERRY_BOOTSTRAP_API_KEY)', scopes: API_SCOPES });
    options.logger.info({ apiKeyId: record.id, prefix: record.prefix, created, revoked: record.revoked }, 'bootstrap API key');
  }

  // PayPal's remote verification has its own budget, apart from the workers' captures and refunds.
  const paypalVerify = createVerifyBudget(config.publicLimits.paypalVerify);
  metrics.registerGauge({
    name: 'skerry_webhook_verifications',
    help: 'Remote webhook verifications (PayPal) by state: running, queued, and refused so far (queue full or out of time)',
    labelNames: ['provider', 'state'],
    collect: () => {
      const stats = paypalVerify.stats();
      return [
        { labels: { provider: 'paypal', state: 'running' }, value: stats.inFlight },
        { labels: { provider: 'paypal', state: 'queued' }, value: stats.queued },
        { labels: { provider: 'paypal', state: 'refused_queue_full' }, value: stats.refusedQueueFull },
        { labels: { provider: 'paypal', state: 'timed_out' }, value: stats.timedOut },
      ];
    },
  });
  const providerWebhooks = createProviderWebhookStore(database.db, config.channels.tokenEncryptionKey);
  const mobilepaySecrets = cachedWebhookSecrets(() =>
    providerWebhooks.secrets('mobilepay', (id, err) => options.logger.error({ registration: id, err: err.message }, 'a stored MobilePay webhook secret does not open')),
  );
  const verifiers = createWebhookVerifiers(config, { source: options.configSource, resilience, storedWebhookSecrets: { mobilepay: mobilepaySecrets } }).map((verifier) => {
    if (verifier.provider === 'paypal') return withVerifyBudget(verifier, paypalVerify);
    // Unsigned callbacks about payment requests the ledger does not know are answered and dropped.
    if (verifier.provider === 'swish') {
      return createSwishWebhookVerifier({ isKnownPaymentRequest: async (id) => (await inbox.findPaymentIdByProviderReference('swish', id)) !== undefined });
    }
    return verifier;
  });

  const airbnb = config.channels.airbnb.enabled
    ? {
        oauth: createAirbnbOAuth(config.channels.airbnb),
        accounts: createChannelAccountStore(database.db, config.channels.tokenEncryptionKey),
        connects: createOAuthConnectStore(database.db),
        callbackUrl: `${config.publicUrl}${AIRBNB_CALLBACK_PATH}`,
      }
    : undefined;
  const reconciliation = await setupReconciliation(config, { temporal, db: database.db, metrics, resilience, logger: options.logger.child({ component: 'reconciliation' }) });
  await ensureRetentionSchedule(temporal, { taskQueue: config.temporal.taskQueue, retentionDays: config.webhooks.retentionDays }).then(
    (outcome) => options.logger.info({ schedule: outcome, retentionDays: config.webhooks.retentionDays }, 'retention schedule'),
    // The API serves without it; the next start tries again.
    (err: Error) => options.logger.error({ err: err.message }, 'could not create or update the retention schedule'),
  );

  const admin = await buildAdminApp({
    payments,
    inbox,
    delivery,
    access: {
      keys,
      idempotency,
      allowedHosts: config.adminDoor.allowedHosts,
      corsOrigins: config.adminDoor.corsOrigins,
      isPaidBooking: async (bookingId) => {
        const booking = await bookings.getBooking(bookingId).catch(() => undefined);
        if (!booking?.paymentId) return false;
        const payment = await payments.getPayment(booking.paymentId).catch(() => undefined);
        return Boolean(payment && payment.amountCaptured > payment.amountRefunded);
      },
    },
    providers: { db: database.db, config },
    paymentList: { list: createPaymentList(database.db) },
    propertyCalendar: { bookings, db: database.db },
    consoleDir: options.consoleDir,
    ical: {
      feeds: icalFeeds,
      ical: icalClient,
      publicUrl: config.publicUrl,
      defaults: { intervalMs: config.channels.ical.pollIntervalMs, graceMs: config.channels.ical.graceMs, staleAfterMs: config.channels.ical.staleAfterMs },
      importPolicy: config.channels.ical.importPolicy,
      hostBreakers: () => icalHostBreakers(createPostgresBreakerStore(database.db), config.resilience.scope),
    },
    codec: { codec: createPayloadCodec(config.channels.tokenEncryptionKey) },
    readiness,
    enabledProviders: enabledPaymentProviders(config),
    logger: options.logger.child({ door: 'admin' }),
    metrics,
    bookings: {
      bookings,
      pollAccounts: polledChannelAccounts(config),
      icalFeeds,
    },
    airbnb,
    reconciliation,
  });
  const publicApp = await buildPublicApp({
    payments,
    inbox,
    delivery,
    verifiers,
    logger: options.logger.child({ door: 'public' }),
    webhookObserver: metrics.webhookObserver,
    readiness,
    invalidateProviderReads: (provider, providerReference) => resilience.invalidate(provider, providerReference),
    airbnb: airbnb ? { ...airbnb, keys } : undefined,
    ical: { feeds: icalFeeds, days: config.channels.ical.exportDays, ratePerMinute: config.channels.ical.feedRatePerMinute },
    limits: { webhookRatePerMinute: config.publicLimits.webhookRatePerMinute, pageRatePerMinute: config.publicLimits.pageRatePerMinute },
  });

  delivery.start();
  const purge = setInterval(() => {
    idempotency.purgeExpired().catch((err: Error) => options.logger.warn({ err: err.message }, 'could not purge expired idempotency keys'));
  }, IDEMPOTENCY_PURGE_EVERY_MS);
  purge.unref();
  await ensureChannelBackground(config, bookings, options.logger.child({ component: 'channels' }));
  // Every iCal import feed polls (a feed added while no API ran, or a poll that ended, starts again).
  await Promise.all((await icalFeeds.listImportFeeds()).map((feed) => icalClient.ensureImportPoll(feed))).catch((err: Error) =>
    options.logger.error({ err: err.message }, 'could not start the iCal import polls; the next start tries again'),
  );
  const url = await admin.listen({ host: config.host, port: options.port ?? config.port });
  const publicUrl = await publicApp.listen({ host: config.publicDoor.host, port: options.publicPort ?? config.publicDoor.port });
  return {
    /** The admin door. */
    app: admin,
    publicApp,
    /** The admin door's address. */
    url,
    /** The public door's address as this process listens on it (providers use config.publicUrl). */
    publicUrl,
    payments,
    bookings,
    keys,
    paypalVerify,
    reconciliation: reconciliation.reconciliation,
    async close() {
      clearInterval(purge);
      await publicApp.close();
      await admin.close();
      await delivery.stop();
      await readiness.close();
      if (!options.resilience) await resilience.close();
      await connection.close();
      await database.close();
    },
  };
}
