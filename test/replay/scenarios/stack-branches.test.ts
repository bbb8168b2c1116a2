// Records the branches only the whole stack reaches (the table in test/replay/README.md): an
// Airbnb-origin reservation through OAuth, the Airbnb webhook and the durable inbox — booked,
// altered, cancelled, and one rejected because Booking.com had the last unit — and the retention
// prune the daily Schedule starts.
//   RECORD_HISTORIES=1 npx vitest run test/replay/scenarios/stack-branches.test.ts
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startStack, type Stack } from '../../support/stack';
import { eventually } from '../../support/harness';
import { sandboxHandles } from '../../../sandbox/server';
import { addDays } from '../../../domain/dates';
import { reservationWorkflowId } from '../../../domain/workflow-ids';
import { recording, saveHistory, wanted } from './recorder';

async function recordOnly(context: TestContext, name: string) {
  if (!(await wanted(name))) context.skip(`kept: ${name}`);
}

describe.runIf(recording)('record stack branches', () => {
  let stack: Stack;
  let handles: ReturnType<typeof sandboxHandles>;
  let connection: Connection;
  let temporal: Client;
  beforeAll(async () => {
    stack = await startStack({
      env: { BOOKING_COM_POLL_INTERVAL_MS: '300', CHANNEL_SYNC_QUIET_MS: '150', CHANNEL_SYNC_MAX_DELAY_MS: '1000', RESERVATION_IDLE_CLOSE_MS: '1500' },
    });
    handles = sandboxHandles(stack.sandbox);
    connection = await Connection.connect({ address: stack.temporalAddress });
    temporal = new Client({ connection, dataConverter: stack.dataConverter });
  });
  afterAll(async () => {
    await connection?.close();
    await stack?.close();
  });

  let n = 0;
  const unique = () => `${Date.now()}${++n}`;
  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const response = await stack.http(method, path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
    return response.body;
  };

  /** A unit of `count` mapped to Booking.com and to an Airbnb host connected over OAuth, its calendar open. */
  const setUp = async (count: number, from: string, nights: number) => {
    const property = await ok('POST', '/properties', { name: `Replay ${unique()}`, currency: 'SEK' }, 201);
    const unit = await ok('POST', `/properties/${property.id}/units`, { name: 'Replay cabin', count }, 201);
    const hotelId = String(3_000_000 + (Date.now() % 1_000_000) + n);
    const hostId = `host${unique()}`;
    const listingId = `listing${unique()}`;
    const start = await fetch(`${stack.apiUrl}/channels/airbnb/connect?hostHint=${hostId}`, { redirect: 'manual', headers: stack.authHeaders });
    const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const callback = new URL(consent.headers.get('location')!);
    expect((await fetch(`${stack.publicUrl}${callback.pathname}${callback.search}`)).status).toBe(200);
    await ok('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: `${hotelId}01`, externalRateId: `${hotelId}9` }, 201);
    await ok('POST', `/units/${unit.id}/mappings`, { channel: 'airbnb', externalAccountId: hostId, externalListingId: listingId }, 201);
    const to = addDays(from, nights - 1);
    await ok('PUT', `/units/${unit.id}/calendar`, { ranges: [{ from, to, available: count, price: { value: 120_000, currency: 'SEK' }, minNights: 1 }] });
    await eventually(async () => {
      const calendar = await ok('GET', `/units/${unit.id}/calendar?from=${from}&to=${to}`);
      return calendar.days.every((day: { channels: Record<string, { inSync: boolean }> }) => day.channels.booking_com?.inSync && day.channels.airbnb?.inSync);
    }, { what: 'both channels told the calendar' });
    return { unitId: unit.id as string, hotelId, roomId: `${hotelId}01`, rateId: `${hotelId}9`, listingId };
  };
  const saveReservation = async (name: string, reservationId: string) => {
    const handle = temporal.workflow.getHandle(reservationWorkflowId(reservationId));
    await handle.result();
    await saveHistory(name, handle);
  };

  it('an Airbnb reservation: booked, altered, cancelled by the guest', async (context) => {
    await recordOnly(context, 'reservation-airbnb-lifecycle');
    const from = '2030-02-01';
    const setup = await setUp(2, from, 6);
    const guest = handles.airbnb.book({ listingId: setup.listingId, checkIn: from, checkOut: addDays(from, 2), units: 2 });
    const id = `abnb_${guest.confirmation_code.toLowerCase()}`;
    await eventually(async () => (await ok('GET', `/bookings/${id}`)).status === 'confirmed', { what: 'the Airbnb reservation confirmed' });
    handles.airbnb.alter(guest.confirmation_code, { checkIn: addDays(from, 3), checkOut: addDays(from, 5), units: 1 });
    await eventually(async () => (await ok('GET', `/bookings/${id}`)).checkIn === addDays(from, 3), { what: 'the alteration applied' });
    handles.airbnb.cancel(guest.confirmation_code, 'guest');
    await eventually(async () => (await ok('GET', `/bookings/${id}`)).status === 'cancelled', { what: 'the cancellation applied' });
    await saveReservation('reservation-airbnb-lifecycle', id);
  });

  it('an Airbnb reservation for the unit Booking.com sold first: rejected, Airbnb told', async (context) => {
    await recordOnly(context, 'reservation-airbnb-rejected');
    const from = '2030-03-01';
    const setup = await setUp(1, from, 4);
    handles.bookingCom.book({ hotelId: setup.hotelId, roomId: setup.roomId, rateId: setup.rateId, checkIn: from, checkOut: addDays(from, 2), guestName: 'Early Bird' });
    await eventually(() => handles.airbnb.calendar(setup.listingId, addDays(from, 1), addDays(from, 1))[0]?.availability === 'unavailable', { what: 'Airbnb closed' });
    const late = handles.airbnb.book({ listingId: setup.listingId, checkIn: addDays(from, 1), checkOut: addDays(from, 2), guestName: 'Late Guest', force: true });
    await eventually(() => handles.airbnb.reservation(late.confirmation_code).status === 'cancelled_by_host', { timeoutMs: 30_000, what: 'Airbnb told' });
    const id = `abnb_${late.confirmation_code.toLowerCase()}`;
    expect((await ok('GET', `/bookings/${id}`)).status).toBe('rejected');
    await saveReservation('reservation-airbnb-rejected', id);
  });

  it('the daily retention prune', async (context) => {
    await recordOnly(context, 'retention-prune');
    const handle = await temporal.workflow.start('retentionPruneWorkflow', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `retention-prune-replay-${unique()}`,
      args: [{ retentionDays: 30, batchSize: 500 }],
    });
    expect(await handle.result()).toMatchObject({ cutoff: expect.any(String) });
    await saveHistory('retention-prune', handle);
  });
});
