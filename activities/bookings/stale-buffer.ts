// The safety buffer of a stale iCal import. While an OTA's feed has not been read for longer than its
// threshold, Skerry may not know of a booking that OTA took; a feed with `staleBufferDays` then closes
// that many nights from the property's today on every OTHER channel, and one with `staleKeepBackUnits`
// has them sell that many units fewer of every night from today (the last unit stays for the OTA
// that may have sold it) — the direct channels' pushes (Booking.com, Airbnb, Channex) as well as the
// other OTAs' iCal exports — until the first successful import. Which buffer applies is
// store/ical-feeds.ts's staleBuffer, the rule the iCal exports follow too.
import type { ChannelDay } from '../../domain/bookings';
import { addDays } from '../../domain/dates';
import { localDate } from '../../providers/ical/parse';
import { staleBuffer, type IcalFeedStore } from '../../store/ical-feeds';

export interface StaleBuffer {
  /** The first night closed (the property's today). */
  from: string;
  /** The first night open again (exclusive). */
  until: string;
  /** Units every night from `from` on sells fewer. */
  keepBackUnits: number;
}

/** The nights `channel` must not sell on this unit while another OTA's import is stale. */
export async function staleBufferFor(
  feeds: Pick<IcalFeedStore, 'listImportFeeds' | 'timeZoneOf'>,
  unitId: string,
  channel: string,
  nowMs: number,
): Promise<StaleBuffer | undefined> {
  const { days, keepBackUnits } = staleBuffer(await feeds.listImportFeeds(unitId), channel, nowMs);
  if (days === 0 && keepBackUnits === 0) return undefined;
  const today = localDate(nowMs, await feeds.timeZoneOf(unitId));
  return { from: today, until: addDays(today, days), keepBackUnits };
}

/**
 * The nights as the channel must be told them: inside the buffer, nothing to sell and stop-sell;
 * from today on, the kept-back units taken off what is left.
 */
export function withStaleBuffer(days: ChannelDay[], buffer: StaleBuffer | undefined): ChannelDay[] {
  if (!buffer) return days;
  return days.map((day) => {
    if (day.date < buffer.from) return day;
    if (day.date < buffer.until) return { ...day, available: 0, closed: true };
    return buffer.keepBackUnits > 0 ? { ...day, available: Math.max(0, day.available - buffer.keepBackUnits) } : day;
  });
}
