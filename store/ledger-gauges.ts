// Gauges read from Postgres at scrape time: what is open or waiting right now, not what a process
// happened to see. Registered by the API process (it owns the inbox); each scrape costs three small
// indexed queries.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { channelMessages, DELIVERABLE_INBOX_STATUSES, GIVEN_UP_INBOX_STATUSES, payments, reservations, webhookInbox } from '../db/schema';
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
        .where(sql`${webhookInbox.status} in ${[...DELIVERABLE_INBOX_STATUSES]}`);
      return [{ value: Math.max(0, row?.age ?? 0) }];
    },
  });

  // Read from the inbox, not counted by a process: a parked or failed row stays one until it is
  // replayed, whichever API process gave up on it and however often processes restart.
  metrics.registerGauge({
    name: 'skerry_webhook_inbox_given_up',
    help: 'Webhook inbox rows delivery gave up on and that wait for a replay, by provider and status (parked: waited too long on something outside Skerry; failed: errored too often)',
    labelNames: ['provider', 'status'],
    async collect() {
      const rows = await db
        .select({ provider: webhookInbox.provider, status: webhookInbox.status, count: sql<number>`count(*)::int` })
        .from(webhookInbox)
        .where(sql`${webhookInbox.status} in ${[...GIVEN_UP_INBOX_STATUSES]}`)
        .groupBy(webhookInbox.provider, webhookInbox.status);
      return rows.map((row) => ({ labels: { provider: row.provider, status: row.status }, value: row.count }));
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

  metrics.registerGauge({
    name: 'skerry_overbooked_reservations',
    help: 'Channel reservations Skerry could not place that stand on their channel (Booking.com) and wait for a person to relocate or cancel them, by channel',
    labelNames: ['channel'],
    async collect() {
      const rows = await db
        .select({ channel: reservations.channel, count: sql<number>`count(*)::int` })
        .from(reservations)
        .where(sql`${reservations.status} = 'overbooked'`)
        .groupBy(reservations.channel);
      // Booking.com always has a sample, so the alert resolves at 0 instead of going silent.
      const counts = new Map<string, number>([['booking_com', 0], ...rows.map((row) => [row.channel, row.count] as [string, number])]);
      return [...counts].map(([channel, value]) => ({ labels: { channel }, value }));
    },
  });
}
