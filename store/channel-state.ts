// What each channel was last told about each night of a unit (after it accepted the push): the
// listing sync compares the calendar with it and pushes only the nights that differ.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { channelCalendarState, channelPushFailures } from '../db/schema';
import type { DateRange } from '../domain/dates';
import type { ChannelDay, ChannelName } from '../domain/bookings';

export type ChannelStateRow = typeof channelCalendarState.$inferSelect;

export function channelDayOfState(state: ChannelStateRow): ChannelDay {
  return {
    date: state.date,
    available: state.available,
    price: state.price ?? undefined,
    currency: state.currency ?? undefined,
    minNights: state.minNights,
    minStayThrough: state.minStayThrough ?? undefined,
    maxStay: state.maxStay ?? undefined,
    closedToArrival: state.closedToArrival,
    closedToDeparture: state.closedToDeparture,
    closed: state.closed,
  };
}

/** Two states of a night are the same for a channel when everything it is told is equal. */
export function sameChannelDay(a: ChannelDay, b: ChannelDay | undefined): boolean {
  return (
    b !== undefined &&
    a.available === b.available &&
    (a.price ?? null) === (b.price ?? null) &&
    (a.currency ?? null) === (b.currency ?? null) &&
    a.minNights === b.minNights &&
    (a.minStayThrough ?? null) === (b.minStayThrough ?? null) &&
    (a.maxStay ?? null) === (b.maxStay ?? null) &&
    a.closedToArrival === b.closedToArrival &&
    (a.closedToDeparture ?? false) === (b.closedToDeparture ?? false) &&
    a.closed === b.closed
  );
}

export function createChannelStateStore(db: Database) {
  return {
    async readChannelState(unitId: string, channel: ChannelName, ranges: readonly DateRange[]): Promise<Map<string, ChannelDay>> {
      if (ranges.length === 0) return new Map();
      const rows = await db
        .select()
        .from(channelCalendarState)
        .where(
          sql`${channelCalendarState.unitId} = ${unitId} and ${channelCalendarState.channel} = ${channel} and (${sql.join(
            ranges.map((range) => sql`(${channelCalendarState.date} between ${range.from} and ${range.to})`),
            sql` or `,
          )})`,
        );
      return new Map(rows.map((row) => [row.date, channelDayOfState(row)]));
    },

    /** Remembers what a channel was told (after it accepted the push). */
    async recordChannelState(unitId: string, channel: ChannelName, days: readonly ChannelDay[]): Promise<void> {
      for (let start = 0; start < days.length; start += 500) {
        const chunk = days.slice(start, start + 500);
        await db
          .insert(channelCalendarState)
          .values(
            chunk.map((day) => ({
              unitId,
              channel,
              date: day.date,
              available: day.available,
              price: day.price ?? null,
              currency: day.currency ?? null,
              minNights: day.minNights,
              minStayThrough: day.minStayThrough ?? null,
              maxStay: day.maxStay ?? null,
              closedToArrival: day.closedToArrival,
              closedToDeparture: day.closedToDeparture ?? false,
              closed: day.closed,
            })),
          )
          .onConflictDoUpdate({
            target: [channelCalendarState.unitId, channelCalendarState.channel, channelCalendarState.date],
            set: {
              available: sql`excluded.available`,
              price: sql`excluded.price`,
              currency: sql`excluded.currency`,
              minNights: sql`excluded.min_nights`,
              minStayThrough: sql`excluded.min_stay_through`,
              maxStay: sql`excluded.max_stay`,
              closedToArrival: sql`excluded.closed_to_arrival`,
              closedToDeparture: sql`excluded.closed_to_departure`,
              closed: sql`excluded.closed`,
              pushedAt: sql`now()`,
            },
          });
        // The channel has these nights now: an earlier failed push of them no longer stands.
        await db
          .delete(channelPushFailures)
          .where(and(eq(channelPushFailures.unitId, unitId), eq(channelPushFailures.channel, channel), inArray(channelPushFailures.date, chunk.map((day) => day.date))));
      }
    },

    /** Remembers that a push of these nights failed, until a later push of them succeeds (recordChannelState). */
    async recordPushFailure(unitId: string, channel: ChannelName, dates: readonly string[], error: string): Promise<void> {
      for (let start = 0; start < dates.length; start += 500) {
        const chunk = dates.slice(start, start + 500);
        await db
          .insert(channelPushFailures)
          .values(chunk.map((date) => ({ unitId, channel, date, error: error.slice(0, 2000) })))
          .onConflictDoUpdate({
            target: [channelPushFailures.unitId, channelPushFailures.channel, channelPushFailures.date],
            set: { failedAt: sql`now()`, error: sql`excluded.error` },
          });
      }
    },

    /**
     * A channel that sold (or gave back) nights itself changed its own availability for them: nobody
     * pushes those nights to it, so what it holds is learned here rather than told. Where it was told
     * anything, its availability becomes the calendar's, which the sale moved the same way; its other
     * fields stay as told. Nights it was never told stay unknown.
     */
    async recordChannelOwnChange(unitId: string, channel: ChannelName, ranges: readonly DateRange[]): Promise<void> {
      if (ranges.length === 0) return;
      await db.execute(sql`
        update channel_calendar_state as s
        set available = greatest(0, c.allotment - c.booked)
        from calendar_days as c
        where s.unit_id = ${unitId} and s.channel = ${channel}
          and c.unit_id = s.unit_id and c.date = s.date
          and (${sql.join(
            ranges.map((range) => sql`(s.date between ${range.from} and ${range.to})`),
            sql` or `,
          )})
      `);
    },

    /** Forgets what a channel was told for these nights (it shows otherwise): the next push sends them. */
    async forgetChannelState(unitId: string, channel: ChannelName, dates: readonly string[]): Promise<void> {
      if (dates.length === 0) return;
      await db
        .delete(channelCalendarState)
        .where(and(eq(channelCalendarState.unitId, unitId), eq(channelCalendarState.channel, channel), inArray(channelCalendarState.date, [...dates])));
    },
  };
}

export type ChannelStateStore = ReturnType<typeof createChannelStateStore>;
