// The Booking.com sandbox over HTTP: machine-account auth, OTA errors for malformed requests, the
// reservation queues' acknowledgement rules, and a push that resumes after the requests it already sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { createBookingComClient } from '../../providers/booking-com/client';
import { OTA_NAMESPACE, parseReservationQueue, parseResponse } from '../../providers/booking-com/ota';
import type { ChannelDay, ChannelMapping } from '../../workflows/bookings/messages';

const credentials = { username: 'machine-unit', password: 'secret-unit' };
let app: Awaited<ReturnType<typeof buildSandbox>>;
let base: string;
beforeAll(async () => {
  app = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, bookingCom: credentials });
  base = `${await app.listen({ host: '127.0.0.1', port: 0 })}/booking-com`;
});
afterAll(async () => app?.close());

const auth = (user = credentials.username, password = credentials.password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const mapping: ChannelMapping = { mappingId: 'm', unitId: 'u', channel: 'booking_com', externalAccountId: '7000001', externalListingId: '700000101', externalRateId: '70000019' };
const night = (date: string, price: number): ChannelDay => ({ date, available: 3, price, currency: 'EUR', minNights: 2, closedToArrival: false, closed: false });

describe('Booking.com sandbox', () => {
  it('answers a wrong machine account with 401 and an OTA error', async () => {
    const response = await fetch(`${base}/hotels/ota/OTA_HotelResNotif`, { headers: { authorization: auth('machine-unit', 'wrong') } });
    expect(response.status).toBe(401);
    const body = parseResponse(await response.text(), 'OTA_ErrorRS');
    expect(body.errors[0]).toMatchObject({ type: '4', code: '497' });
  });

  it('refuses a malformed request with 400 and Errors naming the problem', async () => {
    const response = await fetch(`${base}/hotels/ota/OTA_HotelAvailNotif`, {
      method: 'POST',
      headers: { authorization: auth(), 'content-type': 'text/xml' },
      body: `<OTA_HotelAvailNotifRQ xmlns="${OTA_NAMESPACE}"><AvailStatusMessages><AvailStatusMessage/></AvailStatusMessages></OTA_HotelAvailNotifRQ>`,
    });
    expect(response.status).toBe(400);
    expect(parseResponse(await response.text(), 'OTA_HotelAvailNotifRS').errors[0]!.text).toMatch(/HotelCode is required/);
  });

  it('resumes a push after the requests an earlier attempt already sent', async () => {
    const client = createBookingComClient({ apiBase: base, ...credentials });
    const days = [night('2027-08-01', 10_000), night('2027-08-02', 12_000)];
    const sandbox = sandboxHandles(app).bookingCom;
    const before = { ...sandbox.counts };
    const done: number[] = [];
    // The availability request went through before the worker died; only the rates are left.
    const result = await client.pushCalendar(mapping, days, { skipRequests: 1, onRequest: (n) => done.push(n) });
    expect(result.requests).toBe(1);
    expect(done).toEqual([2]);
    expect(sandbox.counts.availRequests - before.availRequests).toBe(0);
    expect(sandbox.counts.rateRequests - before.rateRequests).toBe(1);
    expect(sandbox.calendar('7000001', '700000101', '70000019', '2027-08-01', '2027-08-02').map((day) => day.price)).toEqual([10_000, 12_000]);
  });

  it('keeps a message queued until the version handed out is acknowledged', async () => {
    const sandbox = sandboxHandles(app).bookingCom;
    const client = createBookingComClient({ apiBase: base, ...credentials });
    await client.pushCalendar(mapping, [night('2027-09-01', 9_000), night('2027-09-02', 9_000)], { skipRequests: 0, onRequest: () => {} });
    const guest = sandbox.book({ hotelId: '7000001', roomId: '700000101', rateId: '70000019', checkIn: '2027-09-01', checkOut: '2027-09-02' });
    const pulled = (await client.pullReservations!()).filter((event) => event.channelReservationId === guest.resId);
    expect(pulled).toHaveLength(1);
    expect(pulled[0]).toMatchObject({ kind: 'new', rooms: 1, total: { value: 9_000, currency: 'EUR' } });
    // Pulled again (not acknowledged yet): the same message, the same id.
    const again = (await client.pullReservations!()).filter((event) => event.channelReservationId === guest.resId);
    expect(again[0]!.ack).toEqual(pulled[0]!.ack);
    await client.confirmReservation(pulled[0]!);
    expect(sandbox.queueState().new.some((entry) => entry.resId === guest.resId)).toBe(false);

    // A modification arriving after the pull is not covered by an acknowledgement of the older one.
    sandbox.modify(guest.resId, { checkOut: '2027-09-03' });
    const [modified] = (await client.pullReservations!()).filter((event) => event.channelReservationId === guest.resId);
    sandbox.cancel(guest.resId);
    await client.confirmReservation(modified!);
    expect(sandbox.queueState().modify.some((entry) => entry.resId === guest.resId)).toBe(true);
    const response = await fetch(`${base}/hotels/ota/OTA_HotelResModifyNotif`, { headers: { authorization: auth() } });
    const queue = parseReservationQueue(await response.text());
    expect(queue.reservations.find((reservation) => reservation.resId === guest.resId)?.status).toBe('Cancel');
  });

  it('announces each applied push per room and each reservation the first time it is fetched', async () => {
    const sandbox = sandboxHandles(app).bookingCom;
    const client = createBookingComClient({ apiBase: base, ...credentials });
    const pushes: Array<{ listing: string; dates: readonly string[] }> = [];
    const fetched: string[] = [];
    const onPush = (event: { listing: string; dates: readonly string[] }) => pushes.push(event);
    const onFetch = (event: { reservationId: string }) => fetched.push(event.reservationId);
    sandbox.events.on('calendar', onPush);
    sandbox.events.on('retrieved', onFetch);
    try {
      await client.pushCalendar(mapping, [night('2027-10-01', 9_000), night('2027-10-02', 9_500)], { skipRequests: 0, onRequest: () => {} });
      // One availability and one rate request, each announced once for the room with both nights.
      expect(pushes).toEqual([
        { listing: '7000001/700000101', dates: ['2027-10-01', '2027-10-02'], atMs: expect.any(Number) },
        { listing: '7000001/700000101', dates: ['2027-10-01', '2027-10-02'], atMs: expect.any(Number) },
      ]);
      const guest = sandbox.book({ hotelId: '7000001', roomId: '700000101', rateId: '70000019', checkIn: '2027-10-01', checkOut: '2027-10-02' });
      await client.pullReservations!();
      await client.pullReservations!();
      expect(fetched.filter((id) => id === guest.resId)).toEqual([guest.resId]);
    } finally {
      sandbox.events.off('calendar', onPush);
      sandbox.events.off('retrieved', onFetch);
    }
  });

  it('shows the channel calendar and the shared fault controls under /_control', async () => {
    const calendar = (await (await fetch(`${base}/_control/calendar/7000001/700000101?rateId=70000019&from=2027-08-01&to=2027-08-02`)).json()) as { days: unknown[] };
    expect(calendar.days).toHaveLength(2);
    const faults = await fetch(`${base}/_control/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rateLimitRate: 1, retryAfterSeconds: 7 }) });
    expect(faults.status).toBe(200);
    const limited = await fetch(`${base}/hotels/ota/OTA_HotelResNotif`, { headers: { authorization: auth() } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    await fetch(`${base}/_control/faults`, { method: 'DELETE' });
  });
});
