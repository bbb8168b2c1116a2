// The console's calendar grid: a property's units × nights in a handful of queries whatever the number
// of units — the nights, what each channel was last told of them, the units' mappings, and the
// reservations and holds across the range.
import { and, asc, gt, gte, inArray, lt, lte } from 'drizzle-orm';
import type { Database } from '../db/client';
import { calendarDays, channelCalendarState, channelMappings, channelPushFailures, reservations } from '../db/schema';
import { toChannelDay } from './calendar';
import { channelDayOfState, sameChannelDay } from './channel-state';

export interface GridRange {
  /** First night (inclusive), ISO date. */
  from: string;
  /** Last night (inclusive), ISO date. */
  to: string;
}

export type ChannelNightState = 'in_sync' | 'pending' | 'failed' | 'stale';

/**
 * A night a channel has not been told of this long after it changed is stale: its sync should have
 * pushed it (a coalesced push goes out within seconds), so something is stuck or failing.
 */
export const STALE_AFTER_MS = 10 * 60_000;

function nextDay(date: string): string {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

function eachNight(range: GridRange): string[] {
  const nights: string[] = [];
  for (let night = range.from; night <= range.to; night = nextDay(night)) nights.push(night);
  return nights;
}

export async function readPropertyGrid(db: Database, unitIds: readonly string[], range: GridRange) {
  if (unitIds.length === 0) return new Map<string, never>();
  const ids = [...unitIds];
  const [days, told, mappings, stays, failures] = await Promise.all([
    db.select().from(calendarDays).where(and(inArray(calendarDays.unitId, ids), gte(calendarDays.date, range.from), lte(calendarDays.date, range.to))),
    db
      .select()
      .from(channelCalendarState)
      .where(and(inArray(channelCalendarState.unitId, ids), gte(channelCalendarState.date, range.from), lte(channelCalendarState.date, range.to))),
    db.select({ unitId: channelMappings.unitId, channel: channelMappings.channel }).from(channelMappings).where(inArray(channelMappings.unitId, ids)),
    db
      .select({
        id: reservations.id,
        unitId: reservations.unitId,
        channel: reservations.channel,
        status: reservations.status,
        checkIn: reservations.checkIn,
        checkOut: reservations.checkOut,
        rooms: reservations.rooms,
        guestName: reservations.guestName,
        holdExpiresAt: reservations.holdExpiresAt,
      })
      .from(reservations)
      .where(and(inArray(reservations.unitId, ids), lt(reservations.checkIn, nextDay(range.to)), gt(reservations.checkOut, range.from)))
      .orderBy(asc(reservations.checkIn)),
    db
      .select({ unitId: channelPushFailures.unitId, channel: channelPushFailures.channel, date: channelPushFailures.date })
      .from(channelPushFailures)
      .where(and(inArray(channelPushFailures.unitId, ids), gte(channelPushFailures.date, range.from), lte(channelPushFailures.date, range.to))),
  ]);
  const nights = eachNight(range);
  const now = Date.now();
  const dayOf = new Map(days.map((row) => [`${row.unitId}|${row.date}`, row]));
  const toldOf = new Map(told.map((row) => [`${row.unitId}|${row.channel}|${row.date}`, row]));
  const failed = new Set(failures.map((row) => `${row.unitId}|${row.channel}|${row.date}`));
  return new Map(
    ids.map((unitId) => {
      const channels = [...new Set(mappings.filter((mapping) => mapping.unitId === unitId).map((mapping) => mapping.channel))].sort();
      return [
        unitId,
        {
          channels,
          nights: nights.map((date) => {
            const row = dayOf.get(`${unitId}|${date}`);
            const wanted = row ? toChannelDay(row) : undefined;
            // A mapped channel not yet told of the night, or told something else, is pending.
            const states = channels.map((channel) => {
              const state = toldOf.get(`${unitId}|${channel}|${date}`);
              const inSync = Boolean(state && wanted && sameChannelDay(wanted, channelDayOfState(state)));
              const stale = !inSync && row !== undefined && now - row.updatedAt.getTime() > STALE_AFTER_MS;
              // A failed push says more than its age: the channel refused or never answered it.
              const verdict: ChannelNightState = inSync ? 'in_sync' : failed.has(`${unitId}|${channel}|${date}`) ? 'failed' : stale ? 'stale' : 'pending';
              return [channel, { state: verdict, pushedAt: state?.pushedAt.toISOString() ?? null }] as const;
            });
            return { date, row, channels: Object.fromEntries(states) };
          }),
          reservations: stays.filter((stay) => stay.unitId === unitId).map(({ unitId: _unit, ...stay }) => ({ ...stay, holdExpiresAt: stay.holdExpiresAt?.toISOString() ?? null })),
        },
      ];
    }),
  );
}
