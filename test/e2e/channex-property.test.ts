// Channex is synced per property (#18): the edits of several units of one Channex property within one
// window reach Channex as one availability and one restrictions call carrying all of them, and a full
// resync of a property is those same two calls, asserted from the Channex sandbox's request log. The
// property's sync is found by its `Channel` and `SyncStatus` search attributes; a guest booking Channex
// sells past the last unit is an overbooking event in GET /overbookings; `skerry channels status`
// shows Channex with its last resync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { addDays } from '../../domain/dates';
import { channelReservationId } from '../../domain/bookings';
import { propertySyncWorkflowId } from '../../domain/workflow-ids';
import { listingSyncStateQuery } from '../../workflows/bookings/messages';
import { channelSearchAttribute, syncStatusSearchAttribute } from '../../domain/search-attributes';
import { channexAri, channexGuestBooking, channexRequestLog, createChannexProperty, waitForChannexAck, type ChannexProperty, type ChannexRequestView } from '../support/channex';
import { runSkerry, stackCliEnv } from '../support/cli';

let stack: Stack;
let connection: Connection;
let temporal: Client;
beforeAll(async () => {
  stack = await startStack({
    env: {
      CHANNEX_POLL_INTERVAL_MS: '120000',
      // A window wide enough that five edits sent together land in it on a loaded machine.
      CHANNEL_SYNC_QUIET_MS: '4000',
      CHANNEL_SYNC_MAX_DELAY_MS: '20000',
      RESERVATION_IDLE_CLOSE_MS: '3000',
    },
  });
  connection = await Connection.connect({ address: stack.temporalAddress });
  temporal = new Client({ connection, dataConverter: stack.dataConverter });
});
afterAll(async () => {
  await connection?.close();
  await stack?.close();
});

const skerry = (args: string[]) => runSkerry(args, stackCliEnv(stack));

let n = 0;
const unique = () => `${Date.now()}${++n}`;

async function ok(method: string, path: string, body?: unknown, status = 200) {
  const response = await stack.http(method, path, body);
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
  return response.body;
}

type CalendarDay = { available: number; channels: Record<string, { inSync: boolean }> };
const inSyncOnChannex = async (unitIds: readonly string[], from: string, to: string) => {
  for (const unitId of unitIds) {
    const calendar = await ok('GET', `/units/${unitId}/calendar?from=${from}&to=${to}`);
    if (!calendar.days.every((day: CalendarDay) => day.channels.channex?.inSync)) return false;
  }
  return true;
};

/** A Skerry property whose units are each mapped to one room type and rate plan of a Channex property. */
async function mappedProperty(rooms: number, options: { calendar?: { from: string; to: string }; count?: number } = {}) {
  const channex: ChannexProperty = await createChannexProperty(stack.sandboxUrl, { title: `Property sync ${unique()}`, rooms, count: options.count ?? 2 });
  const property = await ok('POST', '/properties', { name: `Property sync ${unique()}`, currency: 'SEK' }, 201);
  const unitIds: string[] = [];
  for (const [index, room] of channex.rooms.entries()) {
    const unit = await ok('POST', `/properties/${property.id}/units`, { name: `Cabin ${index}`, count: options.count ?? 2 }, 201);
    // The calendar first, while nothing is mapped: nothing is pushed until the test says so.
    if (options.calendar) await ok('PUT', `/units/${unit.id}/calendar`, { ranges: [{ ...options.calendar, available: options.count ?? 2, price: { value: 80_000, currency: 'SEK' } }] });
    await ok('POST', `/units/${unit.id}/mappings`, { channel: 'channex', externalAccountId: channex.propertyId, externalListingId: room.roomTypeId, externalRateId: room.ratePlanId }, 201);
    unitIds.push(unit.id);
  }
  return { channex, unitIds };
}

/** The property's sync is idle with no activity pending or retrying. */
const quiet = (propertyId: string) =>
  eventually(
    async () => {
      const handle = temporal.workflow.getHandle(propertySyncWorkflowId('channex', propertyId));
      const [state, description] = await Promise.all([handle.query(listingSyncStateQuery), handle.describe()]);
      return state.status === 'idle' && state.pendingRanges.length === 0 && (description.raw.pendingActivities ?? []).length === 0;
    },
    { timeoutMs: 120_000, everyMs: 500, what: `the sync of Channex property ${propertyId} idle` },
  );

const ariRequests = (log: readonly ChannexRequestView[], propertyId: string) => log.filter((request) => request.method === 'POST' && request.kind && request.propertyIds.includes(propertyId));
const sorted = (values: readonly string[] | undefined) => [...(values ?? [])].sort();

describe('Channex synced per property', () => {
  let coalesced: { channex: ChannexProperty; unitIds: string[] } | undefined;

  it('pushes the edits of five units of one property within one window as one availability and one restrictions call', async () => {
    const from = addDays('2029-06-01', Math.floor(Math.random() * 200));
    const to = addDays(from, 2);
    const setup = await mappedProperty(5);
    coalesced = setup;
    for (const unitId of setup.unitIds) await ok('PUT', `/units/${unitId}/calendar`, { ranges: [{ from, to, available: 2, price: { value: 80_000, currency: 'SEK' } }] });
    await eventually(() => inSyncOnChannex(setup.unitIds, from, to), { timeoutMs: 90_000, everyMs: 500, what: 'the first push of the five units' });
    // Nothing of the first push still in flight (a retried attempt of it would be counted below).
    await quiet(setup.channex.propertyId);

    const since = Date.now();
    await Promise.all(
      setup.unitIds.map((unitId, index) => ok('PUT', `/units/${unitId}/calendar`, { ranges: [{ from, to: from, available: 1, price: { value: 90_000 + index * 1_000, currency: 'SEK' } }] })),
    );
    await eventually(() => inSyncOnChannex(setup.unitIds, from, from), { timeoutMs: 90_000, everyMs: 500, what: 'the five edits pushed' });

    const requests = ariRequests(await channexRequestLog(stack.sandboxUrl, since), setup.channex.propertyId);
    expect(requests.map((request) => [request.kind, request.status])).toEqual([['availability', 200], ['restrictions', 200]]);
    expect(sorted(requests[0]!.targets)).toEqual(sorted(setup.channex.rooms.map((room) => room.roomTypeId)));
    expect(sorted(requests[1]!.targets)).toEqual(sorted(setup.channex.rooms.map((room) => room.ratePlanId)));
    const ari = await channexAri(stack.sandboxUrl, setup.channex.propertyId, from, from);
    expect(setup.channex.rooms.map((room) => ari.availability[room.roomTypeId]?.[from])).toEqual([1, 1, 1, 1, 1]);
    expect(setup.channex.rooms.map((room) => ari.restrictions[room.ratePlanId]?.[from]?.rate)).toEqual(['900.00', '910.00', '920.00', '930.00', '940.00']);

    // Each unit's sync view is its property's sync.
    const sync = await ok('GET', `/units/${setup.unitIds[2]}/sync`);
    expect(sync.syncs).toEqual([{ channel: 'channex', state: expect.objectContaining({ unitId: setup.unitIds[2], account: setup.channex.propertyId, pendingRanges: [], requests: expect.any(Number) }) }]);
  });

  it('shows the nights of a failed property push as failed on the calendar until a later push gets them through', async () => {
    const from = addDays('2030-02-01', Math.floor(Math.random() * 200));
    const setup = await mappedProperty(2);
    const property = await ok('GET', `/units/${setup.unitIds[0]}`);
    const nightStates = async () => {
      const grid = await ok('GET', `/properties/${property.propertyId}/calendar?from=${from}&to=${from}`);
      return (grid.units as Array<{ id: string; nights: Array<{ channels: Record<string, { state: string }> }> }>)
        .filter((unit) => setup.unitIds.includes(unit.id))
        .map((unit) => unit.nights[0]!.channels.channex?.state);
    };
    await stack.control('/channex/_control/fault-scope', { pattern: '/api/v1/availability' });
    await stack.control('/channex/_control/faults', { errorRate: 1 });
    try {
      for (const unitId of setup.unitIds) await ok('PUT', `/units/${unitId}/calendar`, { ranges: [{ from, to: from, available: 1, price: { value: 70_000, currency: 'SEK' } }] });
      await eventually(async () => (await nightStates()).every((state) => state === 'failed'), { timeoutMs: 90_000, everyMs: 500, what: 'both units failed on Channex' });
    } finally {
      await stack.control('/channex/_control/faults', {});
      await stack.control('/channex/_control/fault-scope', { pattern: null });
    }
    await eventually(async () => (await nightStates()).every((state) => state === 'in_sync'), { timeoutMs: 120_000, everyMs: 500, what: 'both units in sync once Channex answers' });
  });

  it('finds the property sync by its Channel and SyncStatus search attributes', async () => {
    expect(coalesced, 'the coalescing test ran first').toBeDefined();
    const workflowId = propertySyncWorkflowId('channex', coalesced!.channex.propertyId);
    const found = await eventually(
      async () => {
        for await (const workflow of temporal.workflow.list({ query: `Channel = 'channex' AND SyncStatus = 'idle' AND WorkflowId = '${workflowId}'` })) return workflow;
        return undefined;
      },
      { timeoutMs: 30_000, everyMs: 500, what: 'the property sync in a visibility query' },
    );
    expect(found.workflowId).toBe(workflowId);
    expect(found.typedSearchAttributes.get(channelSearchAttribute)).toBe('channex');
    expect(found.typedSearchAttributes.get(syncStatusSearchAttribute)).toBe('idle');
    // One sync for the property: no per-unit Channex syncs were started.
    const perUnit = await temporal.workflow.count(`Channel = 'channex' AND ListingId = '${coalesced!.unitIds[0]}'`);
    expect(perUnit.count).toBe(0);
  });

  it('resyncs a whole property in exactly two calls, with its progress', async () => {
    const from = new Date().toISOString().slice(0, 10);
    const to = addDays(from, 6);
    const setup = await mappedProperty(4, { calendar: { from, to }, count: 1 });
    // Mapped without a full load: Channex shows nothing of these rooms, every night has drifted.
    const since = Date.now();
    const { workflowId } = await ok('POST', '/channels/channex/resync', { accounts: [setup.channex.propertyId], horizonDays: 7 }, 202);
    const phases = new Set<string>();
    const done = await eventually(
      async () => {
        const state = await ok('GET', `/channels/channex/resync/${workflowId}`);
        phases.add(state.progress.phase);
        return state.status === 'running' ? undefined : state;
      },
      { timeoutMs: 90_000, everyMs: 200, what: 'the resync to finish' },
    );
    expect(done).toMatchObject({ status: 'completed', progress: { phase: 'done', calendarDaysChecked: 28, calendarDaysCorrected: 28 } });
    expect(sorted(done.progress.unitsDone)).toEqual(sorted(setup.unitIds));
    console.log(`[channex-property] resync phases seen while polling: ${[...phases].join(', ')}`);
    const runs = await ok('GET', '/channels/channex/resyncs');
    expect(runs.runs.find((run: { id: string }) => run.id === workflowId)).toMatchObject({ status: 'completed', calendarDaysChecked: 28, calendarDaysCorrected: 28 });

    await eventually(() => inSyncOnChannex(setup.unitIds, from, to), { timeoutMs: 90_000, everyMs: 500, what: 'the resync pushed' });
    const log = await channexRequestLog(stack.sandboxUrl, since);
    const pushes = ariRequests(log, setup.channex.propertyId);
    expect(pushes.map((request) => [request.kind, request.status])).toEqual([['availability', 200], ['restrictions', 200]]);
    expect(sorted(pushes[0]!.targets)).toEqual(sorted(setup.channex.rooms.map((room) => room.roomTypeId)));
    expect(sorted(pushes[1]!.targets)).toEqual(sorted(setup.channex.rooms.map((room) => room.ratePlanId)));
    const ari = await channexAri(stack.sandboxUrl, setup.channex.propertyId, from, to);
    for (const room of setup.channex.rooms) expect(Object.values(ari.availability[room.roomTypeId] ?? {})).toEqual([1, 1, 1, 1, 1, 1, 1]);
    console.log(`[channex-property] resync of 4 units × 7 nights: ${pushes.length} ARI calls`);
  });

  it('turns a Channex revision sold past the last unit into an overbooking event in GET /overbookings', async () => {
    const from = addDays('2029-12-01', Math.floor(Math.random() * 100));
    const setup = await mappedProperty(1, { count: 1 });
    const unitId = setup.unitIds[0]!;
    await ok('PUT', `/units/${unitId}/calendar`, { ranges: [{ from, to: addDays(from, 3), available: 1, price: { value: 80_000, currency: 'SEK' } }] });
    await eventually(() => inSyncOnChannex([unitId], from, addDays(from, 3)), { timeoutMs: 60_000, everyMs: 500, what: 'the calendar on Channex' });

    const first = await channexGuestBooking(stack.sandboxUrl, { property: setup.channex, arrivalDate: from, departureDate: addDays(from, 2), guestName: 'First Guest' });
    await waitForChannexAck(stack.sandboxUrl, first.id, { timeoutMs: 60_000 });
    expect(await ok('GET', `/bookings/${channelReservationId('channex', first.booking_id)}`)).toMatchObject({ status: 'confirmed' });
    // The OTA sells the same nights again before it heard they were gone (forced past Channex's own count).
    const second = await channexGuestBooking(stack.sandboxUrl, { property: setup.channex, arrivalDate: addDays(from, 1), departureDate: addDays(from, 3), guestName: 'Second Guest', force: true });
    await waitForChannexAck(stack.sandboxUrl, second.id, { timeoutMs: 60_000 });

    const overbooking = await eventually(async () => {
      const { overbookings } = await ok('GET', `/overbookings?unitId=${unitId}`);
      return overbookings.find((entry: { channel: string; channelReservationId: string }) => entry.channel === 'channex' && entry.channelReservationId === second.booking_id);
    }, { timeoutMs: 60_000, what: 'the overbooking event' });
    expect(overbooking).toMatchObject({ unitId, checkIn: addDays(from, 1), checkOut: addDays(from, 3), reason: expect.stringMatching(/sold|available|booked/i) });
    const calendar = await ok('GET', `/units/${unitId}/calendar?from=${from}&to=${addDays(from, 2)}`);
    // The first guest's nights stay booked once; the second booking took nothing.
    expect(calendar.days.map((day: { booked: number }) => day.booked)).toEqual([1, 1, 0]);
  });

  it('shows Channex and its last resync in `skerry channels status`', async () => {
    const json = await skerry(['channels', 'status', 'channex', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const [status] = JSON.parse(json.stdout) as Array<{ channel: string; unacked: unknown[]; lastResync: { status: string; calendarDaysCorrected: number } | null }>;
    expect(status).toMatchObject({ channel: 'channex', unacked: [], lastResync: { status: 'completed', calendarDaysCorrected: 28 } });
    const text = await skerry(['channels', 'status', 'channex']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/channex\s*│\s*0\s*│/);
    expect(text.stdout).toContain('completed');
  });
});
