// A unit's calendar: per night, the allotment open for sale, how much of it is booked, the price and
// the restrictions. Availability is taken and given back by the reservations repository, in the
// transaction of the reservation itself; edits here never undercut what is booked.
import { and, asc, eq, gte, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { calendarDays, channelCalendarState } from '../db/schema';
import { eachDate, type DateRange } from '../domain/dates';
import type { ChannelDay } from '../domain/bookings';
import type { Money } from '../domain/money';
import { channelDayOfState, sameChannelDay } from './channel-state';
import { requireUnit } from './properties';

export type CalendarRow = typeof calendarDays.$inferSelect;

/** One calendar edit: every field left out keeps its current value. */
export interface CalendarUpdate {
  from: string;
  to: string;
  /** Units to sell on each night, not counting the ones already booked (capped at the unit's count). */
  available?: number;
  price?: Money;
  minNights?: number;
  /** Null clears it (no min stay through / no max stay). */
  minStayThrough?: number | null;
  maxStay?: number | null;
  closedToArrival?: boolean;
  closedToDeparture?: boolean;
  closed?: boolean;
}

/** The calendar rows of a unit's nights in a range (both ends included). */
export const calendarNights = (unitId: string, range: DateRange) =>
  and(eq(calendarDays.unitId, unitId), gte(calendarDays.date, range.from), lte(calendarDays.date, range.to));

export function toChannelDay(row: CalendarRow): ChannelDay {
  return {
    date: row.date,
    available: Math.max(0, row.allotment - row.booked),
    price: row.price ?? undefined,
    currency: row.currency ?? undefined,
    minNights: row.minNights,
    minStayThrough: row.minStayThrough ?? undefined,
    maxStay: row.maxStay ?? undefined,
    closedToArrival: row.closedToArrival,
    closedToDeparture: row.closedToDeparture,
    closed: row.closed,
  };
}

export function createCalendarStore(db: Database) {
  return {
    /**
     * Applies calendar edits in one transaction. A night's allotment becomes booked + available
     * (capped at the unit's count), so an edit can never undercut a reservation already taken.
     */
    async updateCalendar(unitId: string, updates: CalendarUpdate[]): Promise<DateRange[]> {
      const unit = await requireUnit(db, unitId);
      await db.transaction(async (tx) => {
        for (const update of updates) {
          const available = update.available ?? null;
          const price = update.price?.value ?? null;
          const currency = update.price?.currency ?? null;
          const minNights = update.minNights ?? null;
          const cta = update.closedToArrival ?? null;
          const closed = update.closed ?? null;
          const ctd = update.closedToDeparture ?? null;
          // undefined keeps the night's value, null clears it: two parameters say which.
          const setThrough = update.minStayThrough !== undefined;
          const through = update.minStayThrough ?? null;
          const setMaxStay = update.maxStay !== undefined;
          const maxStay = update.maxStay ?? null;
          await tx.execute(sql`
            insert into calendar_days as c (unit_id, date, allotment, booked, price, currency, min_nights, min_stay_through, max_stay, closed_to_arrival, closed_to_departure, closed, updated_at)
            select ${unitId}, d::date, least(coalesce(${available}::int, 0), ${unit.count}::int), 0,
                   ${price}::bigint, ${currency}::text, coalesce(${minNights}::int, 1), ${through}::int, ${maxStay}::int,
                   coalesce(${cta}::boolean, false), coalesce(${ctd}::boolean, false), coalesce(${closed}::boolean, false), now()
            from generate_series(${update.from}::date, ${update.to}::date, interval '1 day') as d
            on conflict (unit_id, date) do update set
              allotment = case when ${available}::int is null then c.allotment else least(c.booked + ${available}::int, greatest(${unit.count}::int, c.booked)) end,
              price = coalesce(${price}::bigint, c.price),
              currency = coalesce(${currency}::text, c.currency),
              min_nights = coalesce(${minNights}::int, c.min_nights),
              min_stay_through = case when ${setThrough}::boolean then ${through}::int else c.min_stay_through end,
              max_stay = case when ${setMaxStay}::boolean then ${maxStay}::int else c.max_stay end,
              closed_to_arrival = coalesce(${cta}::boolean, c.closed_to_arrival),
              closed_to_departure = coalesce(${ctd}::boolean, c.closed_to_departure),
              closed = coalesce(${closed}::boolean, c.closed),
              updated_at = now()
          `);
        }
      });
      return updates.map((update) => ({ from: update.from, to: update.to }));
    },

    /** What each night should look like on every channel (nights without a calendar row are left out). */
    async desiredDays(unitId: string, ranges: readonly DateRange[]): Promise<ChannelDay[]> {
      if (ranges.length === 0) return [];
      const rows = await db
        .select()
        .from(calendarDays)
        .where(sql`${calendarDays.unitId} = ${unitId} and (${sql.join(ranges.map((range) => sql`(${calendarDays.date} between ${range.from} and ${range.to})`), sql` or `)})`)
        .orderBy(asc(calendarDays.date));
      return rows.map(toChannelDay);
    },

    /** The calendar with, per night, what each channel was last told. */
    async readCalendar(unitId: string, range: DateRange) {
      await requireUnit(db, unitId);
      const [rows, told] = await Promise.all([
        db.select().from(calendarDays).where(calendarNights(unitId, range)).orderBy(asc(calendarDays.date)),
        db
          .select()
          .from(channelCalendarState)
          .where(and(eq(channelCalendarState.unitId, unitId), gte(channelCalendarState.date, range.from), lte(channelCalendarState.date, range.to))),
      ]);
      const byDate = new Map(rows.map((row) => [row.date, row]));
      return eachDate(range).map((date) => {
        const row = byDate.get(date);
        const day = row ? toChannelDay(row) : undefined;
        const channels: Record<string, ChannelDay & { pushedAt: string; inSync: boolean }> = {};
        for (const state of told.filter((entry) => entry.date === date)) {
          const toldDay = channelDayOfState(state);
          channels[state.channel] = { ...toldDay, pushedAt: state.pushedAt.toISOString(), inSync: day ? sameChannelDay(day, toldDay) : false };
        }
        return { date, row, day, channels };
      });
    },
  };
}

export type CalendarStore = ReturnType<typeof createCalendarStore>;
