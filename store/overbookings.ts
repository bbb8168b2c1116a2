// Overbookings: a channel sold nights that were gone. Each is recorded once per reservation and
// stay, and marked once the channel has been told.
import { desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { overbookingEvents } from '../db/schema';
import type { ChannelName } from '../domain/bookings';

export type OverbookingRow = typeof overbookingEvents.$inferSelect;

export function createOverbookingStore(db: Database) {
  return {
    async recordOverbooking(input: {
      unitId?: string;
      channel: ChannelName;
      channelReservationId: string;
      reservationId: string;
      checkIn: string;
      checkOut: string;
      rooms: number;
      reason: string;
      details?: unknown;
    }): Promise<OverbookingRow> {
      const [row] = await db
        .insert(overbookingEvents)
        .values({
          unitId: input.unitId ?? null,
          channel: input.channel,
          channelReservationId: input.channelReservationId,
          reservationId: input.reservationId,
          checkIn: input.checkIn,
          checkOut: input.checkOut,
          rooms: input.rooms,
          reason: input.reason,
          details: (input.details ?? null) as object,
        })
        .onConflictDoUpdate({
          target: [overbookingEvents.reservationId, overbookingEvents.channelReservationId, overbookingEvents.checkIn, overbookingEvents.checkOut],
          set: { reason: sql`excluded.reason` },
        })
        .returning();
      return row!;
    },

    async markOverbookingNotified(id: number): Promise<void> {
      await db.update(overbookingEvents).set({ channelNotified: true }).where(eq(overbookingEvents.id, id));
    },

    listOverbookings: (options: { unitId?: string; limit?: number } = {}) =>
      db
        .select()
        .from(overbookingEvents)
        .where(options.unitId ? eq(overbookingEvents.unitId, options.unitId) : sql`true`)
        .orderBy(desc(overbookingEvents.id))
        .limit(options.limit ?? 100),
  };
}

export type OverbookingStore = ReturnType<typeof createOverbookingStore>;
