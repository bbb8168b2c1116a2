// Gauges read from Postgres at scrape time: what is open or waiting right now, not what a process
// happened to see. Registered by the API process (it owns the inbox); each scrape costs three small
// indexed queries.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { channelMessages, payments, webhookInbox } from '../db/schema';
import { PAYMENT_STATUSES } from '../domain/payments';
import { isFinal } from '../domain/payments';
import type { Metrics } from '../observability/metrics';

const OPEN_STATUSES = PAYMENT_STATUSES.filter((status) => !isFinal(status));

export function registerLedgerGauges(metrics: Metrics, db: Database): void {
  metrics.registerGauge({
    name: 'skerry_open_payments',
    help: 'Payments in the ledger whose status is not final, by status',
    labelNames: ['status'],
    async collect() {
      const rows = await db
        .select({ status: payments.status, count: sql<number>`count(*)::int` })
        .from(payments)
        .where(sql`${payments.status} in ${OPEN_STATUSES}`)
        .groupBy(payments.status);
      const counts = new Map(rows.map((row) => [row.status, row.count]));
      return OPEN_STATUSES.map((status) => ({ labels: { status }, value: counts.get(status) ?? 0 }));
    },
  });

  metrics.registerGauge({
    name: 'skerry_webhook_inbox_oldest_pending_age_seconds',
    help: 'Age of the oldest webhook inbox row not yet delivered to its workflow (0 when none)',
    async collect() {
      const [row] = await db
        .select({ age: sql<number | null>`extract(epoch from now() - min(${webhookInbox.receivedAt}))::float8` })
        .from(webhookInbox)
        .where(sql`${webhookInbox.status} = 'pending'`);
      return [{ value: Math.max(0, row?.age ?? 0) }];
    },
  });

  metrics.registerGauge({
    name: 'skerry_unacknowledged_reservation_age_seconds',
    help: 'Age of the oldest reservation message a channel is still waiting for us to acknowledge, by channel',
    labelNames: ['channel'],
    async collect() {
      const rows = await db
        .select({ channel: channelMessages.channel, age: sql<number>`extract(epoch from now() - min(${channelMessages.receivedAt}))::float8` })
        .from(channelMessages)
        .where(sql`${channelMessages.ackedAt} is null`)
        .groupBy(channelMessages.channel);
      return rows.map((row) => ({ labels: { channel: row.channel }, value: Math.max(0, row.age) }));
    },
  });
}
