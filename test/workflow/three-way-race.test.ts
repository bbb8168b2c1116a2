// The last unit sold three times at nearly the same moment: a guest books it on an OTA Channex
// connects (the revision feed, pulled), an Airbnb guest books it and Airbnb's iCal export is imported,
// and a guest books it directly. All three go through the one inventory transaction: exactly one
// reservation stands, each channel that sold it too gets an overbooking event with its reason, a
// direct booking that lost is refused with its reason (nothing was sold elsewhere), and the
// calendar's booked count is the one reservation's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray } from 'drizzle-orm';
import { eventually } from '../support/harness';
import { bookingComBases, seedUnit, startBookingHarness, type BookingHarness } from '../support/booking-harness';
import { channexGuestBooking, createChannexProperty, mapUnitToChannex } from '../support/channex';
import { overbookingEvents, reservations } from '../../db/schema';
import { createBookingComClient } from '../../providers/booking-com/client';
import { createChannexClient } from '../../providers/channex/client';
import { createIcalChannelClient } from '../../providers/ical/channel';
import { localDate } from '../../providers/ical/parse';
import { addDays } from '../../domain/dates';
import { createIcalClient } from '../../client/ical';
import { channelAccountKey } from '../../api/routes/channels';
import { reservationPollWorkflowId } from '../../domain/workflow-ids';
import { pollNowSignal } from '../../workflows/bookings/messages';
import { CHANNEX_DEVELOPMENT_ACCOUNT } from '../../sandbox/channex/sandbox';

let h: BookingHarness;
let channexPoll: string;

beforeAll(async () => {
  const credentials = { username: `machine-${Date.now()}`, password: 'sandbox-password' };
  h = await startBookingHarness({
    bookingComCredentials: credentials,
    syncTiming: { quietMs: 200, maxDelayMs: 1_000 },
    reservationTiming: { idleCloseMs: 1_000 },
    channels: (url) => [
      createBookingComClient({ ...bookingComBases(url), ...credentials }),
      createChannexClient({ apiBase: `${url}/channex`, apiKey: CHANNEX_DEVELOPMENT_ACCOUNT.apiKey, requestsPerWindow: 10, rateWindowSeconds: 60 }),
      createIcalChannelClient(),
    ],
  });
  const account = channelAccountKey('channex', h.taskQueue);
  channexPoll = reservationPollWorkflowId('channex', account);
  await h.bookings.ensureReservationPoll('channex', account, 60_000);
});
afterAll(async () => h?.close());

async function airbnb<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${h.sandboxUrl}/airbnb${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`Airbnb sandbox ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

describe('three channels sell the last unit at once', () => {
  it('keeps exactly one reservation; the channels that lost get overbooking events with their reasons; the inventory stays consistent', async () => {
    const from = addDays(localDate(Date.now(), 'Europe/Stockholm'), 40);
    const seed = await seedUnit(h, { from, nights: 5, count: 1 });
    const property = await createChannexProperty(h.sandboxUrl, { rooms: 1, count: 1 });
    await mapUnitToChannex(h.inventory, seed.unitId, property);
    const checkIn = addDays(from, 2);
    const checkOut = addDays(from, 3);

    // Airbnb, synced by iCal only: a listing whose export Skerry will import.
    const listingId = `race-listing-${Date.now()}`;
    const listing = await airbnb<{ exportUrl: string }>(`/_control/listings/${listingId}`, { hostId: 'race-host', from, to: addDays(from, 4), availableCount: 1 });

    // All three at once. Each OTA's guest books on the OTA (which still shows the night), and Skerry hears of it
    // through that channel's own path: Channex's revision feed pulled, Airbnb's iCal export imported.
    const ical = createIcalClient({ temporal: h.temporal, taskQueue: h.taskQueue });
    const [direct] = await Promise.all([
      h.bookings.createBooking({ unitId: seed.unitId, checkIn, checkOut, guest: { name: 'Dana Direct' } }).then(
        (result) => ({ status: result.booking.status, reason: result.booking.reason, id: result.booking.reservationId }),
        (err: Error & { booking?: { status: string; reason?: string; reservationId: string } }) => ({
          status: err.booking?.status ?? 'error',
          reason: err.booking?.reason ?? err.message,
          id: err.booking?.reservationId,
        }),
      ),
      (async () => {
        await channexGuestBooking(h.sandboxUrl, { property, arrivalDate: checkIn, departureDate: checkOut, otaName: 'Expedia', guestName: 'Chris Channex', force: true });
        await h.temporal.workflow.getHandle(channexPoll).signal(pollNowSignal);
      })(),
      (async () => {
        await airbnb(`/_control/reservations`, { listingId, checkIn, checkOut, guestName: 'Alex Airbnb' });
        const feed = await h.ical.feeds.createImportFeed({ unitId: seed.unitId, channel: 'airbnb', url: listing.exportUrl, intervalMs: 60_000, graceMs: 60_000, staleAfterMs: 600_000, staleBufferDays: 0 });
        await ical.ensureImportPoll(feed);
      })(),
    ]);

    // Wait until each channel's message was decided: a reservation row per channel (held, confirmed, rejected or overbooked).
    const rows = await eventually(
      async () => {
        const all = await h.database.db.select().from(reservations).where(eq(reservations.unitId, seed.unitId));
        const byChannel = new Set(all.map((row) => row.channel));
        return byChannel.has('channex') && byChannel.has('ical') && (direct.status !== 'error' || all.length >= 2) ? all : undefined;
      },
      { what: 'the Channex and iCal reservations decided', timeoutMs: 45_000 },
    );
    const standing = rows.filter((row) => row.status === 'held' || row.status === 'confirmed');
    expect(standing, JSON.stringify(rows.map((row) => [row.channel, row.status, row.reason]))).toHaveLength(1);
    const winner = standing[0]!;

    // Every channel that sold the night and lost has an overbooking event, with its reason.
    const losers = rows.filter((row) => row.id !== winner.id && row.channel !== 'direct');
    const events = await eventually(
      async () => {
        const found = await h.database.db
          .select()
          .from(overbookingEvents)
          .where(and(eq(overbookingEvents.unitId, seed.unitId), inArray(overbookingEvents.channel, ['channex', 'ical'])));
        return found.length >= losers.length ? found : undefined;
      },
      { what: 'an overbooking event per losing channel' },
    );
    expect(new Set(events.map((event) => event.channel))).toEqual(new Set(losers.map((row) => row.channel)));
    for (const event of events) {
      expect(event.reason).toMatch(new RegExp(`not available on ${checkIn} \\(0 left\\)|no availability left`));
      expect(event).toMatchObject({ checkIn, checkOut, rooms: 1 });
    }
    // A direct booking that lost was refused at once, with the reason; it sold nothing, so it is no overbooking.
    if (winner.channel !== 'direct') {
      expect(direct.status).toMatch(/refused|rejected|released/);
      expect(direct.reason).toMatch(/not available|no availability/);
    } else {
      expect(direct.status).toBe('confirmed');
    }

    // Consistent inventory: the night's booked count is exactly the one reservation's rooms; the nights around it are free.
    const days = await h.inventory.calendar.readCalendar(seed.unitId, { from, to: addDays(from, 4) });
    expect(days.map((day) => day.row?.booked)).toEqual([0, 0, 1, 0, 0]);
    expect(days.every((day) => day.row!.booked <= day.row!.allotment)).toBe(true);
    // GET /overbookings lists them (the store behind it).
    const listed = await h.inventory.overbookings.listOverbookings({ unitId: seed.unitId });
    expect(listed.map((event) => event.channel).sort()).toEqual(events.map((event) => event.channel).sort());
  });
});
