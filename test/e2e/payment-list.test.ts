// GET /payments (filters, search, cursor paging), a payment's timeline and the overview totals,
// `skerry payments list` on them, and the console's calendar grid (GET /properties/:id/calendar), against a real stack: a ledger seeded with known rows plus one real
// Stripe payment the sandbox customer pays.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarDays, channelCalendarState, channelMappings, payments, properties, reservations, units } from '../../db/schema';
import { startStack, type Stack } from '../support/stack';
import { createChannelStateStore } from '../../store/channel-state';
import { eventually } from '../support/harness';
import { runSkerry, stackCliEnv } from '../support/cli';

let stack: Stack;
const run = randomUUID().slice(0, 6);
const base = Date.parse('2019-03-01T10:00:00Z');

beforeAll(async () => {
  stack = await startStack();
  // 25 payments an hour apart: every third is PayPal and failed, the rest Stripe and succeeded.
  await stack.database.db.insert(payments).values(
    Array.from({ length: 25 }, (_, index) => ({
      id: `pay_list${run}${String(index).padStart(3, '0')}`,
      workflowId: `payment-pay_list${run}${index}`,
      provider: index % 3 === 0 ? 'paypal' : 'stripe',
      status: index % 3 === 0 ? 'failed' : 'succeeded',
      reference: `ref-${run}-${index}`,
      captureMethod: 'automatic',
      currency: index % 2 === 0 ? 'SEK' : 'EUR',
      amount: 10_000 + index,
      amountCaptured: index % 3 === 0 ? 0 : 10_000 + index,
      amountRefunded: index === 4 ? 500 : 0,
      providerReference: `prov-${run}-${index}`,
      createdAt: new Date(base + index * 3_600_000),
      updatedAt: new Date(base + index * 3_600_000),
    })),
  );
  await stack.database.db.insert(reservations).values({
    id: `res_list${run}`,
    channel: 'direct',
    status: 'confirmed',
    checkIn: '2026-07-01',
    checkOut: '2026-07-03',
    paymentId: `pay_list${run}007`,
    workflowId: `reservation-res_list${run}`,
  });
});
afterAll(async () => stack?.close());

const window = `from=2019-03-01T00:00:00Z&to=2019-03-03T00:00:00Z`;

describe('GET /payments', () => {
  it('pages newest first through a filter with a cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { items: Array<{ paymentId: string; provider: string; createdAt: string }>; nextCursor: string | null } } =
        await stack.http('GET', `/payments?provider=stripe&${window}&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.every((item) => item.provider === 'stripe')).toBe(true);
      seen.push(...page.body.items.map((item) => item.paymentId));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor);
    const expected = Array.from({ length: 25 }, (_, index) => index)
      .filter((index) => index % 3 !== 0)
      .reverse()
      .map((index) => `pay_list${run}${String(index).padStart(3, '0')}`);
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 5));
  });

  it('filters by status and date range, and searches by payment id, provider reference, reference and booking id', async () => {
    const failed = await stack.http('GET', `/payments?status=failed&${window}&limit=200`);
    expect(failed.body.items.map((item: { paymentId: string }) => item.paymentId)).toHaveLength(9);

    const firstHours = await stack.http('GET', `/payments?from=2019-03-01T10:00:00Z&to=2019-03-01T13:00:00Z`);
    expect(firstHours.body.items.map((item: { reference: string }) => item.reference)).toEqual([`ref-${run}-2`, `ref-${run}-1`, `ref-${run}-0`]);

    for (const term of [`pay_list${run}007`, `prov-${run}-7`, `ref-${run}-7`, `res_list${run}`]) {
      const found = await stack.http('GET', `/payments?q=${encodeURIComponent(term)}`);
      expect(found.body.items.map((item: { paymentId: string }) => item.paymentId), term).toEqual([`pay_list${run}007`]);
    }
  });

  it('answers bad input with a sentence: an unknown status, a date that is none, a forged cursor', async () => {
    for (const query of ['status=paid-ish', 'from=yesterday', 'cursor=bm90LWEtY3Vyc29y']) {
      const answer = await stack.http('GET', `/payments?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.message, query).toMatch(/status|from|cursor/);
    }
  });

  it('sums the window per currency and counts per provider and status and hour', async () => {
    const summary = await stack.http('GET', `/payments/summary?from=2019-03-01T10:00:00Z&to=2019-03-01T16:00:00Z`);
    expect(summary.status).toBe(200);
    // Indexes 0..5: paypal/failed 0 and 3; stripe/succeeded 1, 2, 4, 5. SEK: 0, 2, 4; EUR: 1, 3, 5.
    expect(summary.body.byStatus).toEqual(
      expect.arrayContaining([
        { provider: 'paypal', status: 'failed', count: 2 },
        { provider: 'stripe', status: 'succeeded', count: 4 },
      ]),
    );
    expect(summary.body.money).toEqual(
      expect.arrayContaining([
        { currency: 'SEK', captured: 10_002 + 10_004, refunded: 500 },
        { currency: 'EUR', captured: 10_001 + 10_005, refunded: 0 },
      ]),
    );
    expect(summary.body.perHour).toHaveLength(6);
  });

  it("keeps a real payment's observations as its timeline, marked by how they came", async () => {
    const created = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 12_300, currency: 'SEK' }, reference: `list-${run}` }, { 'idempotency-key': randomUUID() });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.paymentId as string;
    const providerReference = await eventually(async () => ((await stack.http('GET', `/payments/${id}`)).body.providerReference as string | null) ?? undefined, { what: 'provider payment' });
    await stack.control(`/stripe/_control/payments/${providerReference}/succeed`);
    await eventually(async () => (await stack.http('GET', `/payments?q=${id}`)).body.items[0]?.status === 'succeeded', { what: 'listed as succeeded' });
    const timeline = await eventually(async () => {
      const items = (await stack.http('GET', `/payments/${id}/timeline`)).body.items as Array<{ kind: string; statusAfter: string; applied: boolean }>;
      return items.some((item) => item.statusAfter === 'succeeded' && item.applied) ? items : undefined;
    }, { what: 'timeline with the success' });
    expect(timeline.every((item) => ['webhook', 'poll', 'command'].includes(item.kind))).toBe(true);
  });
});

describe('skerry payments list', () => {
  const skerry = (args: string[]) => runSkerry(args, stackCliEnv(stack));

  it('prints a table with the next cursor, takes the same filters, and pages on with --cursor', async () => {
    const first = await skerry(['payments', 'list', '--provider', 'paypal', '--from', '2019-03-01T00:00:00Z', '--to', '2019-03-03T00:00:00Z', '--limit', '5']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`pay_list${run}024`);
    expect(first.stdout).toContain('100.24 SEK');
    const cursor = /more: --cursor (\S+)/.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const second = await skerry(['payments', 'list', '--provider', 'paypal', '--from', '2019-03-01T00:00:00Z', '--to', '2019-03-03T00:00:00Z', '--limit', '5', '--cursor', cursor!, '--json']);
    expect(second.code, second.stderr).toBe(0);
    const page = JSON.parse(second.stdout) as { items: Array<{ paymentId: string }>; nextCursor: string | null };
    expect(page.items.map((item) => item.paymentId)).toEqual([`pay_list${run}009`, `pay_list${run}006`, `pay_list${run}003`, `pay_list${run}000`]);
    expect(page.nextCursor).toBeNull();

    const bad = await skerry(['payments', 'list', '--status', 'nonsense']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/status/);
  });
});

describe('GET /properties/:id/calendar', () => {
  it("answers each unit's nights with every mapped channel's state (in sync, pending, failed, stale) and the stays across them", async () => {
    const db = stack.database.db;
    const propertyId = `prop_grid${run}`;
    const unitId = `unit_grid${run}`;
    await db.insert(properties).values({ id: propertyId, name: 'Grid test', currency: 'SEK' });
    await db.insert(units).values({ id: unitId, propertyId, name: 'Cabin', count: 2 });
    await db.insert(channelMappings).values({ id: `map_grid${run}`, unitId, channel: 'booking_com', externalAccountId: `h${run}`, externalListingId: `r${run}` });
    const night = (date: string, updatedAt: Date) => ({ unitId, date, allotment: 2, booked: 1, price: 90_000, currency: 'SEK', minNights: 2, updatedAt });
    // 07-01: told exactly this (in sync); 07-02: changed a minute ago, not told yet (pending);
    // 07-03: changed an hour ago and still not told (stale).
    await db.insert(calendarDays).values([night('2031-07-01', new Date()), night('2031-07-02', new Date(Date.now() - 60_000)), night('2031-07-03', new Date(Date.now() - 3_600_000))]);
    await db.insert(channelCalendarState).values({ unitId, channel: 'booking_com', date: '2031-07-01', available: 1, price: 90_000, currency: 'SEK', minNights: 2, closedToArrival: false, closedToDeparture: false, closed: false });
    await db.insert(reservations).values({ id: `res_grid${run}`, unitId, channel: 'airbnb', status: 'confirmed', checkIn: '2031-06-30', checkOut: '2031-07-02', guestName: 'Grid Guest', workflowId: `reservation-res_grid${run}` });

    const grid = await stack.http('GET', `/properties/${propertyId}/calendar?from=2031-07-01&to=2031-07-04`);
    expect(grid.status, JSON.stringify(grid.body)).toBe(200);
    const [unit] = grid.body.units;
    expect(unit).toMatchObject({ id: unitId, channels: ['booking_com'] });
    expect(unit.nights.map((n: { date: string; channels: { booking_com: { state: string } } }) => [n.date, n.channels.booking_com.state])).toEqual([
      ['2031-07-01', 'in_sync'],
      ['2031-07-02', 'pending'],
      ['2031-07-03', 'stale'],
      ['2031-07-04', 'pending'],
    ]);
    expect(unit.nights[0]).toMatchObject({ open: true, available: 1, allotment: 2, price: 90_000, minNights: 2 });

    // A push of 07-02 and 07-04 fails: those nights read failed (not pending) until a push of them
    // succeeds; 07-04's later success clears it, 07-02 stays failed.
    const channelState = createChannelStateStore(db);
    await channelState.recordPushFailure(unitId, 'booking_com', ['2031-07-02', '2031-07-04'], 'Booking.com answered 500');
    const states = async () =>
      (await stack.http('GET', `/properties/${propertyId}/calendar?from=2031-07-01&to=2031-07-04`)).body.units[0].nights.map(
        (n: { date: string; channels: { booking_com: { state: string } } }) => n.channels.booking_com.state,
      );
    expect(await states()).toEqual(['in_sync', 'failed', 'stale', 'failed']);
    await channelState.recordChannelState(unitId, 'booking_com', [{ date: '2031-07-04', available: 0, minNights: 1, closedToArrival: false, closed: false }]);
    expect(await states()).toEqual(['in_sync', 'failed', 'stale', 'pending']);
    expect(unit.nights[3]).toMatchObject({ open: false, available: 0 });
    expect(unit.reservations).toEqual([expect.objectContaining({ id: `res_grid${run}`, channel: 'airbnb', guestName: 'Grid Guest', checkIn: '2031-06-30', checkOut: '2031-07-02' })]);

    const tooLong = await stack.http('GET', `/properties/${propertyId}/calendar?from=2031-07-01&to=2031-12-31`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toMatch(/to: at most 62 nights/);
  });
});
