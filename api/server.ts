// Wires an API process: Temporal client, database, webhook inbox and its delivery loop.
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { createDatabase } from '../db/client';
import { createPaymentsClient } from '../client/payments';
import { createWebhookVerifiers } from '../providers/registry';
import type { Logger } from '../observability/logger';
import { buildApp } from './app';
import { createWebhookInbox } from './webhooks/inbox';
import { createWebhookDelivery } from './webhooks/delivery';

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
  const inbox = createWebhookInbox(database.db);
  const delivery = createWebhookDelivery({
    inbox,
    payments,
    logger: options.logger.child({ component: 'webhook-delivery' }),
    sweepEveryMs: config.webhooks.deliverySweepMs,
  });
  const app = await buildApp({ payments, inbox, delivery, verifiers: createWebhookVerifiers(config), logger: options.logger });
  delivery.start();
  const url = await app.listen({ host: config.host, port: options.port ?? config.port });
  return {
    app,
    url,
    payments,
    async close() {
      await app.close();
      await delivery.stop();
      await connection.close();
      await database.close();
    },
  };
}
