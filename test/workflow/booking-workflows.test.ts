// Booking workflows against the real dev server and Postgres, with the Booking.com sandbox as the
// channel and a scripted payment provider: the direct-booking saga (hold → child payment → confirm
// or release) and the availability sync (coalescing, continue-as-new, faults).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { eventually } from '../support/harness';
import { seedUnit, startBookingHarness, type BookingHarness } from '../support/booking-harness';
import { BookingConflictError, BookingUnavailableError } from '../../client/bookings';
import { reservations } from '../../db/schema';
import { addDays } from '../../domain/dates';
import { listingSyncStateQuery } from '../../workflows/bookings/messages';
import { listingSyncWorkflowId, reservationWorkflowId } from '../../domain/workflow-ids';
import { paymentWorkflowId } from '../../domain/workflow-ids';

let h: BookingHarness;
beforeAll(async () => {
  h = await startBookingHarness({
    paymentTiming: { confirmWindowMs: 60_000, expiresAfterMs: 4_000, refundWindowMs: 60_000, authorizationHoldMs: 60_000 },
    syncTiming: { quietMs: 300, maxDelayMs: 2_000 },
    reservationTiming: { idleCloseMs: 1_500 },
  });
});
afterAll(async () => h?.close());

let offset = 0;
/** Each test books its own stretch of future nights. */
const nextStart = () => addDays('2027-06-01', (offset += 40));

const sandboxDay = (seed: Awaited<ReturnType<typeof seedUnit>>, date: string) =>
  h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, date, date)[0];

const pay = async (paymentId: string, status: 'succeeded' | 'failed') => {
  const payment = await h.payments.getPayment(paymentId);
  h.scripted!.settle(payment.providerReference!, { status, providerStatus: status, amountCaptured: status === 'succeeded' ? payment.amount.value : 0 });
  await h.payments.deliverObservation({
    paymentId,
    provider: 'stripe',
    kind: 'observation',
    observation: {
      eventId: `evt_${status}_${paymentId}`,
      source: 'webhook',
      providerEventType: `test.${status}`,
      status,
      amountCaptured: status === 'succeeded' ? payment.amount.value : undefined,
      failureReason: status === 'failed' ? 'card_declined' : undefined,
      occurredAt: new Date().toISOString(),
    },
  });
};

const rowOf = async (reservationId: string) => (await h.database.db.select().from(reservations).where(eq(reservations.id, reservationId)))[0];

describe('direct bookings', () => {
  it('confirms a booking without payment and tells Booking.com the unit is gone', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 5 });
    const { booking } = await h.bookings.createBooking({ unitId: seed.unitId, checkIn: addDays(from, 1), checkOut: addDays(from, 3), guest: { name: 'Greta' } });
    expect(booking).toMatchObject({ status: 'confirmed', total: { value: 200_000, currency: 'SEK' } });
    expect((await rowOf(booking.reservationId))?.status).toBe('confirmed');
    await eventually(() => sandboxDay(seed, addDays(from, 2))?.roomsToSell === 0, { what: 'Booking.com showing the unit taken' });
    expect(sandboxDay(seed, addDays(from, 1))?.roomsToSell).toBe(0);
    // Only the booked nights were pushed: the others were never told anything (no push needed).
    expect(sandboxDay(seed, from)).toBeUndefined();
  });

  it('refuses a stay that is not available, naming the nights, and holds nothing', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 5 });
    await h.bookings.createBooking({ unitId: seed.unitId, checkIn: from, checkOut: addDays(from, 2), guest: { name: 'First' } });
    const refused = await h.bookings
      .createBooking({ unitId: seed.unitId, checkIn: addDays(from, 1), checkOut: addDays(from, 4), guest: { name: 'Second' } })
      .then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(BookingUnavailableError);
    expect((refused as Error).message).toContain(`not available on ${addDays(from, 1)} (0 left)`);
    expect((refused as BookingUnavailableError).booking.status).toBe('refused');
    const calendar = await h.inventory.calendar.readCalendar(seed.unitId, { from, to: addDays(from, 4) });
    expect(calendar.map((day) => day.row?.booked)).toEqual([1, 1, 0, 0, 0]);
  });

  it('holds, takes the payment as a child workflow, and confirms when it succeeds', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 5 });
    const { booking, payment } = await h.bookings.createBooking({
      unitId: seed.unitId,
      checkIn: from,
      checkOut: addDays(from, 2),
      guest: { name: 'Paying guest' },
      payment: { provider: 'stripe' },
    });
    expect(booking.status).toBe('held');
    expect(booking.paymentId).toBe(booking.reservationId.replace('res_', 'pay_'));
    expect(payment).toMatchObject({ amount: { value: 200_000, currency: 'SEK' }, nextAction: { type: 'stripe_client_secret' } });
    const child = await h.temporal.workflow.getHandle(paymentWorkflowId(booking.paymentId!)).describe();
    expect(child.parentExecution?.workflowId).toBe(reservationWorkflowId(booking.reservationId));

    await pay(booking.paymentId!, 'succeeded');
    const confirmed = await eventually(async () => {
      const current = await h.bookings.getBooking(booking.reservationId);
      return current.status === 'confirmed' ? current : undefined;
    }, { what: 'booking confirmed after payment' });
    expect(confirmed.paymentStatus).toBe('succeeded');
    expect((await rowOf(booking.reservationId))).toMatchObject({ status: 'confirmed', holdExpiresAt: null, paymentId: booking.paymentId });
  });

  it('releases the hold when the payment fails (the compensation), and Booking.com sells again', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 3 });
    const { booking } = await h.bookings.createBooking({ unitId: seed.unitId, checkIn: from, checkOut: addDays(from, 1), guest: { name: 'Declined' }, payment: { provider: 'stripe' } });
    await eventually(() => sandboxDay(seed, from)?.roomsToSell === 0, { what: 'the hold pushed to Booking.com' });
    await pay(booking.paymentId!, 'failed');
    const released = await h.temporal.workflow.getHandle(reservationWorkflowId(booking.reservationId)).result();
    expect(released).toMatchObject({ status: 'released', reason: 'payment failed' });
    expect((await rowOf(booking.reservationId))?.status).toBe('released');
    expect((await h.inventory.calendar.readCalendar(seed.unitId, { from, to: from }))[0]?.row?.booked).toBe(0);
    await eventually(() => sandboxDay(seed, from)?.roomsToSell === 1, { what: 'Booking.com selling the night again' });
  });

  it('releases the hold when the payment expires unpaid', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 3 });
    const { booking } = await h.bookings.createBooking({ unitId: seed.unitId, checkIn: from, checkOut: addDays(from, 2), guest: { name: 'Gone' }, payment: { provider: 'stripe' } });
    const result = await h.temporal.workflow.getHandle(reservationWorkflowId(booking.reservationId)).result();
    expect(result).toMatchObject({ status: 'released', reason: 'payment expired', paymentStatus: 'expired' });
    expect((await h.inventory.calendar.readCalendar(seed.unitId, { from, to: addDays(from, 1) })).map((day) => day.row?.booked)).toEqual([0, 0]);
  });

  it('cancels a paid booking: nights back, the payment refunded through its workflow', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 3 });
    const { booking } = await h.bookings.createBooking({ unitId: seed.unitId, checkIn: from, checkOut: addDays(from, 1), guest: { name: 'Changed plans' }, payment: { provider: 'stripe' } });
    await pay(booking.paymentId!, 'succeeded');
    await eventually(async () => (await h.bookings.getBooking(booking.reservationId)).status === 'confirmed');
    // The reservation workflow closes when idle; a cancel starts it again from the database.
    await h.temporal.workflow.getHandle(reservationWorkflowId(booking.reservationId)).result();
    const cancelled = await h.bookings.cancelBooking(booking.reservationId, 'guest asked');
    expect(cancelled.booking).toMatchObject({ status: 'cancelled', reason: 'guest asked' });
    expect(cancelled.payment).toMatchObject({ status: 'refunded', amountRefunded: 100_000 });
    expect((await h.inventory.calendar.readCalendar(seed.unitId, { from, to: from }))[0]?.row?.booked).toBe(0);
    await expect(h.bookings.cancelBooking(booking.reservationId)).rejects.toThrow(BookingConflictError);
  });

  it('returns the same booking for a repeated Idempotency-Key and refuses it with other parameters', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 3, count: 2 });
    const request = { unitId: seed.unitId, checkIn: from, checkOut: addDays(from, 1), guest: { name: 'Twice' } };
    const key = `booking-${from}-${Math.random()}`;
    const first = await h.bookings.createBooking(request, { idempotencyKey: key });
    const second = await h.bookings.createBooking(request, { idempotencyKey: key });
    expect(second.booking.reservationId).toBe(first.booking.reservationId);
    expect((await h.inventory.calendar.readCalendar(seed.unitId, { from, to: from }))[0]?.row?.booked).toBe(1);
    await expect(h.bookings.createBooking({ ...request, guest: { name: 'Someone else' } }, { idempotencyKey: key })).rejects.toThrow(/different parameters/);
  });
});

describe('availability sync', () => {
  it('coalesces a burst of 1,000 calendar changes into exactly three pushes of two OTA requests', async () => {
    const from = nextStart();
    // 1,200 nights exist; 1,000 of them change, in four blocks of 250 with one price per block.
    const seed = await seedUnit(h, { from, nights: 1_200, count: 3, available: 3 });
    offset += 1_200;
    const local = await startBookingHarnessForBurst();
    try {
      const dates = Array.from({ length: 1_000 }, (_, i) => ({ date: addDays(from, Math.floor(i / 250) * 300 + (i % 250)), price: 150_000 + Math.floor(i / 250) * 10_000 }));
      for (let start = 0; start < dates.length; start += 50) {
        await Promise.all(
          dates.slice(start, start + 50).map(({ date, price }) =>
            local.bookings.updateCalendar(seed.unitId, [{ from: date, to: date, price: { value: price, currency: 'SEK' }, available: 2 }]),
          ),
        );
      }
      const handle = h.temporal.workflow.getHandle(listingSyncWorkflowId(seed.unitId, 'booking_com'));
      const state = await eventually(async () => {
        const current = await handle.query(listingSyncStateQuery);
        return current.daysPushed >= 1_000 && current.status === 'idle' ? current : undefined;
      }, { timeoutMs: 60_000, what: 'the coalesced pushes' });
      // All 1,000 changes land in one coalescing window. A push carries at most 366 nights
      // (maxDaysPerPush), so the window's 1,000 nights go out as 366 + 366 + 268: three pushes,
      // each one OTA_HotelAvailNotif and one OTA_HotelRateAmountNotif request.
      expect(state).toMatchObject({ changesReceived: 1_000, pushes: 3, daysPushed: 1_000, requests: 6, pendingRanges: [] });
      const received = h.bookingCom.pushLog.filter((push) => push.hotelId === seed.hotelId);
      expect(received.filter((push) => push.type === 'avail')).toHaveLength(3);
      expect(received.filter((push) => push.type === 'rate')).toHaveLength(3);
      // Each push spans two of the four blocks (split at 366 and 732 nights): per block, one
      // rooms-to-sell, one stay/stop-sell and one arrival message, and one price.
      expect(received.filter((push) => push.type === 'avail').map((push) => push.items)).toEqual([6, 6, 6]);
      expect(received.filter((push) => push.type === 'rate').map((push) => push.items)).toEqual([2, 2, 2]);
      for (const { date, price } of [dates[0]!, dates[499]!, dates[999]!]) {
        expect(sandboxDay(seed, date)).toMatchObject({ roomsToSell: 2, price, currency: 'SEK' });
      }
      expect(sandboxDay(seed, addDays(from, 250))).toBeUndefined();
      const described = await handle.describe();
      expect(described.searchAttributes).toMatchObject({ ListingId: [seed.unitId], Channel: ['booking_com'], SyncStatus: ['idle'] });
    } finally {
      await local.close();
    }
  });

  it('pushes sold nights at once, without waiting for the quiet window, and takes waiting edits along', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 10, count: 1, available: 1 });
    // A sync whose quiet window (an hour) would hold any plain edit for the whole test.
    const local = await startBookingHarnessForBurst({ quietMs: 3_600_000, maxDelayMs: 3_600_000 });
    try {
      await local.bookings.updateCalendar(seed.unitId, [{ from: addDays(from, 8), to: addDays(from, 8), price: { value: 777_000, currency: 'SEK' } }]);
      const handle = h.temporal.workflow.getHandle(listingSyncWorkflowId(seed.unitId, 'booking_com'));
      const waiting = await eventually(async () => {
        const current = await handle.query(listingSyncStateQuery);
        return current.status === 'coalescing' && current.pendingRanges.length === 1 ? current : undefined;
      }, { what: 'the edit waiting in its quiet window' });
      expect(waiting.pushes).toBe(0);

      // A sale is urgent: the sync pushes at once, the waiting edit with it.
      const { booking } = await h.bookings.createBooking({ unitId: seed.unitId, checkIn: addDays(from, 2), checkOut: addDays(from, 4), guest: { name: 'Hedda' } });
      expect(booking.status).toBe('confirmed');
      // One push is two requests (availability, then rates): the rates may land a moment after the rooms.
      await eventually(() => sandboxDay(seed, addDays(from, 3))?.roomsToSell === 0 && sandboxDay(seed, addDays(from, 8))?.price === 777_000, {
        what: 'the sold nights and the waiting price on Booking.com',
      });
      expect(sandboxDay(seed, addDays(from, 8))?.price).toBe(777_000);
      const state = await eventually(async () => {
        const current = await handle.query(listingSyncStateQuery);
        return current.status === 'idle' ? current : undefined;
      }, { what: 'the sync idle after the push' });
      expect(state).toMatchObject({ pushes: 1, pendingRanges: [] });
    } finally {
      await local.close();
    }
  });

  it('continues as new without losing pending changes, and pushes through injected 500s', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 30, count: 2, available: 2 });
    const local = await startBookingHarnessForBurst({ maxHistoryEvents: 40 });
    try {
      h.bookingCom.faults.set({ errorRate: 1 });
      for (let i = 0; i < 30; i += 1) {
        await local.bookings.updateCalendar(seed.unitId, [{ from: addDays(from, i), to: addDays(from, i), price: { value: 90_000 + i, currency: 'SEK' } }]);
      }
      await eventually(() => h.bookingCom.faults.counts.error >= 2, { what: 'pushes failing on injected 500s' });
      h.bookingCom.faults.clear();
      const handle = h.temporal.workflow.getHandle(listingSyncWorkflowId(seed.unitId, 'booking_com'));
      const state = await eventually(async () => {
        const current = await handle.query(listingSyncStateQuery);
        return sandboxDay(seed, addDays(from, 29))?.price === 90_029 && current.status === 'idle' ? current : undefined;
      }, { timeoutMs: 60_000, what: 'every change pushed after the faults' });
      expect(state.runsContinued).toBeGreaterThan(0);
      expect(state.changesReceived).toBe(30);
      for (let i = 0; i < 30; i += 1) expect(sandboxDay(seed, addDays(from, i))?.price).toBe(90_000 + i);
    } finally {
      h.bookingCom.faults.clear();
      await local.close();
    }
  });
});

/** A bookings client with its own sync timing, on the harness's task queue. */
async function startBookingHarnessForBurst(timing: { maxHistoryEvents?: number; quietMs?: number; maxDelayMs?: number } = {}) {
  const { createBookingsClient } = await import('../../client/bookings');
  const bookings = createBookingsClient({
    temporal: h.temporal,
    inventory: h.inventory,
    taskQueue: h.taskQueue,
    syncTiming: { quietMs: 3_000, maxDelayMs: 120_000, ...timing },
  });
  return { bookings, close: async () => {} };
}
