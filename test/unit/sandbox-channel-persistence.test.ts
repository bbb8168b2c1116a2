// The channel sandboxes remember, as Booking.com and Airbnb do: rebuilt on the same data directory,
// the Booking.com sandbox still has its calendars, reservations and queues (a message acknowledged
// with <Errors> still queued, then e-mailed at the timeout), and the Airbnb sandbox its hosts' OAuth
// grants, calendars and reservations. Driven through the production Booking.com client over HTTP.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { BOOKING_COM_SANDBOX_HOSTS } from '../../sandbox/booking-com/sandbox';
import { FALLBACK_AFTER_MS } from '../../sandbox/booking-com/queues';
import { AIRBNB_DEVELOPMENT_APP } from '../../sandbox/airbnb/sandbox';
import { createBookingComClient } from '../../providers/booking-com/client';
import type { ChannelDay, ChannelMapping } from '../../domain/bookings';

const credentials = { username: 'machine-persist', password: 'persist-secret' };
const mapping: ChannelMapping = { mappingId: 'm', unitId: 'u', channel: 'booking_com', externalAccountId: '8011855', externalListingId: '801185501', externalRateId: '8011855901' };
const night = (date: string): ChannelDay => ({ date, available: 2, price: 95_000, currency: 'SEK', minNights: 1, closedToArrival: false, closed: false });

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'skerry-channel-sandbox-persistence-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** The sandbox's clock, moved by the test (Booking.com's fallback is 30 minutes away). */
let nowMs = Date.parse('2027-03-01T10:00:00Z');

async function startOn(dataDir: string) {
  const app = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, bookingCom: { ...credentials, now: () => nowMs }, dataDir });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const bookingCom = createBookingComClient({
    apiBase: `${base}/booking-com${BOOKING_COM_SANDBOX_HOSTS.supply}`,
    secureApiBase: `${base}/booking-com${BOOKING_COM_SANDBOX_HOSTS.secure}`,
    ...credentials,
  });
  return { app, base, handles: sandboxHandles(app), bookingCom };
}

describe('channel sandboxes remember across restarts', () => {
  it('Booking.com: calendars, reservations and the queue survive; an error-acknowledged message stays queued, then goes out by e-mail', async () => {
    const dataDir = join(root, 'booking-com');
    const first = await startOn(dataDir);
    await first.bookingCom.pushCalendar(mapping, [night('2027-04-01'), night('2027-04-02'), night('2027-04-03')], { skipRequests: 0, onRequest: () => undefined });
    const kept = first.handles.bookingCom.book({ hotelId: mapping.externalAccountId, roomId: mapping.externalListingId, rateId: mapping.externalRateId, checkIn: '2027-04-01', checkOut: '2027-04-03', guestName: 'Kept Queued' });
    const done = first.handles.bookingCom.book({ hotelId: mapping.externalAccountId, roomId: mapping.externalListingId, rateId: mapping.externalRateId, checkIn: '2027-04-02', checkOut: '2027-04-03', guestName: 'Processed' });
    const pulled = await first.bookingCom.pullReservations!();
    const pulledOf = (resId: string) => pulled.find((event) => event.channelReservationId === resId)!;
    await first.bookingCom.confirmReservation(pulledOf(done.resId));
    // An acknowledgement with <Errors> is "unsuccessfully processed": not a rejection.
    await first.bookingCom.rejectReservation(pulledOf(kept.resId), { code: 'sold_out', reason: 'no room left' });
    expect(first.handles.bookingCom.reservation(kept.resId).state).toBe('booked');
    await first.app.close();
    expect((await readdir(dataDir)).filter((file) => file.startsWith('booking-com'))).toEqual(['booking-com.json']);

    const second = await startOn(dataDir);
    try {
      const sandbox = second.handles.bookingCom;
      expect(sandbox.calendar(mapping.externalAccountId, mapping.externalListingId, mapping.externalRateId, '2027-04-01', '2027-04-03').map((day) => [day.roomsToSell, day.price])).toEqual([
        [1, 95_000],
        [0, 95_000],
        [2, 95_000],
      ]);
      expect(sandbox.reservation(kept.resId)).toMatchObject({ state: 'booked', guestName: 'Kept Queued', acknowledgements: [expect.objectContaining({ outcome: 'failed', code: '322' })] });
      expect(sandbox.reservation(done.resId).acknowledgements).toEqual([expect.objectContaining({ outcome: 'processed' })]);
      expect(sandbox.queueState().new).toEqual([expect.objectContaining({ resId: kept.resId, failedAcks: 1 })]);
      expect((await second.bookingCom.pullReservations!()).map((event) => event.channelReservationId)).toEqual([kept.resId]);

      // Past the documented timeout without a successful acknowledgement: e-mailed to the property, gone from the queue, the reservation standing.
      nowMs += FALLBACK_AFTER_MS;
      const { emails } = (await (await fetch(`${second.base}/booking-com/_control/emails`)).json()) as { emails: Array<Record<string, unknown>> };
      expect(emails).toEqual([expect.objectContaining({ queue: 'new', resId: kept.resId, hotelId: mapping.externalAccountId, reason: 'acknowledged unsuccessfully (322 no room left)' })]);
      expect(await second.bookingCom.pullReservations!()).toEqual([]);
      expect(sandbox.reservation(kept.resId).state).toBe('booked');
    } finally {
      await second.app.close();
    }
    const third = await startOn(dataDir);
    try {
      expect(third.handles.bookingCom.emails()).toHaveLength(1);
    } finally {
      await third.app.close();
    }
  });

  it('Booking.com: a message never acknowledged is e-mailed at the timeout, not a moment before', async () => {
    const first = await startOn(join(root, 'booking-com-timeout'));
    try {
      await first.bookingCom.pushCalendar(mapping, [night('2027-05-01')], { skipRequests: 0, onRequest: () => undefined });
      const silent = first.handles.bookingCom.book({ hotelId: mapping.externalAccountId, roomId: mapping.externalListingId, checkIn: '2027-05-01', checkOut: '2027-05-02' });
      nowMs += FALLBACK_AFTER_MS - 1;
      expect(first.handles.bookingCom.emails()).toEqual([]);
      nowMs += 1;
      expect(first.handles.bookingCom.emails()).toEqual([expect.objectContaining({ resId: silent.resId, reason: 'not acknowledged within the timeout' })]);
    } finally {
      await first.app.close();
    }
  });

  it('Airbnb: a host’s OAuth grant, its calendar and its reservations survive', async () => {
    const dataDir = join(root, 'airbnb');
    const first = await startOn(dataDir);
    const airbnb = first.handles.airbnb;
    const { code, hostId } = airbnb.authorize({ clientId: AIRBNB_DEVELOPMENT_APP.clientId, redirectUri: 'https://skerry.example/cb', hostId: '424242' });
    const grant = airbnb.token({ grant_type: 'authorization_code', code, redirect_uri: 'https://skerry.example/cb', client_id: AIRBNB_DEVELOPMENT_APP.clientId, client_secret: AIRBNB_DEVELOPMENT_APP.clientSecret });
    airbnb.updateCalendar(hostId, 'listing-9', [{ dates: ['2027-06-01:2027-06-03'], availability: 'available', available_count: 1, daily_price: 120_000, currency: 'SEK' }]);
    const guest = airbnb.book({ listingId: 'listing-9', checkIn: '2027-06-01', checkOut: '2027-06-02', guestName: 'Persisted Guest' });
    await first.app.close();

    const second = await startOn(dataDir);
    try {
      const after = second.handles.airbnb;
      expect(after.hostFor(`Bearer ${grant.access_token}`)).toBe(hostId);
      // The refresh token still rotates: used once it works, a second time it is refused.
      const refreshed = after.token({ grant_type: 'refresh_token', refresh_token: grant.refresh_token, client_id: AIRBNB_DEVELOPMENT_APP.clientId, client_secret: AIRBNB_DEVELOPMENT_APP.clientSecret });
      expect(refreshed.user_id).toBe(hostId);
      expect(() => after.token({ grant_type: 'refresh_token', refresh_token: grant.refresh_token, client_id: AIRBNB_DEVELOPMENT_APP.clientId, client_secret: AIRBNB_DEVELOPMENT_APP.clientSecret })).toThrow(/already used/);
      expect(after.calendar('listing-9', '2027-06-01', '2027-06-03', hostId).map((day) => [day.date, day.available_count, day.daily_price])).toEqual([
        ['2027-06-01', 0, 120_000],
        ['2027-06-02', 1, 120_000],
        ['2027-06-03', 1, 120_000],
      ]);
      expect(after.reservation(guest.confirmation_code)).toMatchObject({ status: 'accepted', start_date: '2027-06-01', guest: { first_name: 'Persisted', last_name: 'Guest' } });
    } finally {
      await second.app.close();
    }
  });

  it('Airbnb: an iCal-only listing, its export URL and its imported calendar with the nights it blocks survive', async () => {
    const dataDir = join(root, 'airbnb-ical');
    const first = await startOn(dataDir);
    // The calendar Airbnb imports: served by the first sandbox's own export of another listing.
    const source = await first.app.inject({ method: 'POST', url: '/airbnb/_control/listings/source-1', payload: { hostId: 'ical-host', from: '2027-07-01', to: '2027-07-10', availableCount: 1 } });
    expect(source.statusCode).toBe(201);
    first.handles.airbnb.book({ listingId: 'source-1', checkIn: '2027-07-02', checkOut: '2027-07-04', guestName: 'Imported Guest' });
    const listing = await first.app.inject({ method: 'POST', url: '/airbnb/_control/listings/ical-9', payload: { hostId: 'ical-host', from: '2027-07-01', to: '2027-07-10', availableCount: 1 } });
    const exportUrl = (listing.json() as { exportUrl: string }).exportUrl;
    const sourceUrl = `${first.base}/airbnb/calendar/ical/source-1.ics?s=${new URL((source.json() as { exportUrl: string }).exportUrl).searchParams.get('s')}`;
    expect((await first.app.inject({ method: 'PUT', url: '/airbnb/_control/listings/ical-9/ical/import', payload: { url: sourceUrl } })).statusCode).toBe(200);
    expect((await first.app.inject({ method: 'POST', url: '/airbnb/_control/listings/ical-9/ical/import/sync' })).json()).toMatchObject({ blockedNights: ['2027-07-02', '2027-07-03'] });
    await first.app.close();

    const second = await startOn(dataDir);
    try {
      const state = (await second.app.inject({ method: 'GET', url: '/airbnb/_control/listings/ical-9/ical' })).json() as { exportUrl: string; import: { url: string; blockedNights: string[] } };
      // The same secret: a channel that imports this listing's feed keeps working after the restart.
      expect(new URL(state.exportUrl).searchParams.get('s')).toBe(new URL(exportUrl).searchParams.get('s'));
      expect(state.import).toMatchObject({ url: sourceUrl, blockedNights: ['2027-07-02', '2027-07-03'] });
      expect(second.handles.airbnb.icalOnlyListings.has('ical-9')).toBe(true);
      expect(second.handles.airbnb.calendar('ical-9', '2027-07-02', '2027-07-02')[0]?.available_count).toBe(0);
    } finally {
      await second.app.close();
    }
  });
});
