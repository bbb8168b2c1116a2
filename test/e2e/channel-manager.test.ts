// The channel manager through the HTTP API and the real wiring (`npm start`'s API, worker and
// sandboxes): inventory and calendar, Airbnb connected over OAuth, availability pushed to
// Booking.com (OTA XML) and Airbnb, reservations from both channels racing for the last unit,
// direct bookings paid with Stripe, and Airbnb webhooks through the durable inbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray } from 'drizzle-orm';
import { startStack, type Stack } from '../support/stack';
import { eventually, metricSample } from '../support/harness';
import { sandboxHandles } from '../../sandbox/server';
import { channelAccounts, overbookingEvents, reservations, webhookInbox } from '../../db/schema';
import { addDays } from '../../domain/dates';
import { channelReservationId } from '../../domain/bookings';
import { signAirbnbPayload } from '../../providers/airbnb/webhooks';
import { CHANNEL_SANDBOX_DEFAULTS } from '../../config';

let stack: Stack;
let handles: ReturnType<typeof sandboxHandles>;
beforeAll(async () => {
  stack = await startStack({
    env: {
      BOOKING_COM_POLL_INTERVAL_MS: '300',
      CHANNEL_SYNC_QUIET_MS: '150',
      CHANNEL_SYNC_MAX_DELAY_MS: '1000',
      RESERVATION_IDLE_CLOSE_MS: '3000',
      CHANNEL_RESYNC_HOUR: '4',
    },
  });
  handles = sandboxHandles(stack.sandbox);
});
afterAll(async () => stack?.close());

let offset = 0;
const nextStart = () => addDays('2027-11-01', (offset += 30));
let n = 0;
const unique = () => `${Date.now()}${++n}`;

async function ok(method: string, path: string, body?: unknown, status = 200) {
  const response = await stack.http(method, path, body);
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
  return response.body;
}

/** Connects a sandbox Airbnb host through Skerry's OAuth routes, as a browser would. */
async function connectAirbnbHost(hostId: string) {
  const start = await fetch(`${stack.apiUrl}/channels/airbnb/connect?hostHint=${hostId}`, { redirect: 'manual', headers: stack.authHeaders });
  expect(start.status).toBe(302);
  const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const callback = new URL(consent.headers.get('location')!);
  expect(callback.pathname).toBe('/channels/airbnb/oauth/callback');
  // Airbnb sends the host's browser to the public door, without the API key.
  expect(callback.origin).toBe(new URL(stack.publicUrl).origin);
  const connected = await fetch(`${stack.publicUrl}${callback.pathname}${callback.search}`);
  expect(connected.status).toBe(200);
  return (await connected.json()) as { hostId: string; connected: boolean };
}

/** A property with one unit of `count`, mapped to Booking.com and Airbnb, its calendar open. */
async function setUp(options: { count: number; from: string; nights: number; price?: number }) {
  const property = await ok('POST', '/properties', { name: `Archipelago ${unique()}`, currency: 'sek' }, 201);
  expect(property.currency).toBe('SEK');
  const unit = await ok('POST', `/properties/${property.id}/units`, { name: 'Sea cabin', count: options.count }, 201);
  const hotelId = String(2_000_000 + (Date.now() % 1_000_000) + n);
  const hostId = `host${unique()}`;
  const listingId = `listing${unique()}`;
  expect((await connectAirbnbHost(hostId)).connected).toBe(true);
  await ok('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: `${hotelId}01`, externalRateId: `${hotelId}9` }, 201);
  await ok('POST', `/units/${unit.id}/mappings`, { channel: 'airbnb', externalAccountId: hostId, externalListingId: listingId }, 201);
  const to = addDays(options.from, options.nights - 1);
  const put = await ok('PUT', `/units/${unit.id}/calendar`, {
    ranges: [{ from: options.from, to, available: options.count, price: { value: options.price ?? 120_000, currency: 'SEK' }, minNights: 1 }],
  });
  expect(put).toMatchObject({ nights: options.nights, channelsNotified: expect.arrayContaining(['booking_com', 'airbnb']) });
  await eventually(async () => {
    const calendar = await ok('GET', `/units/${unit.id}/calendar?from=${options.from}&to=${to}`);
    return calendar.days.every((day: { channels: Record<string, { inSync: boolean }> }) => day.channels.booking_com?.inSync && day.channels.airbnb?.inSync);
  }, { what: 'both channels told the calendar' });
  return { property, unit, unitId: unit.id as string, hotelId, roomId: `${hotelId}01`, rateId: `${hotelId}9`, hostId, listingId, to };
}

const activeReservations = (unitId: string) =>
  stack.database.db
    .select()
    .from(reservations)
    .where(and(eq(reservations.unitId, unitId), inArray(reservations.status, ['held', 'confirmed'])));

describe('channel manager through the API', () => {
  it('pushes a unit’s calendar to Booking.com and Airbnb and shows per night what each was told', async () => {
    const from = nextStart();
    const setup = await setUp({ count: 2, from, nights: 5, price: 99_500 });
    const calendar = await ok('GET', `/units/${setup.unitId}/calendar?from=${from}&to=${addDays(from, 5)}`);
    expect(calendar.days).toHaveLength(6);
    expect(calendar.days[0]).toMatchObject({
      date: from,
      open: true,
      available: 2,
      booked: 0,
      price: { value: 99_500, currency: 'SEK' },
      channels: {
        booking_com: { available: 2, price: 99_500, currency: 'SEK', minNights: 1, closed: false, inSync: true },
        airbnb: { available: 2, price: 99_500, inSync: true },
      },
    });
    expect(calendar.days[5]).toMatchObject({ open: false, available: 0, channels: {} });
    expect(handles.bookingCom.calendar(setup.hotelId, setup.roomId, setup.rateId, from, from)[0]).toMatchObject({ roomsToSell: 2, price: 99_500, currency: 'SEK', minimumStay: 1 });
    expect(handles.airbnb.calendar(setup.listingId, from, from)[0]).toMatchObject({ availability: 'available', available_count: 2, daily_price: 995, currency: 'SEK' });

    // A stop sell reaches both channels.
    await ok('PUT', `/units/${setup.unitId}/calendar`, { ranges: [{ from: addDays(from, 1), to: addDays(from, 1), closed: true }] });
    await eventually(() => handles.airbnb.calendar(setup.listingId, addDays(from, 1), addDays(from, 1))[0]?.availability === 'unavailable', { what: 'stop sell on Airbnb' });
    await eventually(() => handles.bookingCom.calendar(setup.hotelId, setup.roomId, setup.rateId, addDays(from, 1), addDays(from, 1))[0]?.closed === true, { what: 'stop sell on Booking.com' });

    // Channel calls are counted and timed with the payment providers' calls, so the same alerts cover them.
    // The opening push and the stop sell: the sandbox shows a push before the activity has returned.
    const pushes = (metrics: string, name: string, channel: string) => metricSample(metrics, name, { provider: channel, operation: 'pushCalendar', outcome: 'ok' }) ?? 0;
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${stack.apiUrl}/metrics`, { headers: stack.authHeaders })).text();
      return ['booking_com', 'airbnb'].every((channel) => pushes(text, 'skerry_provider_calls_total', channel) >= 2) ? text : undefined;
    }, { what: 'both channels’ pushes counted' });
    for (const channel of ['booking_com', 'airbnb']) expect(pushes(metrics, 'skerry_provider_call_duration_seconds_count', channel), channel).toBeGreaterThanOrEqual(2);

    // Airbnb's tokens are at rest encrypted, never in the clear.
    const [account] = await stack.database.db.select().from(channelAccounts).where(eq(channelAccounts.externalAccountId, setup.hostId));
    expect(account!.accessTokenEnc).toMatch(/^v2:[0-9a-f]{12}:/); // sealed with a key id (security/sealing.ts)
    expect(account!.accessTokenEnc).not.toMatch(/at_/);
    const accounts = await ok('GET', '/channels/airbnb/accounts');
    expect(JSON.stringify(accounts)).not.toMatch(/Enc|at_|rt_/);
  });

  it('answers 400 naming the field for bad calendar edits', async () => {
    const property = await ok('POST', '/properties', { name: 'Validation camp', currency: 'SEK' }, 201);
    const unit = await ok('POST', `/properties/${property.id}/units`, { name: 'Tent pitch', count: 3 }, 201);
    const bad = async (range: Record<string, unknown>) => {
      const response = await stack.http('PUT', `/units/${unit.id}/calendar`, { ranges: [range] });
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      return response.body.fields.map((field: { path: string }) => field.path);
    };
    expect(await bad({ from: '2027-02-30', to: '2027-03-02', available: 1 })).toContain('body.ranges.0.from');
    expect(await bad({ from: '2027-03-05', to: '2027-03-02', available: 1 })).toContain('body.ranges.0.to');
    expect(await bad({ from: '2027-03-01', to: '2027-03-02', available: 4 })).toEqual(['body.ranges.0.available']);
    expect(await bad({ from: '2027-03-01', to: '2027-03-02', price: { value: 100, currency: 'EUR' } })).toEqual(['body.ranges.0.price.currency']);
    expect(await bad({ from: '2027-03-01', to: '2027-03-02', price: { value: -1, currency: 'SEK' } })).toContain('body.ranges.0.price.value');
    expect(await bad({ from: '2027-03-01', to: '2027-03-02' })).toContain('body.ranges.0.available');
    expect(await bad({ from: '2027-03-01', to: '2027-03-02', minNights: 0 })).toContain('body.ranges.0.minNights');
    const unknownUnit = await stack.http('PUT', '/units/unit_aaaaaaaaaaaaaaaaaaaaaaaa/calendar', { ranges: [{ from: '2027-03-01', to: '2027-03-01', available: 1 }] });
    expect(unknownUnit.status).toBe(404);
    const badQuery = await stack.http('GET', `/units/${unit.id}/calendar?from=2027-03-02&to=2027-03-01`);
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.fields[0].path).toBe('querystring.to');
    const badBooking = await stack.http('POST', '/bookings', { unitId: unit.id, checkIn: '2027-03-02', checkOut: '2027-03-02', guest: { name: 'X' } });
    expect(badBooking.status).toBe(400);
    expect(badBooking.body.fields.map((field: { path: string }) => field.path)).toEqual(['body.checkOut']);

    // The routes are in the OpenAPI document.
    const docs = await ok('GET', '/docs/json');
    expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(['/units/{id}/calendar', '/bookings', '/bookings/{id}/cancel', '/channels/{channel}/resync']));
  });

  it('lets exactly one of two channels racing for the last unit keep it: Airbnb first, Booking.com overbooked (it stands there, for a person)', async () => {
    const from = nextStart();
    const setup = await setUp({ count: 1, from, nights: 4 });
    // Booking.com's guest books while Skerry cannot reach Booking.com (its queue is not pulled).
    handles.bookingCom.faults.set({ errorRate: 1 });
    let bookingComGuest;
    let airbnbGuest;
    try {
      bookingComGuest = handles.bookingCom.book({ hotelId: setup.hotelId, roomId: setup.roomId, rateId: setup.rateId, checkIn: addDays(from, 1), checkOut: addDays(from, 3), guestName: 'Booking Guest' });
      airbnbGuest = handles.airbnb.book({ listingId: setup.listingId, checkIn: addDays(from, 2), checkOut: addDays(from, 4), guestName: 'Airbnb Guest' });
      await eventually(async () => (await activeReservations(setup.unitId)).length === 1, { what: 'the Airbnb reservation held' });
    } finally {
      handles.bookingCom.faults.clear();
    }
    const loserId = channelReservationId('booking_com', bookingComGuest.resId);
    const loser = await eventually(async () => {
      const current = await stack.http('GET', `/bookings/${loserId}`);
      return current.body.status === 'overbooked' ? current.body : undefined;
    }, { timeoutMs: 30_000, what: 'the Booking.com reservation overbooked' });
    expect(loser).toMatchObject({ channel: 'booking_com', reason: `overbooking: not available on ${addDays(from, 2)} (0 left)` });
    // Booking.com keeps its guest's reservation: acknowledged as processed, never "rejected".
    await eventually(() => handles.bookingCom.reservation(bookingComGuest.resId).acknowledgements.length > 0, { what: 'the acknowledgement' });
    expect(handles.bookingCom.reservation(bookingComGuest.resId)).toMatchObject({ state: 'booked', acknowledgements: [expect.objectContaining({ outcome: 'processed' })] });
    const metrics = await (await fetch(`${stack.apiUrl}/metrics`, { headers: stack.authHeaders })).text();
    expect(metricSample(metrics, 'skerry_overbooked_reservations', { channel: 'booking_com' })).toBeGreaterThanOrEqual(1);

    const active = await activeReservations(setup.unitId);
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({ channel: 'airbnb', channelReservationId: airbnbGuest.confirmation_code, status: 'confirmed' });
    const calendar = await ok('GET', `/units/${setup.unitId}/calendar?from=${from}&to=${addDays(from, 3)}`);
    expect(calendar.days.map((day: { booked: number }) => day.booked)).toEqual([0, 0, 1, 1]);
    const overbookings = await ok('GET', `/overbookings?unitId=${setup.unitId}`);
    expect(overbookings.overbookings).toEqual([
      expect.objectContaining({ channel: 'booking_com', channelReservationId: bookingComGuest.resId, reservationId: loserId, checkIn: addDays(from, 1), checkOut: addDays(from, 3), channelNotified: false }),
    ]);
    // Booking.com was told the Airbnb nights are gone (what the calendar shows it was last told).
    await eventually(() => handles.bookingCom.calendar(setup.hotelId, setup.roomId, setup.rateId, addDays(from, 3), addDays(from, 3))[0]?.roomsToSell === 0, { what: 'Booking.com closed' });
    const queue = await ok('GET', '/channels/booking_com/queue');
    expect(queue.unacked.filter((message: { channelReservationId: string }) => message.channelReservationId === bookingComGuest.resId)).toEqual([]);
  });

  it('lets exactly one of two channels racing for the last unit keep it: Booking.com first, Airbnb cancelled', async () => {
    const from = nextStart();
    const setup = await setUp({ count: 1, from, nights: 4 });
    const bookingComGuest = handles.bookingCom.book({ hotelId: setup.hotelId, roomId: setup.roomId, rateId: setup.rateId, checkIn: from, checkOut: addDays(from, 2), guestName: 'Early Bird' });
    await eventually(async () => (await activeReservations(setup.unitId)).length === 1, { what: 'the Booking.com reservation held' });
    // Airbnb still sold the night (its guest booked before the sync reached it).
    const airbnbGuest = handles.airbnb.book({ listingId: setup.listingId, checkIn: addDays(from, 1), checkOut: addDays(from, 2), guestName: 'Late Guest', force: true });
    const cancelled = await eventually(() => (handles.airbnb.reservation(airbnbGuest.confirmation_code).status === 'cancelled_by_host' ? handles.airbnb.reservation(airbnbGuest.confirmation_code) : undefined), {
      timeoutMs: 30_000,
      what: 'Airbnb told the reservation is cancelled',
    });
    expect(cancelled.cancel_reason).toBe(`overbooked: overbooking: not available on ${addDays(from, 1)} (0 left)`);
    const active = await activeReservations(setup.unitId);
    expect(active.map((row) => [row.channel, row.channelReservationId])).toEqual([['booking_com', bookingComGuest.resId]]);
    const event = await eventually(async () => {
      const [row] = await stack.database.db.select().from(overbookingEvents).where(eq(overbookingEvents.channelReservationId, airbnbGuest.confirmation_code));
      return row?.channelNotified ? row : undefined;
    }, { what: 'the overbooking event marked as told to Airbnb' });
    expect(event).toMatchObject({ channel: 'airbnb', channelNotified: true });
    const rejected = await ok('GET', `/bookings/abnb_${airbnbGuest.confirmation_code}`);
    expect(rejected).toMatchObject({ channel: 'airbnb', status: 'rejected' });
  });

  it('takes Airbnb reservation webhooks through the verified, deduplicated inbox: new, altered, cancelled', async () => {
    const from = nextStart();
    const setup = await setUp({ count: 2, from, nights: 6 });
    const guest = handles.airbnb.book({ listingId: setup.listingId, checkIn: from, checkOut: addDays(from, 2), units: 2 });
    const id = `abnb_${guest.confirmation_code.toLowerCase()}`;
    await eventually(async () => (await ok('GET', `/bookings/${id}`)).status === 'confirmed', { what: 'the Airbnb reservation confirmed' });
    handles.airbnb.alter(guest.confirmation_code, { checkIn: addDays(from, 3), checkOut: addDays(from, 5), units: 1 });
    await eventually(async () => (await ok('GET', `/bookings/${id}`)).checkIn === addDays(from, 3), { what: 'the alteration applied' });
    let calendar = await ok('GET', `/units/${setup.unitId}/calendar?from=${from}&to=${addDays(from, 5)}`);
    expect(calendar.days.map((day: { booked: number }) => day.booked)).toEqual([0, 0, 0, 1, 1, 0]);
    // Booking.com sells what Airbnb's guest gave back.
    await eventually(() => handles.bookingCom.calendar(setup.hotelId, setup.roomId, setup.rateId, from, from)[0]?.roomsToSell === 2, { what: 'Booking.com selling again' });
    handles.airbnb.cancel(guest.confirmation_code, 'guest');
    await eventually(async () => (await ok('GET', `/bookings/${id}`)).status === 'cancelled', { what: 'the cancellation applied' });
    calendar = await ok('GET', `/units/${setup.unitId}/calendar?from=${from}&to=${addDays(from, 5)}`);
    expect(calendar.days.every((day: { booked: number }) => day.booked === 0)).toBe(true);

    // The inbox: a bad signature is refused; the same event twice is one row.
    const body = JSON.stringify({ event_id: `evt_test_${unique()}`, event_type: 'reservation.created', timestamp: new Date().toISOString(), api_version: 'x', data: { reservation: {} } });
    const refused = await fetch(`${stack.publicUrl}/webhooks/airbnb`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-airbnb-signature': signAirbnbPayload('wrong-secret', body) }, body });
    expect(refused.status).toBe(400);
    for (let i = 0; i < 2; i += 1) {
      const accepted = await fetch(`${stack.publicUrl}/webhooks/airbnb`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-airbnb-signature': signAirbnbPayload(CHANNEL_SANDBOX_DEFAULTS.airbnbWebhookSecret, body) },
        body,
      });
      expect(accepted.status).toBe(200);
    }
    const rows = await stack.database.db.select().from(webhookInbox).where(eq(webhookInbox.provider, 'airbnb'));
    const created = rows.filter((row) => row.eventId === JSON.parse(body).event_id);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ status: 'ignored', duplicates: 1 });
    expect(rows.filter((row) => row.providerReference === guest.confirmation_code).map((row) => row.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('books directly with a Stripe payment: held, confirmed by the payment webhook, cancelled with a refund', async () => {
    const from = nextStart();
    const setup = await setUp({ count: 1, from, nights: 3, price: 150_000 });
    const created = await ok('POST', '/bookings', { unitId: setup.unitId, checkIn: from, checkOut: addDays(from, 2), guest: { name: 'Direct Guest', email: 'guest@example.com' }, payment: { provider: 'stripe' } }, 201);
    expect(created).toMatchObject({ status: 'held', total: { value: 300_000, currency: 'SEK' }, paymentStatus: 'created', payment: { provider: 'stripe', nextAction: { type: 'stripe_client_secret' } } });
    const refused = await stack.http('POST', '/bookings', { unitId: setup.unitId, checkIn: addDays(from, 1), checkOut: addDays(from, 2), guest: { name: 'Second' } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'unavailable', message: `not available on ${addDays(from, 1)} (0 left)` });
    await eventually(() => handles.bookingCom.calendar(setup.hotelId, setup.roomId, setup.rateId, from, from)[0]?.roomsToSell === 0, { what: 'the hold pushed' });

    expect((await stack.control(`/stripe/_control/payments/${created.payment.providerReference}/succeed`)).status).toBe(200);
    const confirmed = await eventually(async () => {
      const booking = await ok('GET', `/bookings/${created.bookingId}`);
      return booking.status === 'confirmed' ? booking : undefined;
    }, { timeoutMs: 30_000, what: 'the booking confirmed by the payment' });
    expect(confirmed.paymentStatus).toBe('succeeded');

    const cancelled = await ok('POST', `/bookings/${created.bookingId}/cancel`, { reason: 'plans changed' });
    expect(cancelled).toMatchObject({ status: 'cancelled', payment: { status: 'refunded', amountRefunded: 300_000 }, paymentError: null });
    await eventually(() => handles.airbnb.calendar(setup.listingId, from, from)[0]?.available_count === 1, { what: 'Airbnb selling the nights again' });
    expect((await stack.http('POST', `/bookings/${created.bookingId}/cancel`, {})).status).toBe(409);
  });
});
