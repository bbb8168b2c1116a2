// Booking.com reservations end to end below the API: the sandbox's guest books, the poll workflow
// pulls the OTA_HotelResNotif queue, the reservation workflow holds the nights and acknowledges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { eventually } from '../support/harness';
import { bookingComBases, seedUnit, startBookingHarness, type BookingHarness } from '../support/booking-harness';
import { channelMessages, overbookingEvents, reservations } from '../../db/schema';
import { createBookingComClient } from '../../providers/booking-com/client';
import { ProviderError } from '../../providers/errors';
import { addDays } from '../../domain/dates';
import { channelReservationId } from '../../domain/bookings';
import { pollNowSignal, reservationPollStateQuery } from '../../workflows/bookings/messages';
import { reservationPollWorkflowId, reservationWorkflowId } from '../../domain/workflow-ids';
import { channelAccountKey } from '../../api/routes/channels';

let h: BookingHarness;
let failAcks = 0;
let pollId: string;

beforeAll(async () => {
  const credentials = { username: `machine-${Date.now()}`, password: 'sandbox-password' };
  h = await startBookingHarness({
    bookingComCredentials: credentials,
    syncTiming: { quietMs: 200, maxDelayMs: 1_000 },
    reservationTiming: { idleCloseMs: 1_000 },
    channels: (url) => {
      const real = createBookingComClient({ ...bookingComBases(url), ...credentials });
      return [
        {
          ...real,
          // Lets a test make Booking.com refuse acknowledgements for a while (HTTP 503).
          async confirmReservation(event) {
            if (failAcks > 0) {
              failAcks -= 1;
              throw new ProviderError('booking_com', 'acknowledgeReservation', 'unavailable', 'HTTP 503: Service Unavailable', { httpStatus: 503 });
            }
            return real.confirmReservation(event);
          },
        },
      ];
    },
  });
  const account = channelAccountKey(credentials.username, h.taskQueue);
  pollId = reservationPollWorkflowId('booking_com', account);
  await h.bookings.ensureReservationPoll('booking_com', account, 60_000);
});
afterAll(async () => h?.close());

let offset = 0;
const nextStart = () => addDays('2027-09-01', (offset += 20));
const pollNow = () => h.temporal.workflow.getHandle(pollId).signal(pollNowSignal);
const reservationRow = async (id: string) => (await h.database.db.select().from(reservations).where(eq(reservations.id, id)))[0];
const booked = async (unitId: string, from: string, to: string) => (await h.inventory.calendar.readCalendar(unitId, { from, to })).map((day) => day.row?.booked);

describe('Booking.com reservations', () => {
  it('pulls a new reservation, holds the nights, acknowledges it, then follows its modification and cancellation', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 10, count: 2, available: 2, push: true });
    const guest = h.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: addDays(from, 1), checkOut: addDays(from, 3), guestName: 'Britt Ek' });
    await pollNow();
    const id = channelReservationId('booking_com', guest.resId);
    const row = await eventually(async () => {
      const current = await reservationRow(id);
      return current?.status === 'confirmed' ? current : undefined;
    }, { what: 'the reservation held' });
    expect(row).toMatchObject({ channel: 'booking_com', channelReservationId: guest.resId, unitId: seed.unitId, guestName: 'Britt Ek', rooms: 1 });
    expect(await booked(seed.unitId, from, addDays(from, 3))).toEqual([0, 1, 1, 0]);
    // Booking.com took the room off sale itself: nobody pushes it these nights, and it is in sync.
    const holds = h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, from, addDays(from, 3)).map((day) => day.roomsToSell);
    expect(holds).toEqual([2, 1, 1, 2]);
    const calendar = await eventually(async () => {
      const days = await h.inventory.calendar.readCalendar(seed.unitId, { from, to: addDays(from, 3) });
      return days.every((day) => day.channels.booking_com?.inSync) ? days : undefined;
    }, { what: 'Booking.com in sync for the nights it sold' });
    expect(calendar.map((day) => day.channels.booking_com?.available)).toEqual(holds);
    await eventually(() => h.bookingCom.reservation(guest.resId).acknowledgements.some((ack) => ack.outcome === 'processed'), { what: 'the acknowledgement' });
    expect(h.bookingCom.queueState().new.find((entry) => entry.resId === guest.resId)).toBeUndefined();
    // The acknowledgement is recorded right after Booking.com took it.
    const message = await eventually(async () => {
      const [row] = await h.database.db.select().from(channelMessages).where(eq(channelMessages.channelReservationId, guest.resId));
      return row?.ackedAt ? row : undefined;
    }, { what: 'the acknowledgement recorded' });
    expect(message).toMatchObject({ kind: 'new', ackOutcome: 'processed', ackAttempts: 1 });

    h.bookingCom.modify(guest.resId, { checkIn: addDays(from, 5), checkOut: addDays(from, 8), rooms: 2 });
    await pollNow();
    await eventually(async () => (await reservationRow(id))?.checkIn === addDays(from, 5), { what: 'the modification applied' });
    expect(await booked(seed.unitId, from, addDays(from, 8))).toEqual([0, 0, 0, 0, 0, 2, 2, 2, 0]);

    h.bookingCom.cancel(guest.resId);
    await pollNow();
    await eventually(async () => (await reservationRow(id))?.status === 'cancelled', { what: 'the cancellation applied' });
    expect(await booked(seed.unitId, from, addDays(from, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    await eventually(() => h.bookingCom.queueState().modify.every((entry) => entry.resId !== guest.resId), { what: 'the modify queue acknowledged' });
  });

  it('keeps a Booking.com reservation it cannot place as overbooked (it stands there), then follows the property moving and cancelling it', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 5, push: true });
    // Booking.com still shows the unit (the guest books it there) while the direct booking takes it.
    const guest = h.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: from, checkOut: addDays(from, 2), guestName: 'Too Late' });
    const { booking } = await h.bookings.createBooking({ unitId: seed.unitId, checkIn: addDays(from, 1), checkOut: addDays(from, 2), guest: { name: 'First Come' } });
    expect(booking.status).toBe('confirmed');
    await pollNow();

    const id = channelReservationId('booking_com', guest.resId);
    const row = await eventually(async () => {
      const current = await reservationRow(id);
      return current?.status === 'overbooked' ? current : undefined;
    }, { what: 'the Booking.com reservation overbooked' });
    expect(row!.reason).toBe(`overbooking: not available on ${addDays(from, 1)} (0 left)`);
    // Acknowledged as processed: no <Errors>, which Booking.com would only keep queued and e-mail.
    await eventually(() => h.bookingCom.reservation(guest.resId).acknowledgements.length > 0, { what: 'Booking.com acknowledged' });
    expect(h.bookingCom.reservation(guest.resId)).toMatchObject({ state: 'booked', acknowledgements: [expect.objectContaining({ outcome: 'processed' })] });
    expect(h.bookingCom.queueState().new.find((entry) => entry.resId === guest.resId)).toBeUndefined();
    const [event] = await h.database.db.select().from(overbookingEvents).where(eq(overbookingEvents.reservationId, id));
    expect(event).toMatchObject({ channel: 'booking_com', unitId: seed.unitId, channelReservationId: guest.resId, channelNotified: false, details: expect.objectContaining({ dates: [addDays(from, 1)] }) });
    // Inventory is as the direct booking left it.
    expect(await booked(seed.unitId, from, addDays(from, 2))).toEqual([0, 1, 0]);

    // The property moves the guest to free nights on Booking.com: the modification places the reservation.
    h.bookingCom.modify(guest.resId, { checkIn: addDays(from, 2), checkOut: addDays(from, 4) });
    await pollNow();
    await eventually(async () => (await reservationRow(id))?.status === 'confirmed', { what: 'the relocated reservation placed' });
    expect(await booked(seed.unitId, from, addDays(from, 4))).toEqual([0, 1, 1, 1, 0]);
    h.bookingCom.cancel(guest.resId);
    await pollNow();
    await eventually(async () => (await reservationRow(id))?.status === 'cancelled', { what: 'the cancellation' });
    expect(await booked(seed.unitId, from, addDays(from, 4))).toEqual([0, 1, 0, 0, 0]);
  });

  it('keeps a Booking.com modification onto nights that are gone as overbooked: the old nights go back, the acknowledgement is a success', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 6, push: true });
    const guest = h.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: from, checkOut: addDays(from, 2), guestName: 'Mover' });
    await pollNow();
    const id = channelReservationId('booking_com', guest.resId);
    await eventually(async () => (await reservationRow(id))?.status === 'confirmed', { what: 'the reservation placed' });
    await h.bookings.createBooking({ unitId: seed.unitId, checkIn: addDays(from, 4), checkOut: addDays(from, 5), guest: { name: 'Direct' } });
    // The guest moves on Booking.com onto the night the direct booking took (Booking.com had not heard yet).
    h.bookingCom.modify(guest.resId, { checkIn: addDays(from, 3), checkOut: addDays(from, 5), force: true });
    await pollNow();
    const row = await eventually(async () => {
      const current = await reservationRow(id);
      return current?.status === 'overbooked' ? current : undefined;
    }, { what: 'the modification overbooked' });
    expect(row).toMatchObject({ checkIn: addDays(from, 3), checkOut: addDays(from, 5), reason: `modification overbooked: overbooking: not available on ${addDays(from, 4)} (0 left)` });
    // Its old nights are free again; the direct booking keeps its night.
    expect(await booked(seed.unitId, from, addDays(from, 5))).toEqual([0, 0, 0, 0, 1, 0]);
    await eventually(() => h.bookingCom.queueState().modify.every((entry) => entry.resId !== guest.resId), { what: 'the modification acknowledged' });
    expect(h.bookingCom.reservation(guest.resId).acknowledgements.map((ack) => ack.outcome)).toEqual(['processed', 'processed']);
    const events = await h.database.db.select().from(overbookingEvents).where(eq(overbookingEvents.reservationId, id));
    expect(events).toEqual([expect.objectContaining({ checkIn: addDays(from, 3), checkOut: addDays(from, 5), details: expect.objectContaining({ kind: 'modified' }) })]);
  });

  it('cancels an overbooked reservation the property cancels on Booking.com, without nights to give back', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 3, push: true });
    const guest = h.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: from, checkOut: addDays(from, 1), guestName: 'Moved Elsewhere' });
    await h.bookings.createBooking({ unitId: seed.unitId, checkIn: from, checkOut: addDays(from, 1), guest: { name: 'Direct' } });
    await pollNow();
    const id = channelReservationId('booking_com', guest.resId);
    await eventually(async () => (await reservationRow(id))?.status === 'overbooked', { what: 'overbooked' });
    await eventually(() => h.bookingCom.queueState().new.every((entry) => entry.resId !== guest.resId), { what: 'acknowledged' });
    h.bookingCom.cancel(guest.resId);
    await pollNow();
    await eventually(async () => (await reservationRow(id))?.status === 'cancelled', { what: 'the cancellation' });
    expect(await booked(seed.unitId, from, from)).toEqual([1]);
  });

  it('retries a failing acknowledgement until Booking.com takes it, with the unacknowledged age visible meanwhile', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 5, push: true });
    failAcks = 2;
    const guest = h.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: from, checkOut: addDays(from, 1) });
    await pollNow();
    const id = channelReservationId('booking_com', guest.resId);
    await eventually(async () => (await reservationRow(id))?.status === 'confirmed', { what: 'the hold' });
    const pending = await eventually(async () => {
      const [message] = await h.database.db.select().from(channelMessages).where(eq(channelMessages.channelReservationId, guest.resId));
      return message && message.ackAttempts >= 1 && message.ackedAt === null ? message : undefined;
    }, { what: 'a failed acknowledgement recorded' });
    expect(pending.lastError).toMatch(/503/);
    const unacked = await h.inventory.channelMessages.listUnacked('booking_com');
    expect(unacked.find((message) => message.channelReservationId === guest.resId)?.ageMs).toBeGreaterThan(0);
    await pollNow();
    const pollState = await eventually(async () => {
      const state = await h.temporal.workflow.getHandle(pollId).query(reservationPollStateQuery);
      return state.unacked.some((message) => message.channelReservationId === guest.resId) ? state : undefined;
    }, { what: 'the poll showing the unacknowledged reservation' });
    expect(pollState.oldestUnackedAgeMs).toBeGreaterThan(0);

    await eventually(() => h.bookingCom.reservation(guest.resId).acknowledgements.some((ack) => ack.outcome === 'processed'), { timeoutMs: 30_000, what: 'the retried acknowledgement' });
    const acked = await eventually(async () => {
      const [row] = await h.database.db.select().from(channelMessages).where(eq(channelMessages.channelReservationId, guest.resId));
      return row?.ackedAt ? row : undefined;
    }, { what: 'the acknowledgement recorded' });
    expect(acked).toMatchObject({ ackAttempts: 3, ackOutcome: 'processed', lastError: null });
    expect(failAcks).toBe(0);
  });

  it('takes a failed pull as nothing: the next poll is the retry', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 3, push: true });
    h.bookingCom.faults.set({ errorRate: 1 });
    const guest = h.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: from, checkOut: addDays(from, 1) });
    try {
      const before = (await h.temporal.workflow.getHandle(pollId).query(reservationPollStateQuery)).polls;
      await pollNow();
      const failed = await eventually(async () => {
        const state = await h.temporal.workflow.getHandle(pollId).query(reservationPollStateQuery);
        return state.polls > before && state.lastError ? state : undefined;
      }, { what: 'a failed poll' });
      expect(failed.lastError).toMatch(/500/);
    } finally {
      h.bookingCom.faults.clear();
    }
    await pollNow();
    await eventually(async () => (await reservationRow(channelReservationId('booking_com', guest.resId)))?.status === 'confirmed', { what: 'the next poll' });
    // The hold activity writes the row; ListingId is upserted by the workflow task that follows it.
    const workflow = await eventually(async () => {
      const current = await h.temporal.workflow.getHandle(reservationWorkflowId(channelReservationId('booking_com', guest.resId))).describe();
      return current.searchAttributes.ListingId ? current : undefined;
    }, { what: 'ListingId on the reservation workflow' });
    expect(workflow.searchAttributes).toMatchObject({ Channel: ['booking_com'], ListingId: [seed.unitId] });
  });
});
