// Wires an API process: Temporal client, database, webhook inbox and its delivery loop.
import { Client, Connection } from '@temporalio/client';
import { enabledPaymentProviders, type Config } from '../config';
import { createDatabase } from '../db/client';
import { createPaymentsClient } from '../client/payments';
import { createWebhookVerifiers } from '../providers/registry';
import type { Logger } from '../observability/logger';
import { buildApp } from './app';
import { createWebhookInbox } from './webhooks/inbox';
import { createWebhookDelivery } from './webhooks/delivery';
import { createBookingsClient } from '../client/bookings';
import { createInventoryStore } from '../activities/persistence/inventory';
import { bookingTimings } from '../activities/bookings/deps';
import { channelAccountKey, ensureChannelBackground } from './routes/inventory';

export async function startApi(config: Config, options: { temporalAddress: string; databaseUrl: string; logger: Logger; port?: number }) {
  const database = createDatabase(options.databaseUrl, { max: 20 });
  const connection = await Connection.connect({ address: options.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const payments = createPaymentsClient({
    temporal,
    taskQueue: config.temporal.taskQueue,
    timing: config.payments,
    createWaitMs: config.api.createWaitMs,
  });
  const bookings = createBookingsClient({
    temporal,
    inventory: createInventoryStore(database.db),
    payments,
    taskQueue: config.temporal.taskQueue,
    paymentTiming: config.payments,
    ...bookingTimings(config),
  });
  const inbox = createWebhookInbox(database.db);
  const delivery = createWebhookDelivery({
    inbox,
    payments,
    logger: options.logger.child({ component: 'webhook-delivery' }),
    sweepEveryMs: config.webhooks.deliverySweepMs,
  });
  const app = await buildApp({
    payments,
    inbox,
    delivery,
    verifiers: createWebhookVerifiers(config),
    enabledProviders: enabledPaymentProviders(config),
    logger: options.logger,
    bookings: {
      bookings,
      pollAccounts: config.channels.bookingCom.enabled ? { booking_com: channelAccountKey(config.channels.bookingCom.username, config.temporal.taskQueue) } : {},
    },
  });
  delivery.start();
  await ensureChannelBackground(config, bookings, options.logger.child({ component: 'channels' }));
  const url = await app.listen({ host: config.host, port: options.port ?? config.port });
  return {
    app,
    url,
    payments,
    bookings,
    async close() {
      await app.close();
      await delivery.stop();
      await connection.close();
      await database.close();
    },
  };
}
