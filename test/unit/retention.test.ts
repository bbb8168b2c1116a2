// The retention prune against the run's real Postgres: settled webhook inbox rows and acknowledged
// channel messages older than the period go, younger ones stay, and nothing still owed to a
// workflow or a channel is pruned, however old.
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { createDatabase } from '../../db/client';
import { channelMessages, webhookInbox, type WebhookInboxStatus } from '../../db/schema';
import { createWebhookInbox } from '../../store/webhook-inbox';
import { createChannelMessageStore } from '../../store/channel-messages';
import { createRetentionActivities } from '../../activities/retention';

const database = createDatabase(inject('databaseUrl'));
afterAll(() => database.close());

const DAY_MS = 24 * 60 * 60 * 1000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);

// Every test seeds under its own provider/channel name, so the counts are this test's rows only.
async function seedInbox(provider: string, rows: Array<{ status: WebhookInboxStatus; ageDays: number }>) {
  await database.db.insert(webhookInbox).values(
    rows.map((row, i) => ({
      provider,
      eventId: `${row.status}-${row.ageDays}-${i}`,
      eventType: 'payment_intent.succeeded',
      delivery: { delivery: 'observation' },
      payload: { id: `evt_${i}` },
      status: row.status,
      receivedAt: daysAgo(row.ageDays),
      nextAttemptAt: daysAgo(row.ageDays),
      deliveredAt: ['received', 'pending', 'parked', 'failed', 'ignored'].includes(row.status) ? null : daysAgo(row.ageDays),
    })),
  );
}

const remainingInbox = async (provider: string) =>
  (await database.db.select({ eventId: webhookInbox.eventId }).from(webhookInbox).where(eq(webhookInbox.provider, provider)))
    .map((row) => row.eventId)
    .sort();

const prune = createRetentionActivities({ inbox: createWebhookInbox(database.db), channelMessages: createChannelMessageStore(database.db) }).pruneRetainedRows;

describe('retention prune', () => {
  it('deletes settled inbox rows older than the period and keeps those inside it', async () => {
    const provider = `retention-${randomUUID()}`;
    await seedInbox(provider, [
      { status: 'delivered', ageDays: 31 },
      { status: 'closed', ageDays: 45 },
      { status: 'ignored', ageDays: 400 },
      { status: 'delivered', ageDays: 29 },
      { status: 'closed', ageDays: 1 },
      { status: 'ignored', ageDays: 0 },
    ]);
    const result = await prune({ retentionDays: 30 });
    expect(result.webhookInboxRows).toBeGreaterThanOrEqual(3);
    expect(await remainingInbox(provider)).toEqual(['closed-1-4', 'delivered-29-3', 'ignored-0-5']);
  });

  it('never prunes an undelivered inbox row (received, pending, parked, failed, unmatched), whatever its age', async () => {
    const provider = `retention-${randomUUID()}`;
    await seedInbox(provider, [
      { status: 'pending', ageDays: 3650 },
      { status: 'failed', ageDays: 3650 },
      { status: 'unmatched', ageDays: 3650 },
      { status: 'pending', ageDays: 31 },
      { status: 'delivered', ageDays: 3650 },
      { status: 'parked', ageDays: 3650 },
      { status: 'received', ageDays: 3650 },
    ]);
    await prune({ retentionDays: 1 });
    expect(await remainingInbox(provider)).toEqual(['failed-3650-1', 'parked-3650-5', 'pending-31-3', 'pending-3650-0', 'received-3650-6', 'unmatched-3650-2']);
  });

  it('works through a backlog larger than one batch', async () => {
    const provider = `retention-${randomUUID()}`;
    await seedInbox(provider, Array.from({ length: 25 }, () => ({ status: 'delivered' as const, ageDays: 60 })));
    await seedInbox(provider, [{ status: 'pending', ageDays: 60 }]);
    const result = await prune({ retentionDays: 30, batchSize: 4 });
    expect(result.webhookInboxRows).toBeGreaterThanOrEqual(25);
    expect(await remainingInbox(provider)).toEqual(['pending-60-0']);
  });

  it('deletes channel messages acknowledged before the period and never an unacknowledged one', async () => {
    const channel = `retention-${randomUUID()}`;
    const message = (messageId: string, ageDays: number, acked: boolean) => ({
      channel,
      messageId,
      kind: 'new' as const,
      channelReservationId: `cr-${messageId}`,
      reservationId: `res-${messageId}`,
      payload: { messageId },
      receivedAt: daysAgo(ageDays),
      ackedAt: acked ? daysAgo(ageDays) : null,
      ackOutcome: acked ? 'ok' : null,
    });
    await database.db
      .insert(channelMessages)
      .values([message('acked-old', 31, true), message('acked-recent', 2, true), message('unacked-old', 3650, false), message('unacked-recent', 0, false)]);
    const result = await prune({ retentionDays: 30 });
    expect(result.channelMessages).toBeGreaterThanOrEqual(1);
    const left = await database.db.select({ messageId: channelMessages.messageId }).from(channelMessages).where(and(eq(channelMessages.channel, channel)));
    expect(left.map((row) => row.messageId).sort()).toEqual(['acked-recent', 'unacked-old', 'unacked-recent']);
  });

  it('refuses a retention period under a day', async () => {
    await expect(prune({ retentionDays: 0 })).rejects.toThrow(/at least 1/);
  });
});
