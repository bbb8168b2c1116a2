// The reservation state machine: a pure fold of what happened to one reservation — the inventory's
// answer to a hold, a modification or a release, a payment that was confirmed, a message that changed
// nothing. Channels deliver at least once and in any order, so the fold is built like the payment's:
// an event id counts once; the status only moves up (pending → held → confirmed → a final status);
// a final status (cancelled, released, rejected, refused) is never left, so a cancellation that
// arrives before its reservation still wins; an overbooked reservation (a channel's that Skerry could
// not place, standing on the channel) holds no nights and is not final: the channel's cancellation
// ends it, and a modification that fits places it; the payment's status only moves the way the payment
// workflow moves it. The workflow decides what to ask the inventory with the plans below and folds
// the answers in with the event builders; nothing here does I/O.
import type { Money } from '../../domain/money';
import type { PaymentStatus } from '../../domain/payments';
import {
  bookingPaymentId,
  type ChannelReservationEvent,
  type Guest,
  type HoldResult,
  type ReservationInput,
  type ReservationState,
  type ReservationStatus,
} from '../../domain/bookings';

/** How many event ids a state keeps for deduplication, and how many records it shows. */
const MAX_SEEN_EVENT_IDS = 200;
const MAX_EVENT_RECORDS = 100;

// Overbooked ranks with confirmed: the channel's guest holds the stay either way; only where Skerry has it differs.
const STATUS_RANK: Record<ReservationStatus, number> = { pending: 0, held: 1, overbooked: 2, confirmed: 2, cancelled: 3, released: 3, rejected: 3, refused: 3 };

/** The order the payment workflow moves through (workflows/payments/state.ts): a later report never goes back. */
const PAYMENT_STATUS_ORDER: readonly PaymentStatus[] = [
  'created',
  'requires_action',
  'processing',
  'requires_capture',
  'failed',
  'canceled',
  'expired',
  'succeeded',
  'partially_refunded',
  'refunded',
];
const PAID: readonly PaymentStatus[] = ['succeeded', 'partially_refunded', 'refunded', 'requires_capture'];
const LOST: readonly PaymentStatus[] = ['failed', 'canceled', 'expired'];

export const isFinal = (status: ReservationStatus): boolean => STATUS_RANK[status] === 3;
/** The reservation has its nights: held until paid, or confirmed. */
export const holdsNights = (status: ReservationStatus): boolean => status === 'held' || status === 'confirmed';
export const statusRank = (status: ReservationStatus): number => STATUS_RANK[status];

/**
 * Channels on which Skerry's refusal does not end the guest's reservation: an acknowledgement with
 * <Errors> leaves a Booking.com reservation queued, then e-mailed to the property; it stands.
 */
export const refusalStands = (channel: ReservationState['channel']): boolean => channel === 'booking_com';
/** Not placed yet: nothing taken, or overbooked (standing on its channel without nights here). */
const placeable = (status: ReservationStatus): boolean => status === 'pending' || status === 'overbooked';

interface Stay {
  unitId?: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  guest?: Guest;
  total?: Money;
}

export type ReservationChange =
  /** The inventory took the nights: a direct hold, or a channel's reservation (with its stay). */
  | { type: 'taken'; status: 'held' | 'confirmed'; stay?: Stay; total?: Money; holdExpiresAt?: string }
  /** The inventory refused the nights: a direct booking is refused, a channel's reservation rejected or overbooked. */
  | { type: 'refused'; status: 'refused' | 'rejected' | 'overbooked'; reason: string; stay?: Stay }
  /** A modification moved the nights held; what the channel left out stays as it was. */
  | { type: 'moved'; stay: Omit<Stay, 'unitId'> }
  | { type: 'move-refused'; reason: string }
  /** A modification that stands on its channel although its nights are gone: the old nights are given back, the new stay is overbooked. */
  | { type: 'moved-overbooked'; reason: string; stay: Omit<Stay, 'unitId'> }
  /** The payment succeeded and the inventory confirmed the hold. */
  | { type: 'paid' }
  /** The nights were given back: cancelled (by the channel or on request) or released (the saga's compensation). */
  | { type: 'released'; status: 'cancelled' | 'released'; reason: string };

export interface ReservationEvent {
  /** Dedupe key: a channel's message id, or `command:…`/`payment:…` for what the workflow did itself. */
  eventId: string;
  kind: string;
  /** What the record shows happened. */
  outcome: string;
  channelReservationId?: string;
  /** None for a message that changed nothing (a redelivery, a message for a final reservation). */
  change?: ReservationChange;
}

export interface ApplyResult {
  state: ReservationState;
  /** False for a duplicate event id; the state is then returned unchanged. */
  applied: boolean;
}

export function initialReservationState(input: ReservationInput, now: string): ReservationState {
  const direct = input.direct;
  return {
    reservationId: input.reservationId,
    channel: input.channel,
    channelReservationId: input.channelReservationId,
    status: 'pending',
    requestHash: direct?.requestHash,
    ...(direct
      ? {
          unitId: direct.unitId,
          checkIn: direct.checkIn,
          checkOut: direct.checkOut,
          rooms: direct.rooms,
          guest: direct.guest,
          paymentId: direct.payment ? bookingPaymentId(input.reservationId) : undefined,
        }
      : {}),
    events: [],
    seenEventIds: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** What Postgres knows of a reservation whose workflow starts again (a later message, a cancel). */
export interface KnownReservation {
  status: ReservationStatus;
  unitId?: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  guestName?: string;
  total?: Money;
  paymentId?: string;
  reason?: string;
}

export function restoreReservation(state: ReservationState, known: KnownReservation, now: string): ReservationState {
  return {
    ...state,
    status: known.status,
    unitId: known.unitId,
    checkIn: known.checkIn,
    checkOut: known.checkOut,
    rooms: known.rooms,
    guest: known.guestName ? { name: known.guestName } : undefined,
    total: known.total,
    paymentId: known.paymentId,
    reason: known.reason,
    updatedAt: now,
  };
}

function changed(state: ReservationState, change: ReservationChange | undefined): ReservationState {
  if (!change || isFinal(state.status)) return state;
  switch (change.type) {
    case 'taken':
      // An overbooked reservation is placed as confirmed only (a channel's; never held, a step back).
      if (!placeable(state.status) || STATUS_RANK[change.status] < STATUS_RANK[state.status]) return state;
      return { ...state, ...change.stay, status: change.status, reason: undefined, total: change.total ?? change.stay?.total, holdExpiresAt: change.holdExpiresAt };
    case 'refused':
      if (!placeable(state.status)) return state;
      return { ...state, ...change.stay, status: change.status, reason: change.reason };
    case 'moved':
      if (!holdsNights(state.status)) return state;
      return { ...state, ...change.stay, total: change.stay.total ?? state.total, guest: change.stay.guest ?? state.guest };
    case 'move-refused':
      return holdsNights(state.status) ? { ...state, reason: change.reason } : state;
    case 'moved-overbooked':
      if (!holdsNights(state.status)) return state;
      return { ...state, ...change.stay, status: 'overbooked', reason: change.reason, holdExpiresAt: undefined, total: change.stay.total ?? state.total, guest: change.stay.guest ?? state.guest };
    case 'paid':
      return state.status === 'held' ? { ...state, status: 'confirmed', holdExpiresAt: undefined } : state;
    case 'released':
      return { ...state, status: change.status, reason: change.reason, holdExpiresAt: undefined };
  }
}

export function applyReservationEvent(state: ReservationState, event: ReservationEvent, at: string): ApplyResult {
  if (state.seenEventIds.includes(event.eventId)) return { state, applied: false };
  const next = changed(state, event.change);
  return {
    applied: true,
    state: {
      ...next,
      channelReservationId: next.channelReservationId ?? event.channelReservationId,
      events: [...next.events, { eventId: event.eventId, kind: event.kind, outcome: event.outcome, at }].slice(-MAX_EVENT_RECORDS),
      seenEventIds: [...next.seenEventIds, event.eventId].slice(-MAX_SEEN_EVENT_IDS),
      updatedAt: next === state ? state.updatedAt : at,
    },
  };
}

/** A status report of the reservation's own payment; another payment's, or one going back, changes nothing. */
export function applyPaymentStatus(state: ReservationState, report: { paymentId: string; status: PaymentStatus }, at: string): ReservationState {
  if (report.paymentId !== state.paymentId) return state;
  if (state.paymentStatus && PAYMENT_STATUS_ORDER.indexOf(report.status) <= PAYMENT_STATUS_ORDER.indexOf(state.paymentStatus)) return state;
  return { ...state, paymentStatus: report.status, updatedAt: at };
}

export function paymentOutcome(state: ReservationState): 'paid' | 'lost' | undefined {
  if (!state.paymentStatus) return undefined;
  if (PAID.includes(state.paymentStatus)) return 'paid';
  return LOST.includes(state.paymentStatus) ? 'lost' : undefined;
}

/** A held direct booking once its wait ends: confirmed when paid, else released (payment lost or hold expired). */
export function heldBookingStep(state: ReservationState, holdExpired: boolean): { step: 'confirm' } | { step: 'release'; reason: string } | undefined {
  if (state.status !== 'held') return undefined;
  if (!holdExpired && paymentOutcome(state) === 'paid') return { step: 'confirm' };
  return { step: 'release', reason: holdExpired ? 'hold expired before the payment completed' : `payment ${state.paymentStatus}` };
}

/** Why a cancellation on request cannot run, or undefined when it can (`holdKnown`: the hold is decided). */
export function cancelBlocker(state: ReservationState, holdKnown: boolean): string | undefined {
  if (state.channel !== 'direct') return `a ${state.channel} reservation is cancelled on ${state.channel}, not here`;
  if (holdKnown && !holdsNights(state.status)) return `reservation is ${state.status}; only held or confirmed bookings can be cancelled`;
  return undefined;
}

// ─── A channel's messages ───────────────────────────────────────────────────────────────────────

/**
 * What a channel message asks of the inventory: `answer` (acknowledge, change nothing: a redelivery
 * of a reservation taken, or any message for a final one), `hold` (a new reservation, or a
 * modification of one Skerry has not taken), `modify` or `release`.
 */
export type ChannelMessagePlan = 'answer' | 'hold' | 'modify' | 'release';

export function planChannelMessage(state: ReservationState, message: ChannelReservationEvent): ChannelMessagePlan {
  if (message.kind === 'cancelled') return 'release';
  if (holdsNights(state.status)) return message.kind === 'modified' ? 'modify' : 'answer';
  return isFinal(state.status) ? 'answer' : 'hold';
}

export type ChannelAnswer =
  | { plan: 'answer' }
  /** `stands`: a refusal leaves the reservation standing on its channel (overbooked), not rejected. */
  | { plan: 'hold'; unitId?: string; hold: HoldResult; stands?: boolean }
  /** `stands`: a refused modification stands on its channel; the reservation becomes overbooked with the new stay. */
  | { plan: 'modify'; result: HoldResult; stands?: boolean }
  | { plan: 'release'; nightsReleased: boolean };

/** The hold answer for a listing no unit is mapped to. */
export const unmappedListing = (message: ChannelReservationEvent): HoldResult => ({
  ok: false,
  code: 'unknown_unit',
  reason: `${message.channel} listing ${message.externalListingId} is not mapped to any unit`,
  dates: [],
});

/** Why a channel's reservation is refused, as the channel and the overbooking record are told. */
export const channelRefusalReason = (refusal: Extract<HoldResult, { ok: false }>): string =>
  refusal.code === 'sold_out' ? `overbooking: ${refusal.reason}` : refusal.reason;

export function channelMessageEvent(state: ReservationState, message: ChannelReservationEvent, answer: ChannelAnswer): ReservationEvent {
  const event = { eventId: message.eventId, kind: message.kind, channelReservationId: message.channelReservationId };
  const stay = { checkIn: message.checkIn, checkOut: message.checkOut, rooms: message.rooms, guest: message.guest, total: message.total };
  switch (answer.plan) {
    case 'answer':
      return { ...event, outcome: holdsNights(state.status) ? 'duplicate; acknowledged again' : `already ${state.status}; acknowledged` };
    case 'hold':
      if (answer.hold.ok) return { ...event, outcome: 'confirmed', change: { type: 'taken', status: 'confirmed', stay: { ...stay, unitId: answer.unitId } } };
      return {
        ...event,
        outcome: `${answer.stands ? 'overbooked' : 'rejected'}: ${answer.hold.code}`,
        change: { type: 'refused', status: answer.stands ? 'overbooked' : 'rejected', reason: channelRefusalReason(answer.hold), stay: { ...stay, unitId: answer.unitId } },
      };
    case 'modify':
      if (answer.result.ok) return { ...event, outcome: 'modified', change: { type: 'moved', stay } };
      if (answer.stands) {
        return { ...event, outcome: `modification overbooked: ${answer.result.code}`, change: { type: 'moved-overbooked', reason: `modification overbooked: ${channelRefusalReason(answer.result)}`, stay } };
      }
      return { ...event, outcome: `modification rejected: ${answer.result.code}`, change: { type: 'move-refused', reason: `modification refused: ${channelRefusalReason(answer.result)}` } };
    case 'release':
      return {
        ...event,
        outcome: answer.nightsReleased ? 'cancelled' : 'nothing to release',
        change: { type: 'released', status: 'cancelled', reason: `cancelled on ${message.channel}` },
      };
  }
}

// ─── What the workflow does itself ──────────────────────────────────────────────────────────────

export function directHoldEvent(state: ReservationState, hold: HoldResult, holdExpiresAt: string | undefined): ReservationEvent {
  const event = { eventId: 'command:hold', kind: 'hold' };
  if (!hold.ok) return { ...event, outcome: `refused: ${hold.code}`, change: { type: 'refused', status: 'refused', reason: hold.reason } };
  return { ...event, outcome: 'held', change: { type: 'taken', status: state.paymentId ? 'held' : 'confirmed', total: hold.total, holdExpiresAt } };
}

export const paidEvent = (): ReservationEvent => ({ eventId: 'payment:succeeded', kind: 'payment', outcome: 'confirmed', change: { type: 'paid' } });

/** The saga's compensation: the hold is given back. */
export const compensationEvent = (reason: string): ReservationEvent => ({
  eventId: 'command:release',
  kind: 'release',
  outcome: reason,
  change: { type: 'released', status: 'released', reason },
});

/** A cancellation on request; once one has run the reservation is final, so there is never a second. */
export const cancelCommandEvent = (reason: string, nightsReleased: boolean): ReservationEvent => ({
  eventId: 'command:cancel',
  kind: 'cancel',
  outcome: nightsReleased ? 'released' : 'already released',
  change: { type: 'released', status: 'cancelled', reason },
});
