// Bounded webhook delivery against the run's real Postgres: a row whose delivery errors
// `maxAttempts` times is marked failed, one that waits too long on a payment the ledger does not
// have is parked; both keep their payload, attempts and last error, are counted (metric and gauge),
// and a replay makes them pending again with a fresh attempt budget. The payments client is the
// collaborator whose outage is simulated (it throws, then recovers); the inbox and delivery are real.
// Rows are driven one claim at a time (never a sweep), so no other test's rows are touched.
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { createDatabase } from '../../db/client';
import { webhookInbox } from '../../db/schema';
import { createWebhookInbox, type DeliverableRow } from '../../store/webhook-inbox';
import { registerLedgerGauges } from '../../store/ledger-gauges';
import { createWebhookDelivery } from '../../api/webhooks/delivery';
import { createMetrics } from '../../observability/metrics';
import { createLogger } from '../../observability/logger';
import type { VerifiedWebhookEvent } from '../../domain/webhooks';
import { eventually } from '../support/harness';

const database = createDatabase(inject('databaseUrl'));
afterAll(() => database.close());
const inbox = createWebhookInbox(database.db);
const logger = createLogger({ level: 'silent' });

function event(provider: string, fields: Partial<VerifiedWebhookEvent>): VerifiedWebhookEvent {
  return {
    provider: provider as VerifiedWebhookEvent['provider'],
    eventId: `evt_${randomUUID()}`,
    eventType: 'payment_intent.succeeded',
    delivery: 'observation',
    observation: { kind: 'status', status: 'succeeded', occurredAt: new Date().toISOString() } as unknown as VerifiedWebhookEvent['observation'],
    payload: { id: 'evt', object: 'event', type: 'payment_intent.succeeded' },
    ...fields,
  };
}

const rowOf = async (id: number) => (await database.db.select().from(webhookInbox).where(eq(webhookInbox.id, id)))[0]!;

/** Waits for the row's delivery (run in the background) to end: every outcome releases the claim. */
const released = (id: number) =>
  eventually(async () => {
    const row = await rowOf(id);
    return row.lockedUntil === null ? row : undefined;
  }, { what: `inbox row ${id}'s delivery to end` });

/** One more delivery attempt of this row alone: claimed (attempts + 1) and delivered now. */
async function attempt(delivery: ReturnType<typeof createWebhookDelivery>, id: number) {
  const claimed = await inbox.claim(id);
  expect(claimed, `row ${id} claimable`).toBeDefined();
  delivery.deliverNow([claimed as DeliverableRow]);
  return released(id);
}

const sample = (text: string, name: string, labels: Record<string, string>) => {
  const want = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && want.every((label) => candidate.includes(label)));
  return line ? Number(line.split(' ').at(-1)) : undefined;
};

describe('bounded webhook delivery', () => {
  it('marks a row failed after maxAttempts errored deliveries, keeps it whole, and a replay delivers it once the cause is gone', async () => {
    const provider = `giveup-${randomUUID().slice(0, 8)}`;
    const metrics = createMetrics();
    registerLedgerGauges(metrics, database.db);
    let temporalDown = true;
    const signalled: string[] = [];
    const delivery = createWebhookDelivery({
      inbox,
      payments: {
        deliverObservation: async ({ paymentId }) => {
          if (temporalDown) throw new Error('14 UNAVAILABLE: connection refused');
          signalled.push(paymentId);
          return 'delivered';
        },
      },
      logger,
      sweepEveryMs: 60_000,
      observer: metrics.deliveryObserver,
      maxAttempts: 3,
    });

    const paymentId = `pay_${randomUUID()}`;
    const { inserted } = await inbox.record([event(provider, { paymentId })]);
    const id = inserted[0]!.id;
    expect(inserted[0]).toMatchObject({ status: 'received', attempts: 1 });

    delivery.deliverNow(inserted);
    expect(await released(id)).toMatchObject({ status: 'pending', attempts: 1, lastError: '14 UNAVAILABLE: connection refused' });
    expect(await attempt(delivery, id)).toMatchObject({ status: 'pending', attempts: 2 });
    const failed = await attempt(delivery, id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, lastError: '14 UNAVAILABLE: connection refused', deliveredAt: null });
    expect(failed.payload).toEqual({ id: 'evt', object: 'event', type: 'payment_intent.succeeded' });
    // Given up: no sweep or claim picks it again on its own.
    expect(await inbox.claim(id)).toBeUndefined();
    expect(signalled).toEqual([]);

    const text = await metrics.text();
    expect(sample(text, 'skerry_webhook_deliveries_given_up_total', { provider, status: 'failed' })).toBe(1);
    expect(sample(text, 'skerry_webhook_delivery_failures_total', { provider })).toBe(3);
    expect(sample(text, 'skerry_webhook_inbox_given_up', { provider, status: 'failed' })).toBe(1);

    // The cause is removed; the operator replays the row: pending with a fresh budget, then delivered.
    temporalDown = false;
    expect(await inbox.requeue({ ids: [id] })).toBe(1);
    expect(await rowOf(id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await attempt(delivery, id)).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });
    expect(signalled).toEqual([paymentId]);
    expect(sample(await metrics.text(), 'skerry_webhook_inbox_given_up', { provider, status: 'failed' })).toBeUndefined();
    await delivery.stop();
  });

  it('parks a row that waited longer than parkAfterMs for its payment to reach the ledger, and a replay makes it pending again', async () => {
    const provider = `park-${randomUUID().slice(0, 8)}`;
    const metrics = createMetrics();
    const delivery = createWebhookDelivery({
      inbox,
      payments: { deliverObservation: async () => { throw new Error('no payment, so never called'); } },
      logger,
      sweepEveryMs: 60_000,
      observer: metrics.deliveryObserver,
      maxAttempts: 3,
      parkAfterMs: 10 * 60_000,
    });
    const { inserted } = await inbox.record([event(provider, { providerReference: `pi_${randomUUID()}` })]);
    const id = inserted[0]!.id;
    delivery.deliverNow(inserted);
    // Inside the bound the wait is retried (and it is no error: the attempt budget is for errors).
    expect(await released(id)).toMatchObject({ status: 'pending', lastError: 'payment not in the ledger yet' });
    expect(await attempt(delivery, id)).toMatchObject({ status: 'pending', attempts: 2 });
    expect(await attempt(delivery, id)).toMatchObject({ status: 'pending', attempts: 3 });
    expect(await attempt(delivery, id)).toMatchObject({ status: 'pending', attempts: 4 });

    // The row has now waited past the bound (its receipt moved 11 minutes back).
    await database.db.update(webhookInbox).set({ receivedAt: sql`now() - interval '11 minutes'` }).where(eq(webhookInbox.id, id));
    const parked = await attempt(delivery, id);
    expect(parked).toMatchObject({ status: 'parked', attempts: 5, lastError: 'payment not in the ledger yet', deliveredAt: null });
    expect(await inbox.claim(id)).toBeUndefined();
    expect(sample(await metrics.text(), 'skerry_webhook_deliveries_given_up_total', { provider, status: 'parked' })).toBe(1);
    expect(sample(await metrics.text(), 'skerry_webhook_delivery_failures_total', { provider })).toBeUndefined();

    expect(await inbox.requeue({ ids: [id] })).toBe(1);
    expect(await rowOf(id)).toMatchObject({ status: 'pending', attempts: 0, lastError: 'payment not in the ledger yet' });
    expect((await inbox.list({ provider, status: 'parked' })).map((row) => row.id)).toEqual([]);
    await delivery.stop();
  });
});
