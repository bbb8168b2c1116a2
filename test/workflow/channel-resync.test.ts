// The full resync of a channel: it pages through Booking.com's reservations and calendars, replays
// the reservations central inventory missed, pushes the nights that drifted, checkpoints its page
// cursor in heartbeat details (a failed attempt resumes at that page), and reports its status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { eventually } from '../support/harness';
import { bookingComBases, seedUnit, startBookingHarness, type BookingHarness } from '../support/booking-harness';
import { channelResyncRuns, reservations } from '../../db/schema';
import { createBookingComClient } from '../../providers/booking-com/client';
import { ProviderError } from '../../providers/errors';
import { addDays, daysBetween } from '../../domain/dates';
import { channelReservationId, type ResyncState } from '../../domain/bookings';
import { resyncScheduleId } from '../../domain/workflow-ids';
import { resyncStateQuery } from '../../workflows/bookings/messages';

let h: BookingHarness;
/** The answer to this page is lost once, as when a worker dies mid-page. */
let failOnceAtCursor: string | undefined;
const cursors: string[] = [];

beforeAll(async () => {
  const credentials = { username: `resync-${Date.now()}`, password: 'sandbox-password' };
  h = await startBookingHarness({
    bookingComCredentials: credentials,
    syncTiming: { quietMs: 200, maxDelayMs: 1_000 },
    reservationTiming: { idleCloseMs: 1_000 },
    channels: (url) => {
      const real = createBookingComClient({ ...bookingComBases(url), ...credentials });
      return [
        {
          ...real,
          async listReservations(request) {
            cursors.push(request.cursor ?? '');
            const page = await real.listReservations(request);
            if (failOnceAtCursor !== undefined && request.cursor === failOnceAtCursor) {
              // The page was served, its answer lost: the attempt dies here.
              failOnceAtCursor = undefined;
              throw new ProviderError('booking_com', 'listReservations', 'network', 'socket hang up', { code: 'ECONNRESET' });
            }
            return page;
          },
        },
      ];
    },
  });
});
afterAll(async () => h?.close());

const horizonFrom = (date: string) => daysBetween(new Date().toISOString().slice(0, 10), date) + 60;

describe('full resync', () => {
  it('replays missed reservations, corrects drifted nights, and resumes from its checkpointed cursor', async () => {
    const from = '2027-12-01';
    const seed = await seedUnit(h, { from, nights: 20, count: 5, available: 5, push: true });
    // Five reservations Skerry never pulled (its reservation poll is not running here).
    const missed = Array.from({ length: 5 }, (_, i) =>
      h.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: addDays(from, i * 2), checkOut: addDays(from, i * 2 + 1), guestName: `Missed ${i}` }),
    );
    // Someone edited Booking.com's extranet directly: three nights show a wrong count.
    h.bookingCom.setRoomsToSell(seed.hotelId, seed.roomId, addDays(from, 15), addDays(from, 17), 0);
    failOnceAtCursor = '0:3';

    const { workflowId } = await h.bookings.startResync('booking_com', { pageSize: 1, horizonDays: horizonFrom(addDays(from, 20)), accounts: [seed.hotelId] });
    const result: ResyncState = await h.temporal.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({
      status: 'completed',
      progress: { phase: 'done', pages: 5, reservationsChecked: 5, reservationsCorrected: 5, unitsDone: [seed.unitId] },
    });
    // Pages 0-2 were fetched once; page 3 failed once and was fetched again by the retried attempt,
    // which started from the checkpoint instead of from the first page.
    // Booking.com's summary has no paging: each page is cut from the property's whole answer ("<property>:<offset>").
    expect(cursors.slice(-6)).toEqual(['', '0:1', '0:2', '0:3', '0:3', '0:4']);
    expect(h.bookingCom.summaryRequests.slice(-6)).toEqual(Array(6).fill(seed.hotelId));

    for (const guest of missed) {
      await eventually(async () => {
        const [row] = await h.database.db.select().from(reservations).where(eq(reservations.id, channelReservationId('booking_com', guest.resId)));
        return row?.status === 'confirmed';
      }, { what: `missed reservation ${guest.resId} replayed` });
    }
    const calendar = await h.inventory.calendar.readCalendar(seed.unitId, { from, to: addDays(from, 9) });
    expect(calendar.map((day) => day.row?.booked)).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);

    // The drifted nights are pushed back to the truth. (The replayed reservations' nights count as
    // drift only while their holds are still in flight, so the total here is 3 to 8.)
    expect(result.progress.calendarDaysCorrected).toBeGreaterThanOrEqual(3);
    expect(result.progress.calendarDaysCorrected).toBeLessThanOrEqual(8);
    await eventually(() => h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, addDays(from, 15), addDays(from, 17)).every((day) => day.roomsToSell === 5), {
      what: 'the drift corrected on Booking.com',
    });
    await eventually(() => h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, from, from)[0]?.roomsToSell === 4, { what: 'the replayed reservation pushed' });

    const [run] = await h.database.db.select().from(channelResyncRuns).where(eq(channelResyncRuns.id, workflowId));
    expect(run).toMatchObject({ status: 'completed', pages: 5, reservationsCorrected: 5, calendarDaysCorrected: result.progress.calendarDaysCorrected });
    expect(run!.finishedAt).not.toBeNull();
    expect(await h.temporal.workflow.getHandle(workflowId).query(resyncStateQuery)).toMatchObject({ status: 'completed' });
  });

  it('corrects exactly the drifted nights, and finds nothing when the channel agrees', async () => {
    const from = '2028-02-01';
    const seed = await seedUnit(h, { from, nights: 10, count: 2, available: 2, push: true });
    const resync = async () => {
      const { workflowId } = await h.bookings.startResync('booking_com', { horizonDays: horizonFrom(addDays(from, 10)), accounts: [seed.hotelId] });
      return (await h.temporal.workflow.getHandle(workflowId).result()) as ResyncState;
    };
    expect(await resync()).toMatchObject({ status: 'completed', progress: { reservationsCorrected: 0, calendarDaysChecked: 10, calendarDaysCorrected: 0 } });

    h.bookingCom.setRoomsToSell(seed.hotelId, seed.roomId, addDays(from, 3), addDays(from, 5), 7);
    expect(await resync()).toMatchObject({ status: 'completed', progress: { calendarDaysChecked: 10, calendarDaysCorrected: 3 } });
    await eventually(() => h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, addDays(from, 3), addDays(from, 5)).every((day) => day.roomsToSell === 2), {
      what: 'the three drifted nights corrected',
    });
    expect(await resync()).toMatchObject({ progress: { calendarDaysCorrected: 0 } });
  });

  it('follows the cancellation of an overbooked reservation that only the resync sees', async () => {
    const from = '2028-04-01';
    const seed = await seedUnit(h, { from, nights: 3, push: true });
    await h.bookings.createBooking({ unitId: seed.unitId, checkIn: from, checkOut: addDays(from, 1), guest: { name: 'First Come' } });
    // Booking.com still sold the night (before the push reached it); Skerry never pulled the message.
    const guest = h.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: from, checkOut: addDays(from, 1), guestName: 'Second', force: true });
    const id = channelReservationId('booking_com', guest.resId);
    const resync = async () => {
      const { workflowId } = await h.bookings.startResync('booking_com', { horizonDays: horizonFrom(addDays(from, 3)), accounts: [seed.hotelId] });
      return (await h.temporal.workflow.getHandle(workflowId).result()) as ResyncState;
    };
    expect(await resync()).toMatchObject({ status: 'completed', progress: { reservationsCorrected: 1 } });
    const status = async () => (await h.database.db.select().from(reservations).where(eq(reservations.id, id)))[0]?.status;
    await eventually(async () => (await status()) === 'overbooked', { what: 'kept as overbooked' });
    // The property cancels it on Booking.com; the message is lost, the next resync finds it.
    h.bookingCom.cancel(guest.resId);
    expect(await resync()).toMatchObject({ status: 'completed', progress: { reservationsCorrected: 1 } });
    await eventually(async () => (await status()) === 'cancelled', { what: 'the overbooked reservation cancelled' });
    expect(await resync()).toMatchObject({ progress: { reservationsCorrected: 0 } });
  });

  it('runs nightly from a Temporal Schedule at the configured hour', async () => {
    const account = `schedule-test-${Date.now()}`;
    const scheduleId = await h.bookings.ensureResyncSchedule('booking_com', account, 4);
    expect(scheduleId).toBe(resyncScheduleId('booking_com', account));
    // Idempotent: a second start finds it.
    await h.bookings.ensureResyncSchedule('booking_com', account, 4);
    const schedule = h.temporal.schedule.getHandle(scheduleId);
    try {
      const described = await schedule.describe();
      expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 4, end: 4, step: 1 }] });
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'channelResyncWorkflow', taskQueue: h.taskQueue });
    } finally {
      await schedule.delete();
    }
  });
});
