// One reservation, from any channel (workflow id `reservation-<reservationId>`).
//
// A channel reservation arrives as a signal (signal-with-start from the Booking.com poll or the
// Airbnb webhook inbox): the workflow takes the nights in one database transaction, confirms the
// reservation to its channel, and tells every other channel's sync to push the reduced
// availability. When the nights are gone (two channels sold the last unit at once) an overbooking
// event is recorded and the inventory is left as it was; the reservation is rejected on a channel
// that can decline it (Airbnb), and on Booking.com, where no answer removes a guest's reservation, it
// is acknowledged and kept as overbooked, for a person to relocate or cancel there.
//
// A direct booking is a saga: hold the nights, take the payment as a child payment workflow, then
// confirm — or, when the payment fails or expires, release the hold (the compensation).
//
// Every answer is folded through the pure state machine in reservation-state.ts (duplicates count
// once, nothing moves backwards from a final state); one command runs at a time, under a lock given
// back in `finally`. The database holds the reservation; this workflow only orchestrates. It closes
// when idle, and a later message (a modification, a cancellation) starts it again from the database.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BookingActivities } from '../../activities/bookings';
import { paymentStatusChangedSignal } from '../payments/messages';
import { CommandLock } from '../shared/command-lock';
import { BOOKING_ACTIVITY_OPTIONS, channelCallOptions } from './activity-options';
import { startBookingPayment } from './booking-payment';
import { awaitHoldUpdate, cancelReservationUpdate, reservationEventSignal, reservationStateQuery } from './messages';
import {
  applyPaymentStatus,
  applyReservationEvent,
  cancelBlocker,
  cancelCommandEvent,
  channelMessageEvent,
  channelRefusalReason,
  compensationEvent,
  directHoldEvent,
  heldBookingStep,
  initialReservationState,
  paidEvent,
  paymentOutcome,
  planChannelMessage,
  refusalStands,
  restoreReservation,
  unmappedListing,
  type ReservationEvent,
} from './reservation-state';
import { stayNights, type DateRange } from '../../domain/dates';
import { reservationWorkflowId } from '../../domain/workflow-ids';
import { listingIdSearchAttribute } from '../../domain/search-attributes';
import { DEFAULT_RESERVATION_TIMING, type ChannelReservationEvent, type HoldResult, type ReservationInput, type ReservationState, type ReservationStatus } from '../../domain/bookings';

const inventory = proxyActivities<BookingActivities>(BOOKING_ACTIVITY_OPTIONS.inventory);
/** Confirming or rejecting a reservation on its channel: retried until the channel takes it. */
const channelCalls = (channel: string) => proxyActivities<BookingActivities>(channelCallOptions(channel, 'acknowledge'));
const signals = proxyActivities<BookingActivities>(BOOKING_ACTIVITY_OPTIONS.signal);

/** Marks histories in which a sale is pushed to the other channels before the origin's acknowledgement. */
const TELL_BEFORE_ACKNOWLEDGE_PATCH = 'tell-other-channels-before-acknowledging';
/**
 * Marks histories in which a cancellation that arrives before its reservation cancels it. Before,
 * the reservation stayed pending, and the reservation message that followed took the nights.
 */
const CANCELLATION_FIRST_WINS_PATCH = 'cancellation-before-its-reservation-wins';
/**
 * Marks histories in which a Booking.com reservation Skerry cannot place is acknowledged and kept as
 * overbooked. Before, it was acknowledged with <Errors> (322) and recorded as rejected, which
 * Booking.com never does: the message stayed queued and the reservation stood.
 */
const REFUSAL_STANDS_PATCH = 'booking-com-refused-reservation-stands-overbooked';

const iso = (ms: number) => new Date(ms).toISOString();

function rejectCommand(reason: string | undefined): void {
  if (reason) throw ApplicationFailure.create({ type: 'ReservationCommandRejected', message: reason, nonRetryable: true });
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function reservationWorkflow(input: ReservationInput, carried?: ReservationState): Promise<ReservationState> {
  const timing = { ...DEFAULT_RESERVATION_TIMING, ...input.timing };
  const workflowId = reservationWorkflowId(input.reservationId);
  const now = () => iso(Date.now());

  let state: ReservationState = carried ?? initialReservationState(input, now());
  const queue: ChannelReservationEvent[] = [];
  // The reservation is known once its hold is decided (direct) or it is loaded from Postgres.
  let holdDecided = Boolean(carried);
  /** The channel message being answered: a redelivery of it before the answer is out is answered again. */
  let answering: string | undefined;
  const lock = new CommandLock();

  const observe = (event: ReservationEvent) => {
    state = applyReservationEvent(state, event, now()).state;
  };

  let publishedStatus: ReservationStatus | undefined;
  let publishedUnit: string | undefined;
  const publish = () => {
    if (state.unitId && publishedUnit !== state.unitId) {
      publishedUnit = state.unitId;
      upsertSearchAttributes([{ key: listingIdSearchAttribute, value: state.unitId }]);
    }
    if (publishedStatus === state.status) return;
    publishedStatus = state.status;
    setCurrentDetails(
      `**${state.status}** · ${state.channel}${state.channelReservationId ? ` ${state.channelReservationId}` : ''}` +
        (state.unitId ? ` · ${state.unitId} ${state.checkIn} → ${state.checkOut} × ${state.rooms}` : '') +
        (state.reason ? `\n\n${state.reason}` : ''),
    );
  };

  /**
   * Every other channel pushes the nights whose availability just changed; `sold` nights go out at
   * once (the others still sell them until told), released nights may wait for the quiet window.
   */
  const tellOtherChannels = async (ranges: DateRange[], reason: string, sold = false) => {
    if (!state.unitId || ranges.length === 0) return;
    await signals.notifyCalendarChanged({
      unitId: state.unitId,
      ranges,
      reason,
      ...(sold ? { urgent: true } : {}),
      exceptChannel: state.channel === 'direct' ? undefined : state.channel,
      workflowTaskQueue: workflowInfo().taskQueue,
    });
  };

  /**
   * Nights a channel just sold are pushed to the other channels before the origin is acknowledged:
   * the acknowledgement waits its turn in the origin's rate-limited queue (Booking.com: 5 calls a
   * second, a whole poll's worth of messages at once), and while it waits the others still sell the
   * nights. Histories from before this order replay the old one.
   */
  const tellOthersThenAcknowledge = async (event: ChannelReservationEvent, sold: DateRange[], reason: string) => {
    if (patched(TELL_BEFORE_ACKNOWLEDGE_PATCH)) {
      await tellOtherChannels(sold, reason, true);
      await channelCalls(event.channel).confirmChannelReservation({ event, reservationId: state.reservationId });
      return;
    }
    await channelCalls(event.channel).confirmChannelReservation({ event, reservationId: state.reservationId });
    await tellOtherChannels(sold, reason, true);
  };

  setHandler(reservationEventSignal, (event) => {
    const answered = state.seenEventIds.includes(event.eventId) && event.eventId !== answering;
    if (answered || queue.some((queued) => queued.eventId === event.eventId)) return;
    queue.push(event);
  });
  setHandler(paymentStatusChangedSignal, (change) => {
    state = applyPaymentStatus(state, change, now());
  });
  setHandler(reservationStateQuery, () => state);
  setHandler(awaitHoldUpdate, async () => {
    await condition(() => holdDecided);
    return state;
  });
  setHandler(
    cancelReservationUpdate,
    async ({ reason }) => {
      await condition(() => holdDecided);
      return lock.run(async () => {
        rejectCommand(cancelBlocker(state, true));
        const why = reason ?? 'cancelled on request';
        const released = await inventory.releaseInventory({ reservationId: state.reservationId, status: 'cancelled', reason: why });
        observe(cancelCommandEvent(why, released.released));
        publish();
        if (released.range) await tellOtherChannels([released.range], 'cancellation');
        return state;
      });
    },
    { validator: (_request) => rejectCommand(cancelBlocker(state, holdDecided)) },
  );

  // ─── Loading what the database knows (a restarted or resumed reservation) ──────────────────────
  if (!carried && !input.direct) {
    const known = await inventory.loadReservation({ reservationId: input.reservationId });
    if (known) state = restoreReservation(state, known, now());
    holdDecided = true;
  }

  /** The saga's compensation: the hold is given back and every channel may sell the nights again. The caller holds the lock. */
  const compensate = async (reason: string) => {
    const released = await inventory.releaseInventory({ reservationId: input.reservationId, status: 'released', reason });
    observe(compensationEvent(reason));
    publish();
    if (released.range) await tellOtherChannels([released.range], 'hold released');
  };

  // ─── A direct booking: hold, pay, confirm or compensate ─────────────────────────────────────
  if (input.direct && !carried) {
    const request = input.direct;
    const paymentId = state.paymentId;
    const holdExpiresAtMs = Date.now() + timing.holdMs;
    const holdExpiresAt = paymentId ? iso(holdExpiresAtMs) : undefined;
    const hold = await inventory.holdInventory({
      reservationId: input.reservationId,
      unitId: request.unitId,
      channel: 'direct',
      checkIn: request.checkIn,
      checkOut: request.checkOut,
      rooms: request.rooms,
      guestName: request.guest.name,
      status: paymentId ? 'held' : 'confirmed',
      enforceRestrictions: true,
      holdExpiresAt,
      paymentId,
      workflowId,
    });
    observe(directHoldEvent(state, hold, holdExpiresAt));
    holdDecided = true;
    publish();
    if (!hold.ok) {
      await condition(allHandlersFinished);
      return state;
    }
    await tellOtherChannels([stayNights(request.checkIn, request.checkOut)], 'direct booking', true);

    if (paymentId && request.payment) {
      if (!hold.total) {
        // Nothing to charge (no price on the calendar): the hold cannot be paid, so it is released.
        await lock.run(() => compensate('no price set for these nights; nothing to charge'));
      } else {
        state = applyPaymentStatus(state, { paymentId, status: 'created' }, now());
        try {
          await startBookingPayment({ reservationId: input.reservationId, paymentId, provider: request.payment.provider, amount: hold.total, request });
        } catch (err) {
          await lock.run(() => compensate(`the payment could not start: ${failureMessage(err)}`));
        }
        if (state.status === 'held') {
          const decided = await condition(() => state.status !== 'held' || paymentOutcome(state) !== undefined, Math.max(1, holdExpiresAtMs - Date.now()));
          await lock.run(async () => {
            const next = heldBookingStep(state, !decided);
            if (next?.step === 'confirm') {
              if (await inventory.confirmHeldReservation({ reservationId: input.reservationId })) observe(paidEvent());
            } else if (next) {
              await compensate(next.reason);
            }
          });
        }
      }
      publish();
    }
  }

  // ─── Channel messages ─────────────────────────────────────────────────────────────────────
  /** Rejects a channel's reservation, or its modification, on the channel; the state says so already. */
  const refuse = async (event: ChannelReservationEvent, refusal: Extract<HoldResult, { ok: false }>, what: 'new' | 'modified') => {
    const reason = channelRefusalReason(refusal);
    const recorded = await inventory.recordChannelRejection({
      event,
      reservationId: state.reservationId,
      unitId: state.unitId,
      reason,
      code: refusal.code,
      dates: refusal.dates,
      keepReservation: what === 'modified',
      workflowId,
    });
    publish();
    await channelCalls(event.channel).rejectChannelReservation({ event, reservationId: state.reservationId, reason, code: refusal.code, overbookingId: recorded.overbookingId });
  };

  /** Whether a refusal on this channel leaves the guest's reservation standing (decided once per refusal, in history order). */
  const stands = (event: ChannelReservationEvent) => refusalStands(event.channel) && patched(REFUSAL_STANDS_PATCH);

  /**
   * Keeps a reservation the channel will not drop as overbooked (the state says so already), and
   * acknowledges it as processed. A modification's old nights are given back and every other
   * channel may sell them again: the guest no longer holds them on the channel either.
   */
  const standOverbooked = async (event: ChannelReservationEvent, refusal: Extract<HoldResult, { ok: false }>) => {
    const recorded = await inventory.recordChannelRejection({
      event,
      reservationId: state.reservationId,
      unitId: state.unitId,
      // The state says why already (a modification's reason names it).
      reason: state.reason ?? channelRefusalReason(refusal),
      code: refusal.code,
      dates: refusal.dates,
      keepReservation: false,
      workflowId,
      stands: true,
    });
    publish();
    if (recorded.released) await tellOtherChannels([recorded.released], `${event.channel} modification overbooked`);
    await channelCalls(event.channel).confirmChannelReservation({ event, reservationId: state.reservationId });
  };

  /** Takes the nights of a reservation; `event` is the message as a new reservation, for the calls. */
  const take = async (message: ChannelReservationEvent, event: ChannelReservationEvent) => {
    const unitId = await inventory.resolveChannelUnit({
      channel: event.channel,
      externalAccountId: event.externalAccountId,
      externalListingId: event.externalListingId,
    });
    const hold: HoldResult = unitId
      ? await inventory.holdInventory({
          reservationId: state.reservationId,
          unitId,
          channel: event.channel,
          channelReservationId: event.channelReservationId,
          checkIn: event.checkIn,
          checkOut: event.checkOut,
          rooms: event.rooms,
          guestName: event.guest?.name,
          status: 'confirmed',
          enforceRestrictions: false,
          total: event.total,
          workflowId,
        })
      : unmappedListing(event);
    const standing = !hold.ok && stands(event);
    observe(channelMessageEvent(state, message, { plan: 'hold', unitId: unitId ?? undefined, hold, stands: standing }));
    if (!hold.ok) return standing ? standOverbooked(event, hold) : refuse(event, hold, 'new');
    publish();
    await tellOthersThenAcknowledge(event, [stayNights(event.checkIn, event.checkOut)], `${event.channel} reservation`);
  };

  const modify = async (event: ChannelReservationEvent) => {
    const before = state.checkIn && state.checkOut ? stayNights(state.checkIn, state.checkOut) : undefined;
    const result = await inventory.modifyReservationInventory({
      reservationId: state.reservationId,
      checkIn: event.checkIn,
      checkOut: event.checkOut,
      rooms: event.rooms,
      total: event.total,
    });
    const standing = !result.ok && stands(event);
    observe(channelMessageEvent(state, event, { plan: 'modify', result, stands: standing }));
    if (!result.ok) return standing ? standOverbooked(event, result) : refuse(event, result, 'modified');
    await tellOthersThenAcknowledge(event, [...(before ? [before] : []), stayNights(event.checkIn, event.checkOut)], `${event.channel} modification`);
  };

  const cancel = async (event: ChannelReservationEvent) => {
    const released = await inventory.releaseInventory({ reservationId: state.reservationId, status: 'cancelled', reason: `cancelled on ${event.channel}` });
    const answer = channelMessageEvent(state, event, { plan: 'release', nightsReleased: released.released });
    const keptPending = state.status === 'pending' && !released.released && !patched(CANCELLATION_FIRST_WINS_PATCH);
    observe(keptPending ? { ...answer, change: undefined } : answer);
    publish();
    await channelCalls(event.channel).confirmChannelReservation({ event, reservationId: state.reservationId });
    if (released.range) await tellOtherChannels([released.range], `${event.channel} cancellation`);
  };

  const answer = async (message: ChannelReservationEvent) => {
    const plan = planChannelMessage(state, message);
    if (plan === 'modify') return modify(message);
    if (plan === 'release') return cancel(message);
    // A modification of a reservation not taken is answered as the reservation it describes.
    const event: ChannelReservationEvent = message.kind === 'new' ? message : { ...message, kind: 'new' };
    if (plan === 'hold') return take(message, event);
    // A redelivery of a reservation taken, or a message for a final one: acknowledged, nothing changes.
    observe(channelMessageEvent(state, message, { plan }));
    await channelCalls(event.channel).confirmChannelReservation({ event, reservationId: state.reservationId });
  };

  publish();
  for (;;) {
    const idle = !(await condition(() => queue.length > 0, Math.max(1, timing.idleCloseMs)));
    if (idle && queue.length === 0) break;
    const event = queue.shift()!;
    answering = event.eventId;
    try {
      await lock.run(() => answer(event));
    } finally {
      answering = undefined;
    }
    publish();
    if (workflowInfo().continueAsNewSuggested && queue.length === 0 && allHandlersFinished()) {
      await continueAsNew<typeof reservationWorkflow>(input, state);
    }
  }

  await condition(allHandlersFinished);
  return state;
}
