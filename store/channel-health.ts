// What a channel reported about its own health through its webhooks (Channex: booking_unmapped_room,
// booking_unmapped_rate, sync_error, non_acked_booking), read back from the durable inbox where every
// webhook is recorded: no second copy to keep in step.
import { and, desc, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { webhookInbox } from '../db/schema';

export interface ChannelHealthEvent {
  event: string;
  receivedAt: string;
  /** The redacted payload (ids only: property, booking, revision). */
  payload: unknown;
}

export function createChannelHealthStore(db: Database) {
  return {
    /** Counts per event type since `since`, and the latest `limit` events. */
    async reportedEvents(channel: string, events: readonly string[], since: Date, limit = 50): Promise<{ counts: Record<string, number>; recent: ChannelHealthEvent[] }> {
      const where = and(eq(webhookInbox.provider, channel), inArray(webhookInbox.eventType, [...events]), gte(webhookInbox.receivedAt, since));
      const [counted, recent] = await Promise.all([
        db.select({ event: webhookInbox.eventType, count: sql<number>`count(*)::int` }).from(webhookInbox).where(where).groupBy(webhookInbox.eventType),
        db.select({ event: webhookInbox.eventType, receivedAt: webhookInbox.receivedAt, payload: webhookInbox.payload }).from(webhookInbox).where(where).orderBy(desc(webhookInbox.receivedAt)).limit(limit),
      ]);
      const counts = Object.fromEntries(events.map((event) => [event, counted.find((row) => row.event === event)?.count ?? 0]));
      return { counts, recent: recent.map((row) => ({ event: row.event, receivedAt: row.receivedAt.toISOString(), payload: row.payload })) };
    },
  };
}

export type ChannelHealthStore = ReturnType<typeof createChannelHealthStore>;
