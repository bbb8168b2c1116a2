// Channex through the HTTP API and the real wiring (`npm start`'s API, worker and sandboxes): a unit
// mapped to a Channex property, room type and rate plan gets its calendar (and every restriction)
// pushed; a guest's booking on an OTA behind Channex reaches Skerry through the `booking` webhook
// (a hint: the revision is pulled from the feed) and becomes a confirmed reservation that closes the
// nights on Booking.com; a modification moves it, a cancellation reopens them; every revision is
// acknowledged; an unacknowledged one shows in the metric the 30-minute alert reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray } from 'drizzle-orm';
import { startStack, type Stack } from '../support/stack';
import { eventually, metricSample } from '../support/harness';
import { sandboxHandles } from '../../sandbox/server';
import { reservations, webhookInbox } from '../../db/schema';
import { addDays } from '../../domain/dates';
import { channelReservationId } from '../../domain/bookings';
import { cancelChannexBooking, channexAri, channexGuestBooking, createChannexProperty, modifyChannexBooking, waitForChannexAck, type ChannexProperty } from '../support/channex';
import { runSkerry, stackCliEnv } from '../support/cli';

let stack: Stack;
let handles: ReturnType<typeof sandboxHandles>;
beforeAll(async () => {
  stack = await startStack({
    env: {
      // A long poll interval: a booking reaches Skerry in seconds only through the webhook hint.
      CHANNEX_POLL_INTERVAL_MS: '120000',
      BOOKING_COM_POLL_INTERVAL_MS: '300',
      CHANNEL_SYNC_QUIET_MS: '150',
      CHANNEL_SYNC_MAX_DELAY_MS: '1000',
      RESERVATION_IDLE_CLOSE_MS: '3000',
    },
  });
  handles = sandboxHandles(stack.sandbox);
});
afterAll(async () => stack?.close());

const skerry = (args: string[]) => runSkerry(args, stackCliEnv(stack));

let offset = 0;
const nextStart = () => addDays('2028-02-01', (offset += 30));
let n = 0;
const unique = () => `${Date.now()}${++n}`;

async function ok(method: string, path: string, body?: unknown, status = 200) {
  const response = await stack.http(method, path, body);
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
  return response.body;
}

/** One unit mapped to Booking.com and to a Channex property, its calendar open and told to both. */
async function setUp(options: { from: string; nights: number }) {
  const property = await ok('POST', '/properties', { name: `Skerry camp ${unique()}`, currency: 'SEK' }, 201);
  const unit = await ok('POST', `/properties/${property.id}/units`, { name: 'Cabin', count: 1 }, 201);
  const hotelId = String(3_000_000 + (Date.now() % 1_000_000) + n);
  const channex: ChannexProperty = await createChannexProperty(stack.sandboxUrl, { title: `Skerry camp ${unique()}` });
  const room = channex.rooms[0]!;
  await ok('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: `${hotelId}01`, externalRateId: `${hotelId}9` }, 201);
  // Without the rate plan there is nowhere to push prices and restrictions: refused.
  await ok('POST', `/units/${unit.id}/mappings`, { channel: 'channex', externalAccountId: channex.propertyId, externalListingId: room.roomTypeId }, 400);
  await ok('POST', `/units/${unit.id}/mappings`, { channel: 'channex', externalAccountId: channex.propertyId, externalListingId: room.roomTypeId, externalRateId: room.ratePlanId }, 201);
  const to = addDays(options.from, options.nights - 1);
  await ok('PUT', `/units/${unit.id}/calendar`, {
    ranges: [
      { from: options.from, to, available: 1, price: { value: 95_000, currency: 'SEK' }, minNights: 1 },
      { from: addDays(options.from, 1), to: addDays(options.from, 1), minStayThrough: 2, maxStay: 7, closedToDeparture: true },
    ],
  });
  await eventually(async () => {
    const calendar = await ok('GET', `/units/${unit.id}/calendar?from=${options.from}&to=${to}`);
    return calendar.days.every((day: { channels: Record<string, { inSync: boolean }> }) => day.channels.booking_com?.inSync && day.channels.channex?.inSync);
  }, { what: 'Booking.com and Channex told the calendar', timeoutMs: 30_000 });
  return { unitId: unit.id as string, hotelId, channex, room, to };
}

const activeReservations = (unitId: string) =>
  stack.database.db.select().from(reservations).where(and(eq(reservations.unitId, unitId), inArray(reservations.status, ['held', 'confirmed'])));

describe('Channex through the API', () => {
  it('pushes availability, rate and every restriction to the mapped room type and rate plan', async () => {
    const from = nextStart();
    const setup = await setUp({ from, nights: 4 });
    const ari = await channexAri(stack.sandboxUrl, setup.channex.propertyId, from, setup.to);
    expect(ari.availability[setup.room.roomTypeId]).toEqual({ [from]: 1, [addDays(from, 1)]: 1, [addDays(from, 2)]: 1, [setup.to]: 1 });
    expect(ari.restrictions[setup.room.ratePlanId]![from]).toMatchObject({ rate: '950.00', min_stay_arrival: 1, min_stay_through: 1, max_stay: 0, stop_sell: false, closed_to_departure: false });
    expect(ari.restrictions[setup.room.ratePlanId]![addDays(from, 1)]).toMatchObject({ min_stay_through: 2, max_stay: 7, closed_to_departure: true });
    const calendar = await ok('GET', `/units/${setup.unitId}/calendar?from=${addDays(from, 1)}&to=${addDays(from, 1)}`);
    expect(calendar.days[0]).toMatchObject({ minStayThrough: 2, maxStay: 7, closedToDeparture: true, channels: { channex: { inSync: true, maxStay: 7 } } });
  });

  it('takes a guest booking through the webhook hint, closes Booking.com, follows a modification and reopens on cancellation', async () => {
    const from = nextStart();
    const setup = await setUp({ from, nights: 6 });
    const booked = await channexGuestBooking(stack.sandboxUrl, { property: setup.channex, arrivalDate: addDays(from, 1), departureDate: addDays(from, 3), guestName: 'Ada Guest' });
    const reservationId = channelReservationId('channex', booked.booking_id);

    // The webhook is recorded in the inbox and the poll pulls at once (its own interval is 2 minutes).
    await waitForChannexAck(stack.sandboxUrl, booked.id, { timeoutMs: 30_000 });
    const [hint] = await stack.database.db.select().from(webhookInbox).where(and(eq(webhookInbox.provider, 'channex'), eq(webhookInbox.providerReference, booked.booking_id)));
    expect(hint).toMatchObject({ eventType: 'booking', status: 'delivered' });
    const reservation = await ok('GET', `/bookings/${reservationId}`);
    expect(reservation).toMatchObject({ channel: 'channex', status: 'confirmed', checkIn: addDays(from, 1), checkOut: addDays(from, 3) });
    // Every other channel stops selling those nights.
    await eventually(() => handles.bookingCom.calendar(setup.hotelId, `${setup.hotelId}01`, `${setup.hotelId}9`, addDays(from, 2), addDays(from, 2))[0]?.roomsToSell === 0, { what: 'Booking.com closed' });

    const moved = await modifyChannexBooking(stack.sandboxUrl, booked.booking_id, { arrivalDate: addDays(from, 3), departureDate: addDays(from, 5) });
    await waitForChannexAck(stack.sandboxUrl, moved.id, { timeoutMs: 30_000 });
    await eventually(async () => {
      const current = await ok('GET', `/bookings/${reservationId}`);
      return current.checkIn === addDays(from, 3) && current.checkOut === addDays(from, 5);
    }, { what: 'the reservation moved' });
    const calendar = await ok('GET', `/units/${setup.unitId}/calendar?from=${from}&to=${addDays(from, 5)}`);
    expect(calendar.days.map((day: { booked: number }) => day.booked)).toEqual([0, 0, 0, 1, 1, 0]);

    const cancelled = await cancelChannexBooking(stack.sandboxUrl, booked.booking_id);
    await waitForChannexAck(stack.sandboxUrl, cancelled.id, { timeoutMs: 30_000 });
    await eventually(async () => (await activeReservations(setup.unitId)).length === 0, { what: 'the nights given back' });
    await eventually(() => handles.bookingCom.calendar(setup.hotelId, `${setup.hotelId}01`, `${setup.hotelId}9`, addDays(from, 3), addDays(from, 3))[0]?.roomsToSell === 1, { what: 'Booking.com reopened' });
    const health = await ok('GET', '/channels/channex/health');
    expect(health.unacknowledged.overdue).toBe(0);
  });

  it('refuses a webhook without the secret header and shows what Channex reports in the health view and the metric', async () => {
    const forged = await fetch(`${stack.publicUrl}/webhooks/channex`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: 'booking', payload: {} }) });
    expect(forged.status).toBe(400);
    const property = await createChannexProperty(stack.sandboxUrl);
    const sent = await fetch(`${stack.sandboxUrl}/channex/_control/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ propertyId: property.propertyId, event: 'booking_unmapped_room', payload: { booking_id: `bk-${unique()}` } }),
    });
    expect(await sent.json()).toEqual({ sent: 1 });
    const health = await eventually(async () => {
      const body = await ok('GET', '/channels/channex/health');
      return body.events.booking_unmapped_room >= 1 ? body : undefined;
    }, { what: 'the unmapped room in the health view' });
    expect(health.healthy).toBe(false);
    const metrics = await (await fetch(`${stack.apiUrl}/metrics`, { headers: stack.authHeaders })).text();
    expect(metricSample(metrics, 'skerry_channel_health_events_total', { channel: 'channex', event: 'booking_unmapped_room' })).toBeGreaterThanOrEqual(1);

    // The operator's CLI shows the same, and says so in its exit code.
    const cli = await skerry(['channels', 'health', '--json']);
    expect(cli.code, cli.stderr).toBe(3);
    expect(JSON.parse(cli.stdout)).toMatchObject({ channel: 'channex', healthy: false, events: { booking_unmapped_room: expect.any(Number) } });
    const status = await skerry(['channels', 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).map((entry: { channel: string }) => entry.channel)).toContain('channex');
  });

  it('shows a revision Skerry has not acknowledged in the unacknowledged-age metric the 30-minute alert reads', async () => {
    const from = nextStart();
    const setup = await setUp({ from, nights: 3 });
    // Acknowledgements (only they) fail at Channex for a while: the revision stays unacknowledged.
    handles.channex.faultScope = /\/booking_revisions\/[^/]+\/ack/;
    handles.channex.faults.set({ errorRate: 1 });
    try {
      const booked = await channexGuestBooking(stack.sandboxUrl, { property: setup.channex, arrivalDate: from, departureDate: addDays(from, 1) });
      await eventually(async () => {
        const metrics = await (await fetch(`${stack.apiUrl}/metrics`, { headers: stack.authHeaders })).text();
        const queue = await ok('GET', '/channels/channex/queue');
        const waiting = queue.unacked.some((message: { messageId: string }) => message.messageId === booked.id);
        return waiting && (metricSample(metrics, 'skerry_unacknowledged_reservation_age_seconds', { channel: 'channex' }) ?? -1) >= 0;
      }, { what: 'the revision waiting in the queue and the metric', timeoutMs: 60_000 });
      expect((await ok('GET', '/channels/channex/health')).unacknowledged.count).toBeGreaterThanOrEqual(1);
      handles.channex.faults.clear();
      await waitForChannexAck(stack.sandboxUrl, booked.id, { timeoutMs: 60_000 });
    } finally {
      handles.channex.faults.clear();
      handles.channex.faultScope = undefined;
    }
  });
});
