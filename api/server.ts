// Wires an API process: Temporal client, database, webhook inbox and its delivery loop.
import { Client, Connection } from '@temporalio/client';
import { enabledPaymentProviders, type Config } from '../config';
import { createDatabase } from '../db/client';
import { createPaymentsClient } from '../client/payments';
import { createWebhookVerifiers } from '../providers/registry';
import type { Logger } from '../observability/logger';
import { buildApp } from './app';
import { createWebhookInbox } from '../store/webhook-inbox';
import { createWebhookDelivery } from './webhooks/delivery';
import { createBookingsClient } from '../client/bookings';
import { createInventory } from '../store/inventory';
import { bookingTimings } from '../config/booking-timings';
import { channelAccountKey, ensureChannelBackground } from './routes/channels';
import { createAirbnbOAuth } from '../providers/airbnb/client';
import { createChannelAccountStore } from '../store/channel-accounts';
import { getProcessMetrics, type Metrics } from '../observability/metrics';
import { registerLedgerGauges } from '../store/ledger-gauges';
import { setupReconciliation } from './routes/reconciliation';
import { createProviderResilience, type ProviderResilience } from '../providers/resilience';
import type { ConfigSource } from '../config/secrets';

export async function startApi(
  config: Config,
  options: {
    temporalAddress: string;
    databaseUrl: string;
    logger: Logger;
    port?: number;
    metrics?: Metrics;
    /** A reloadable configuration (SIGHUP): webhook secrets are read from it at every request. */
    configSource?: ConfigSource;
    /** This process's resilience mechanisms, when the caller shares them (`npm start`); else built here. */
    resilience?: ProviderResilience;
  },
) {
  const metrics = options.metrics ?? getProcessMetrics();
  const database = createDatabase(options.databaseUrl, { max: 20 });
  registerLedgerGauges(metrics, database.db);
  // The API calls PayPal (webhook verification) and invalidates cached provider reads on webhooks.
  const resilience =
    options.resilience ??
    createProviderResilience({ config: config.resilience, tokenEncryptionKey: config.channels.tokenEncryptionKey, db: database.db, logger: options.logger, metrics });
  const connection = await Connection.connect({ address: options.temporalAddress, ...config.temporal.connection });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const payments = createPaymentsClient({
    temporal,
    taskQueue: config.temporal.taskQueue,
    timing: config.payments,
    createWaitMs: config.api.createWaitMs,
  });
  const bookings = createBookingsClient({
    temporal,
    inventory: createInventory(database.db),
    payments,
    taskQueue: config.temporal.taskQueue,
    paymentTiming: config.payments,
    ...bookingTimings(config),
  });
  const inbox = createWebhookInbox(database.db);
  const delivery = createWebhookDelivery({
    inbox,
    payments,
    reservations: bookings,
    logger: options.logger.child({ component: 'webhook-delivery' }),
    sweepEveryMs: config.webhooks.deliverySweepMs,
    observer: metrics.deliveryObserver,
  });
  const reconciliation = await setupReconciliation(config, { temporal, db: database.db, metrics, logger: options.logger.child({ component: 'reconciliation' }) });
  const app = await buildApp({
    payments,
    inbox,
    delivery,
    verifiers: createWebhookVerifiers(config, { source: options.configSource, resilience }),
    providers: { db: database.db, config },
    invalidateProviderReads: (provider, providerReference) => resilience.invalidate(provider, providerReference),
    enabledProviders: enabledPaymentProviders(config),
    logger: options.logger,
    metrics,
    webhookObserver: metrics.webhookObserver,
    bookings: {
      bookings,
      pollAccounts: config.channels.bookingCom.enabled ? { booking_com: channelAccountKey(config.channels.bookingCom.username, config.temporal.taskQueue) } : {},
      airbnb: config.channels.airbnb.enabled
        ? {
            oauth: createAirbnbOAuth(config.channels.airbnb),
            accounts: createChannelAccountStore(database.db, config.channels.tokenEncryptionKey),
            stateKey: config.channels.tokenEncryptionKey,
            callbackUrl: `${config.publicUrl}/channels/airbnb/oauth/callback`,
          }
        : undefined,
    },
    reconciliation,
  });
  delivery.start();
  await ensureChannelBackground(config, bookings, options.logger.child({ component: 'channels' }));
  const url = await app.listen({ host: config.host, port: options.port ?? config.port });
  return {
    app,
    url,
    payments,
    bookings,
    reconciliation: reconciliation.reconciliation,
    async close() {
      await app.close();
      await delivery.stop();
      if (!options.resilience) await resilience.close();
      await connection.close();
      await database.close();
    },
  };
}
