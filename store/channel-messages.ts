// The reservation messages pulled from a channel's queue (Booking.com): recorded before they are
// handed to their reservation workflows, which acknowledge them to the channel; whatever is still
// unacknowledged is handed over again, and its age is the queue's health.
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { channelMessages } from '../db/schema';
import type { ChannelName, UnackedMessage } from '../domain/bookings';

export type ChannelMessageRow = typeof channelMessages.$inferSelect;

export function createChannelMessageStore(db: Database) {
  return {
    /** Records pulled messages; returns those not dispatched to their workflow yet. */
    async recordChannelMessages(
      channel: ChannelName,
      messages: Array<{ messageId: string; kind: 'new' | 'modified' | 'cancelled'; channelReservationId: string; reservationId: string; payload: unknown }>,
    ): Promise<{ fresh: number; undispatched: ChannelMessageRow[] }> {
      if (messages.length === 0) return { fresh: 0, undispatched: [] };
      const rows = await db
        .insert(channelMessages)
        .values(messages.map((message) => ({ channel, ...message, payload: message.payload as object })))
        .onConflictDoUpdate({ target: [channelMessages.channel, channelMessages.messageId], set: { lastSeenAt: sql`now()` } })
        .returning({ messageId: channelMessages.messageId, inserted: sql<boolean>`(xmax = 0)` });
      const ids = messages.map((message) => message.messageId);
      const undispatched = await db
        .select()
        .from(channelMessages)
        .where(and(eq(channelMessages.channel, channel), inArray(channelMessages.messageId, ids), isNull(channelMessages.ackedAt)));
      return { fresh: rows.filter((row) => row.inserted).length, undispatched };
    },

    async markDispatched(channel: ChannelName, messageId: string): Promise<void> {
      await db
        .update(channelMessages)
        .set({ dispatchedAt: sql`now()` })
        .where(and(eq(channelMessages.channel, channel), eq(channelMessages.messageId, messageId)));
    },

    async recordAckAttempt(channel: ChannelName, messageId: string, outcome: { ok: true; result: string } | { ok: false; error: string }): Promise<void> {
      await db
        .update(channelMessages)
        .set(
          outcome.ok
            ? { ackedAt: sql`coalesce(${channelMessages.ackedAt}, now())`, ackOutcome: outcome.result, ackAttempts: sql`${channelMessages.ackAttempts} + 1`, lastError: null }
            : { ackAttempts: sql`${channelMessages.ackAttempts} + 1`, lastError: outcome.error.slice(0, 2000) },
        )
        .where(and(eq(channelMessages.channel, channel), eq(channelMessages.messageId, messageId)));
    },

    /** Deletes up to `limit` messages acknowledged before `cutoff`; an unacknowledged one is never touched. Returns the count. */
    async pruneAcknowledged({ cutoff, limit }: { cutoff: Date; limit: number }): Promise<number> {
      const rows = await db.execute<{ message_id: string }>(sql`
        delete from ${channelMessages}
         where (channel, message_id) in (
           select channel, message_id from ${channelMessages}
            where acked_at is not null and acked_at < ${cutoff.toISOString()}::timestamptz
            limit ${limit})
        returning message_id`);
      return rows.length;
    },

    async listUnacked(channel: ChannelName): Promise<UnackedMessage[]> {
      const rows = await db
        .select()
        .from(channelMessages)
        .where(and(eq(channelMessages.channel, channel), isNull(channelMessages.ackedAt)))
        .orderBy(asc(channelMessages.receivedAt))
        .limit(500);
      const now = Date.now();
      return rows.map((row) => ({
        messageId: row.messageId,
        kind: row.kind,
        channelReservationId: row.channelReservationId,
        receivedAt: row.receivedAt.toISOString(),
        ageMs: now - row.receivedAt.getTime(),
        ackAttempts: row.ackAttempts,
        lastError: row.lastError ?? undefined,
      }));
    },
  };
}

export type ChannelMessageStore = ReturnType<typeof createChannelMessageStore>;
