import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  applyPaymentStatus,
  applyReservationEvent,
  cancelBlocker,
  cancelCommandEvent,
  channelMessageEvent,
  compensationEvent,
  directHoldEvent,
  heldBookingStep,
  holdsNights,
  initialReservationState,
  isFinal,
  paidEvent,
  planChannelMessage,
  refusalStands,
  statusRank,
  type ChannelAnswer,
  type ReservationChange,
  type ReservationEvent,
} from '../../workflows/bookings/reservation-state';
import type { ChannelReservationEvent, HoldResult, ReservationState } from '../../domain/bookings';
import type { PaymentStatus } from '../../domain/payments';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:01:00.000Z';
const UNIT = 'unit_1';

const channelStart = () => initialReservationState({ reservationId: 'bdc_4711', channel: 'booking_com' }, T0);
const directStart = (paid = true) =>
  initialReservationState(
    {
      reservationId: 'res_1',
      channel: 'direct',
      direct: { unitId: UNIT, checkIn: '2027-06-01', checkOut: '2027-06-03', rooms: 1, guest: { name: 'Ada' }, ...(paid ? { payment: { provider: 'stripe' as const } } : {}) },
    },
    T0,
  );

const message = (kind: ChannelReservationEvent['kind'], stay: { checkIn: string; checkOut: string; rooms?: number }, eventId = `msg-${kind}-${stay.checkIn}`): ChannelReservationEvent => ({
  eventId,
  kind,
  channel: 'booking_com',
  channelReservationId: '4711',
  externalAccountId: 'hotel-1',
  externalListingId: 'room-1',
  rooms: 1,
  guest: { name: 'Britt' },
  total: { value: 200_000, currency: 'SEK' },
  occurredAt: T0,
  ...stay,
});

const taken: HoldResult = { ok: true, duplicate: false };
const soldOut: HoldResult = { ok: false, code: 'sold_out', reason: 'not available on 2027-06-02 (0 left)', dates: ['2027-06-02'] };

/**
 * One message through the workflow's steps, with the inventory played by a world where the nights
 * are either there for every request or for none: the plan says what to ask, the world answers
 * (a release gives nights back exactly when the reservation had them), the answer is folded in.
 */
const deliver = (state: ReservationState, msg: ChannelReservationEvent, room: boolean, stands = false): ReservationState => {
  const plan = planChannelMessage(state, msg);
  const answer: ChannelAnswer =
    plan === 'hold'
      ? { plan, unitId: UNIT, hold: room ? taken : soldOut, stands }
      : plan === 'modify'
        ? { plan, result: room ? taken : soldOut, stands }
        : plan === 'release'
          ? { plan, nightsReleased: holdsNights(state.status) }
          : { plan };
  return applyReservationEvent(state, channelMessageEvent(state, msg, answer), T1).state;
};
const deliverAll = (messages: ChannelReservationEvent[], room = true, state = channelStart()) => messages.reduce((current, msg) => deliver(current, msg, room), state);
/** Booking.com, where a refusal leaves the reservation standing: each delivery with or without the nights. */
const deliverStanding = (deliveries: Array<[ChannelReservationEvent, boolean]>, state = channelStart()) =>
  deliveries.reduce((current, [msg, room]) => deliver(current, msg, room, true), state);
const apply = (state: ReservationState, ...events: ReservationEvent[]) => events.reduce((current, event) => applyReservationEvent(current, event, T1).state, state);
const stayOf = (state: ReservationState) => ({ unitId: state.unitId, checkIn: state.checkIn, checkOut: state.checkOut, rooms: state.rooms });

const NEW = message('new', { checkIn: '2027-06-01', checkOut: '2027-06-03' });
const MODIFIED = message('modified', { checkIn: '2027-06-05', checkOut: '2027-06-08', rooms: 2 });
const CANCELLED = message('cancelled', { checkIn: '2027-06-05', checkOut: '2027-06-08', rooms: 2 });

describe('reservation state machine: a channel’s messages', () => {
  it('takes a new reservation, follows its modification, and ends cancelled', () => {
    const confirmed = deliverAll([NEW]);
    expect(confirmed).toMatchObject({ status: 'confirmed', unitId: UNIT, checkIn: '2027-06-01', checkOut: '2027-06-03', channelReservationId: '4711', guest: { name: 'Britt' } });
    const moved = deliverAll([MODIFIED], true, confirmed);
    expect(stayOf(moved)).toEqual({ unitId: UNIT, checkIn: '2027-06-05', checkOut: '2027-06-08', rooms: 2 });
    const cancelled = deliverAll([CANCELLED], true, moved);
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'cancelled on booking_com' });
    expect(cancelled.events.map((event) => event.outcome)).toEqual(['confirmed', 'modified', 'cancelled']);
  });

  it('plans a hold for a modification of a reservation it has not taken, and an answer for a redelivery', () => {
    expect(planChannelMessage(channelStart(), MODIFIED)).toBe('hold');
    const confirmed = deliverAll([MODIFIED]);
    expect(planChannelMessage(confirmed, NEW)).toBe('answer');
    expect(stayOf(deliverAll([NEW], true, confirmed))).toEqual(stayOf(confirmed));
  });

  it('a cancellation that arrives before its reservation wins: the reservation is never taken', () => {
    const cancelled = deliverAll([CANCELLED]);
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'cancelled on booking_com' });
    expect(cancelled.events.at(-1)?.outcome).toBe('nothing to release');
    expect(planChannelMessage(cancelled, NEW)).toBe('answer');
    const redelivered = deliverAll([NEW], true, cancelled);
    expect(redelivered.status).toBe('cancelled');
    expect(redelivered.unitId).toBeUndefined();
    expect(redelivered.events.at(-1)?.outcome).toBe('already cancelled; acknowledged');
  });

  it('a rejected reservation stays rejected, with the overbooking as the reason, whatever follows', () => {
    const rejected = deliverAll([NEW], false);
    expect(rejected).toMatchObject({ status: 'rejected', reason: 'overbooking: not available on 2027-06-02 (0 left)', unitId: UNIT });
    expect(deliverAll([MODIFIED, CANCELLED], true, rejected)).toMatchObject({ status: 'rejected', checkIn: '2027-06-01' });
  });

  it('a refused modification keeps the stay and says why', () => {
    const confirmed = deliverAll([NEW]);
    const refused = deliverAll([MODIFIED], false, confirmed);
    expect(refused).toMatchObject({ status: 'confirmed', checkIn: '2027-06-01', reason: 'modification refused: overbooking: not available on 2027-06-02 (0 left)' });
    expect(refused.events.at(-1)?.outcome).toBe('modification rejected: sold_out');
  });

  it('ignores an event id it has seen: the same state object comes back', () => {
    const confirmed = deliverAll([NEW]);
    const again = applyReservationEvent(confirmed, channelMessageEvent(confirmed, NEW, { plan: 'answer' }), T1);
    expect(again.applied).toBe(false);
    expect(again.state).toBe(confirmed);
  });
});

describe('reservation state machine: a reservation that stands on its channel (Booking.com)', () => {
  it('is the case for Booking.com only: Airbnb declines what Skerry cannot place', () => {
    expect(refusalStands('booking_com')).toBe(true);
    expect(refusalStands('airbnb')).toBe(false);
    expect(refusalStands('direct')).toBe(false);
  });

  it('keeps a reservation it cannot place as overbooked, holding nothing, with the overbooking as the reason', () => {
    const overbooked = deliverStanding([[NEW, false]]);
    expect(overbooked).toMatchObject({ status: 'overbooked', reason: 'overbooking: not available on 2027-06-02 (0 left)', unitId: UNIT });
    expect(overbooked.events.at(-1)?.outcome).toBe('overbooked: sold_out');
    expect(holdsNights(overbooked.status)).toBe(false);
    expect(isFinal(overbooked.status)).toBe(false);
    // Still no nights on a redelivery: it stays overbooked.
    expect(deliverStanding([[MODIFIED, false]], overbooked).status).toBe('overbooked');
  });

  it('keeps a confirmed reservation whose modification finds no nights as overbooked with the new stay, and places it when a later move fits', () => {
    const confirmed = deliverStanding([[NEW, true]]);
    const moved = deliverStanding([[MODIFIED, false]], confirmed);
    expect(moved).toMatchObject({ status: 'overbooked', checkIn: '2027-06-05', checkOut: '2027-06-08', rooms: 2, reason: 'modification overbooked: overbooking: not available on 2027-06-02 (0 left)' });
    expect(moved.events.at(-1)?.outcome).toBe('modification overbooked: sold_out');
    expect(holdsNights(moved.status)).toBe(false);
    const again = message('modified', { checkIn: '2027-06-10', checkOut: '2027-06-11' });
    expect(deliverStanding([[again, true]], moved)).toMatchObject({ status: 'confirmed', checkIn: '2027-06-10', reason: undefined });
  });

  it('places it when the property moves the guest to nights that are there, and ends it when the channel cancels', () => {
    const overbooked = deliverStanding([[NEW, false]]);
    expect(planChannelMessage(overbooked, MODIFIED)).toBe('hold');
    const placed = deliverStanding([[MODIFIED, true]], overbooked);
    expect(placed).toMatchObject({ status: 'confirmed', reason: undefined, ...{ checkIn: '2027-06-05', checkOut: '2027-06-08', rooms: 2 } });
    expect(deliverStanding([[CANCELLED, true]], overbooked)).toMatchObject({ status: 'cancelled', reason: 'cancelled on booking_com' });
  });
});

describe('reservation state machine: a direct booking', () => {
  it('holds, is paid, and is confirmed', () => {
    const held = apply(directStart(), directHoldEvent(directStart(), { ok: true, duplicate: false, total: { value: 300, currency: 'SEK' } }, T1));
    expect(held).toMatchObject({ status: 'held', total: { value: 300, currency: 'SEK' }, holdExpiresAt: T1, paymentId: 'pay_1' });
    expect(heldBookingStep(held, false)).toEqual({ step: 'release', reason: 'payment undefined' });
    const paying = applyPaymentStatus(held, { paymentId: 'pay_1', status: 'succeeded' }, T1);
    expect(heldBookingStep(paying, false)).toEqual({ step: 'confirm' });
    expect(apply(paying, paidEvent())).toMatchObject({ status: 'confirmed', holdExpiresAt: undefined });
  });

  it('confirms at once without a payment, and refuses nights that are not there', () => {
    expect(apply(directStart(false), directHoldEvent(directStart(false), taken, undefined)).status).toBe('confirmed');
    expect(apply(directStart(), directHoldEvent(directStart(), soldOut, T1))).toMatchObject({ status: 'refused', reason: soldOut.ok ? '' : soldOut.reason });
  });

  it('releases the hold when the payment is lost or the hold expires, and a late payment changes nothing', () => {
    const held = apply(directStart(), directHoldEvent(directStart(), taken, T1));
    const failed = applyPaymentStatus(held, { paymentId: 'pay_1', status: 'failed' }, T1);
    expect(heldBookingStep(failed, false)).toEqual({ step: 'release', reason: 'payment failed' });
    expect(heldBookingStep(held, true)).toEqual({ step: 'release', reason: 'hold expired before the payment completed' });
    const released = apply(held, compensationEvent('hold expired before the payment completed'));
    expect(released).toMatchObject({ status: 'released', holdExpiresAt: undefined });
    expect(apply(released, paidEvent()).status).toBe('released');
    expect(heldBookingStep(released, false)).toBeUndefined();
  });

  it('takes a cancellation on request only for a held or confirmed direct booking', () => {
    expect(cancelBlocker(channelStart(), false)).toMatch(/cancelled on booking_com, not here/);
    expect(cancelBlocker(directStart(), false)).toBeUndefined();
    expect(cancelBlocker(directStart(), true)).toMatch(/reservation is pending/);
    const held = apply(directStart(), directHoldEvent(directStart(), taken, T1));
    expect(cancelBlocker(held, true)).toBeUndefined();
    const cancelled = apply(held, cancelCommandEvent('plans changed', true));
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'plans changed' });
    expect(cancelBlocker(cancelled, true)).toMatch(/reservation is cancelled/);
  });

  it('ignores a payment report for another payment, or one that goes back', () => {
    const held = apply(directStart(), directHoldEvent(directStart(), taken, T1));
    expect(applyPaymentStatus(held, { paymentId: 'pay_other', status: 'succeeded' }, T1)).toBe(held);
    const paid = applyPaymentStatus(held, { paymentId: 'pay_1', status: 'succeeded' }, T1);
    expect(applyPaymentStatus(paid, { paymentId: 'pay_1', status: 'processing' }, T1)).toBe(paid);
  });
});

// ─── Properties ─────────────────────────────────────────────────────────────────────────────────

/** Delivered at least once, in any order: a permutation of the messages with some of them repeated. */
const deliveries = <T>(items: T[]) =>
  fc
    .tuple(fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }), fc.array(fc.nat({ max: Math.max(0, items.length - 1) }), { maxLength: 6 }))
    .map(([shuffled, repeats]) => {
      const delivered = [...shuffled];
      for (const index of repeats) delivered.splice(index % (delivered.length + 1), 0, shuffled[index]!);
      return delivered;
    });

/** A channel reservation's messages: always its new, maybe one modification, maybe its cancellation. */
const channelMessages = fc.record({ modified: fc.boolean(), cancelled: fc.boolean() }).map(({ modified, cancelled }) => [NEW, ...(modified ? [MODIFIED] : []), ...(cancelled ? [CANCELLED] : [])]);

describe('reservation state machine properties', () => {
  it('with the nights there, any order and redelivery of a reservation’s messages ends in the same status and stay', () => {
    fc.assert(
      fc.property(channelMessages.chain((messages) => fc.tuple(fc.constant(messages), deliveries(messages))), ([inOrder, delivered]) => {
        const expected = deliverAll(inOrder);
        const state = deliverAll(delivered);
        expect(state.status).toBe(inOrder.includes(CANCELLED) ? 'cancelled' : 'confirmed');
        expect(state.status).toBe(expected.status);
        if (holdsNights(state.status)) expect(stayOf(state)).toEqual(stayOf(expected));
        // The cancellation wins even when it comes first: nothing is held at the end.
        if (inOrder.includes(CANCELLED)) expect(holdsNights(state.status)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('with the nights gone, nothing is ever held, and the first of the rejection and the cancellation decides', () => {
    fc.assert(
      fc.property(channelMessages.chain((messages) => deliveries(messages)), (delivered) => {
        const state = deliverAll(delivered, false);
        expect(isFinal(state.status)).toBe(true);
        expect(holdsNights(state.status)).toBe(false);
        expect(state.status).toBe(delivered[0] === CANCELLED ? 'cancelled' : 'rejected');
      }),
      { numRuns: 300 },
    );
  });

  const stay = fc.record({
    checkIn: fc.constantFrom('2027-06-01', '2027-06-05'),
    checkOut: fc.constantFrom('2027-06-03', '2027-06-08'),
    rooms: fc.integer({ min: 1, max: 3 }),
    unitId: fc.constantFrom(UNIT, undefined),
  });
  const change: fc.Arbitrary<ReservationChange | undefined> = fc.oneof(
    fc.constant(undefined),
    fc.record({ type: fc.constant('taken' as const), status: fc.constantFrom('held' as const, 'confirmed' as const), stay: fc.option(stay, { nil: undefined }) }),
    fc.record({ type: fc.constant('refused' as const), status: fc.constantFrom('refused' as const, 'rejected' as const, 'overbooked' as const), reason: fc.constant('no'), stay: fc.option(stay, { nil: undefined }) }),
    fc.record({ type: fc.constant('moved' as const), stay }),
    fc.record({ type: fc.constant('move-refused' as const), reason: fc.constant('no') }),
    fc.record({ type: fc.constant('moved-overbooked' as const), reason: fc.constant('no'), stay }),
    fc.constant({ type: 'paid' as const }),
    fc.record({ type: fc.constant('released' as const), status: fc.constantFrom('cancelled' as const, 'released' as const), reason: fc.constant('gone') }),
  );
  // A small pool of ids, so the same id comes round again (with another change: a redelivery must not count twice).
  const anyEvents = fc.array(fc.record({ eventId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), kind: fc.constant('test'), outcome: fc.constant('test'), change }), { maxLength: 25 });

  it('never records a reservation that stands on its channel as rejected: whatever the order, redelivery and nights, it ends cancelled exactly when the channel cancelled it, else confirmed (holding its nights) or overbooked (holding none)', () => {
    fc.assert(
      fc.property(
        channelMessages.chain((messages) => fc.tuple(fc.constant(messages), deliveries(messages))).chain(([messages, delivered]) =>
          fc.tuple(fc.constant(messages), fc.array(fc.boolean(), { minLength: delivered.length, maxLength: delivered.length }).map((rooms) => delivered.map((msg, index) => [msg, rooms[index]!] as [ChannelReservationEvent, boolean]))),
        ),
        ([messages, delivered]) => {
          const state = deliverStanding(delivered);
          expect(state.status).not.toBe('rejected');
          expect(state.status).toBe(messages.includes(CANCELLED) ? 'cancelled' : state.status === 'confirmed' ? 'confirmed' : 'overbooked');
          expect(holdsNights(state.status)).toBe(state.status === 'confirmed');
          // Confirmed only when a delivery that asked for the nights found them.
          if (state.status === 'confirmed') expect(delivered.some(([, room]) => room)).toBe(true);
          if (delivered.every(([, room]) => !room)) expect(state.status).toBe(messages.includes(CANCELLED) ? 'cancelled' : 'overbooked');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never moves the status back, and never leaves a final state', () => {
    fc.assert(
      fc.property(fc.boolean(), anyEvents, (direct, events) => {
        let state = direct ? directStart() : channelStart();
        for (const event of events) {
          const next = applyReservationEvent(state, event, T1).state;
          expect(statusRank(next.status)).toBeGreaterThanOrEqual(statusRank(state.status));
          if (isFinal(state.status)) {
            const { events: _a, seenEventIds: _b, updatedAt: _c, ...before } = state;
            const { events: _d, seenEventIds: _e, updatedAt: _f, ...after } = next;
            expect(after).toEqual(before);
          }
          state = next;
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('counts an event id once: a sequence folds like its first occurrences alone, and a seen id returns the state unchanged', () => {
    fc.assert(
      fc.property(anyEvents, (events) => {
        const firsts = events.filter((event, index) => events.findIndex((other) => other.eventId === event.eventId) === index);
        const state = apply(channelStart(), ...events);
        expect(state).toEqual(apply(channelStart(), ...firsts));
        expect(new Set(state.seenEventIds).size).toBe(state.seenEventIds.length);
        for (const event of events) {
          const again = applyReservationEvent(state, event, T1);
          expect(again.applied).toBe(false);
          expect(again.state).toBe(state);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  // What the payment workflow reports to its booking over a real life, in order.
  const paymentLives: PaymentStatus[][] = [
    ['created', 'requires_action', 'processing', 'succeeded'],
    ['created', 'succeeded', 'partially_refunded', 'refunded'],
    ['created', 'requires_action', 'failed'],
    ['created', 'expired'],
    ['created', 'requires_capture', 'canceled'],
  ];

  it('any order and repetition of a payment’s reports ends at its last status and decides the hold the same way', () => {
    const held = apply(directStart(), directHoldEvent(directStart(), taken, T1));
    fc.assert(
      fc.property(
        fc.constantFrom(...paymentLives).chain((life) => fc.tuple(fc.constant(life), deliveries(life))),
        fc.boolean(),
        ([life, delivered], holdExpired) => {
          const inOrder = life.reduce((state, status) => applyPaymentStatus(state, { paymentId: 'pay_1', status }, T1), held);
          const state = delivered.reduce((current, status) => applyPaymentStatus(current, { paymentId: 'pay_1', status }, T1), held);
          expect(state.paymentStatus).toBe(life.at(-1));
          expect(heldBookingStep(state, holdExpired)).toEqual(heldBookingStep(inOrder, holdExpired));
        },
      ),
      { numRuns: 300 },
    );
  });
});
