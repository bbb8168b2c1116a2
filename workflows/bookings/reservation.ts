// One reservation, from any channel (workflow id `reservation-<reservationId>`).
//
// A channel reservation arrives as a signal (signal-with-start from the Booking.com poll or the
// Airbnb webhook inbox): the workflow takes the nights in one database transaction, confirms the
// reservation to its channel, and tells every other channel's sync to push the reduced
// availability. When the nights are gone (two channels sold the last unit at once) the reservation
// is rejected on its channel with the reason, an overbooking event is recorded, and the inventory
// is left as it was.
//
// A direct booking is a saga: hold the nights, take the payment as a child payment workflow, then
// confirm — or, when the payment fails or expires, release the hold (the compensation).
//
// The database holds the reservation; this workflow only orchestrates. It closes when idle, and a
// later message (a modification, a cancellation) starts it again from the database.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { BookingActivities } from '../../activities/bookings';
import type { paymentWorkflow } from '../payments/payment';
import { paymentIdSearchAttribute, paymentProviderSearchAttribute, paymentReferenceSearchAttribute, paymentStatusSearchAttribute } from '../../domain/search-attributes';
import { paymentStatusChangedSignal } from '../payments/messages';
import { paymentWorkflowId } from '../../domain/workflow-ids';
import { type PaymentStatus, type StartPaymentInput } from '../../domain/payments';
import { BOOKING_ACTIVITY_OPTIONS, channelCallOptions } from './activity-options';
import { stayNights, type DateRange } from '../../domain/dates';

/** Marks histories in which a sale is pushed to the other channels before the origin's acknowledgement. */
const TELL_BEFORE_ACKNOWLEDGE_PATCH = 'tell-other-channels-before-acknowledging';
import { awaitHoldUpdate, cancelReservationUpdate, reservationEventSignal, reservationStateQuery } from './messages';
import { reservationWorkflowId } from '../../domain/workflow-ids';
import { bookingPaymentId, DEFAULT_RESERVATION_TIMING, type ChannelReservationEvent, type HoldResult, type ReservationInput, type ReservationState, type ReservationStatus } from '../../domain/bookings';
import { listingIdSearchAttribute } from '../../domain/search-attributes';

const inventory = proxyActivities<BookingActivities>(BOOKING_ACTIVITY_OPTIONS.inventory);
/** Confirming or rejecting a reservation on its channel: retried until the channel takes it. */
const channelCalls = (channel: string) => proxyActivities<BookingActivities>(channelCallOptions(channel, 'acknowledge'));
const signals = proxyActivities<BookingActivities>(BOOKING_ACTIVITY_OPTIONS.signal);

const MAX_EVENT_RECORDS = 100;
const MAX_SEEN_EVENT_IDS = 200;
const PAYMENT_SUCCEEDED: PaymentStatus[] = ['succeeded', 'partially_refunded', 'refunded', 'requires_capture'];
const PAYMENT_LOST: PaymentStatus[] = ['failed', 'canceled', 'expired'];

const iso = (ms: number) => new Date(ms).toISOString();

function reject(message: string): never {
  throw ApplicationFailure.create({ type: 'ReservationCommandRejected', message, nonRetryable: true });
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function reservationWorkflow(input: ReservationInput, carried?: ReservationState): Promise<ReservationState> {
  const timing = { ...DEFAULT_RESERVATION_TIMING, ...input.timing };
  const workflowId = reservationWorkflowId(input.reservationId);
  const now = () => iso(Date.now());

  let state: ReservationState = carried ?? {
    reservationId: input.reservationId,
    channel: input.channel,
    channelReservationId: input.channelReservationId,
    status: 'pending',
    requestHash: input.direct?.requestHash,
    events: [],
    seenEventIds: [],
    createdAt: now(),
    updatedAt: now(),
  };
  const queue: ChannelReservationEvent[] = [];
  // The reservation is known once its hold is decided (direct) or it is loaded from Postgres.
  let holdDecided = Boolean(carried);
  let busy = false;
  let publishedStatus: ReservationStatus | undefined;

  const set = (change: Partial<ReservationState>) => {
    state = { ...state, ...change, updatedAt: now() };
  };
  const record = (eventId: string, kind: string, outcome: string) => {
    state = {
      ...state,
      events: [...state.events, { eventId, kind, outcome, at: now() }].slice(-MAX_EVENT_RECORDS),
      seenEventIds: [...state.seenEventIds, eventId].slice(-MAX_SEEN_EVENT_IDS),
    };
  };
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
    if (state.seenEventIds.includes(event.eventId) || queue.some((queued) => queued.eventId === event.eventId)) return;
    queue.push(event);
  });
  setHandler(paymentStatusChangedSignal, (change) => {
    if (change.paymentId === state.paymentId) set({ paymentStatus: change.status });
  });
  setHandler(reservationStateQuery, () => state);
  setHandler(awaitHoldUpdate, async () => {
    await condition(() => holdDecided);
    return state;
  });
  setHandler(
    cancelReservationUpdate,
    async ({ reason }) => {
      await condition(() => !busy && holdDecided);
      if (state.status !== 'held' && state.status !== 'confirmed') reject(`reservation is ${state.status}; only held or confirmed bookings can be cancelled`);
      busy = true;
      try {
        const released = await inventory.releaseInventory({ reservationId: state.reservationId, status: 'cancelled', reason: reason ?? 'cancelled on request' });
        set({ status: 'cancelled', reason: reason ?? 'cancelled on request', holdExpiresAt: undefined });
        record(`command:cancel:${state.events.length}`, 'cancel', released.released ? 'released' : 'already released');
        publish();
        if (released.range) await tellOtherChannels([released.range], 'cancellation');
        return state;
      } finally {
        busy = false;
      }
    },
    {
      validator: (_request) => {
        if (state.channel !== 'direct') reject(`a ${state.channel} reservation is cancelled on ${state.channel}, not here`);
        if (holdDecided && state.status !== 'held' && state.status !== 'confirmed') {
          reject(`reservation is ${state.status}; only held or confirmed bookings can be cancelled`);
        }
      },
    },
  );

  // ─── Loading what the database knows (a restarted or resumed reservation) ──────────────────────
  if (!carried && !input.direct) {
    const known = await inventory.loadReservation({ reservationId: input.reservationId });
    if (known) {
      set({
        status: known.status,
        unitId: known.unitId,
        checkIn: known.checkIn,
        checkOut: known.checkOut,
        rooms: known.rooms,
        guest: known.guestName ? { name: known.guestName } : undefined,
        total: known.total,
        paymentId: known.paymentId,
        reason: known.reason,
      });
    }
    holdDecided = true;
  }

  /** The saga's compensation: the hold is given back and every channel may sell the nights again. */
  async function compensate(reason: string): Promise<void> {
    busy = true;
    try {
      const released = await inventory.releaseInventory({ reservationId: input.reservationId, status: 'released', reason });
      set({ status: 'released', reason, holdExpiresAt: undefined });
      record('command:release', 'release', reason);
      publish();
      if (released.range) await tellOtherChannels([released.range], 'hold released');
    } finally {
      busy = false;
    }
  }

  // ─── A direct booking: hold, pay, confirm or compensate ─────────────────────────────────────
  if (input.direct && !carried) {
    const request = input.direct;
    const paymentId = request.payment ? bookingPaymentId(input.reservationId) : undefined;
    const holdExpiresAtMs = Date.now() + timing.holdMs;
    set({
      unitId: request.unitId,
      checkIn: request.checkIn,
      checkOut: request.checkOut,
      rooms: request.rooms,
      guest: request.guest,
      paymentId,
    });
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
      holdExpiresAt: paymentId ? iso(holdExpiresAtMs) : undefined,
      paymentId,
      workflowId,
    });
    if (!hold.ok) {
      set({ status: 'refused', reason: hold.reason });
      record('command:hold', 'hold', `refused: ${hold.code}`);
      holdDecided = true;
      publish();
      await condition(allHandlersFinished);
      return state;
    }
    set({ status: paymentId ? 'held' : 'confirmed', total: hold.total, holdExpiresAt: paymentId ? iso(holdExpiresAtMs) : undefined });
    record('command:hold', 'hold', 'held');
    holdDecided = true;
    publish();
    await tellOtherChannels([stayNights(request.checkIn, request.checkOut)], 'direct booking', true);

    if (paymentId && request.payment) {
      if (!hold.total) {
        // Nothing to charge (no price on the calendar): the hold cannot be paid, so it is released.
        await compensate('no price set for these nights; nothing to charge');
      } else {
        const paymentInput: StartPaymentInput = {
          paymentId,
          provider: request.payment.provider,
          amount: hold.total,
          reference: input.reservationId,
          captureMethod: 'automatic',
          description: `${request.guest.name}, ${request.checkIn} → ${request.checkOut}`,
          timing: request.paymentTiming,
        };
        set({ paymentStatus: 'created' });
        try {
          await startChild<typeof paymentWorkflow>('paymentWorkflow', {
            workflowId: paymentWorkflowId(paymentId),
            args: [paymentInput],
            taskQueue: workflowInfo().taskQueue,
            // The payment lives on for refunds after this reservation workflow closes.
            parentClosePolicy: ParentClosePolicy.ABANDON,
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            typedSearchAttributes: [
              { key: paymentIdSearchAttribute, value: paymentId },
              { key: paymentProviderSearchAttribute, value: paymentInput.provider },
              { key: paymentReferenceSearchAttribute, value: paymentInput.reference },
              { key: paymentStatusSearchAttribute, value: 'created' },
            ],
            staticSummary: `${paymentInput.provider} payment ${paymentInput.amount.value} ${paymentInput.amount.currency} for booking ${input.reservationId}`,
          });
        } catch (err) {
          await compensate(`the payment could not start: ${failureMessage(err)}`);
        }
        if (state.status === 'held') {
          const decided = await condition(
            () =>
              state.status !== 'held' ||
              (state.paymentStatus !== undefined && (PAYMENT_SUCCEEDED.includes(state.paymentStatus) || PAYMENT_LOST.includes(state.paymentStatus))),
            Math.max(1, holdExpiresAtMs - Date.now()),
          );
          await condition(() => !busy);
          if (state.status === 'held') {
            if (decided && state.paymentStatus && PAYMENT_SUCCEEDED.includes(state.paymentStatus)) {
              busy = true;
              const confirmed = await inventory.confirmHeldReservation({ reservationId: input.reservationId });
              busy = false;
              if (confirmed) {
                set({ status: 'confirmed', holdExpiresAt: undefined });
                record('payment:succeeded', 'payment', 'confirmed');
              }
            } else {
              await compensate(decided ? `payment ${state.paymentStatus}` : 'hold expired before the payment completed');
            }
          }
        }
      }
      publish();
    }
  }

  // ─── Channel messages ─────────────────────────────────────────────────────────────────────
  const handleNew = async (event: ChannelReservationEvent) => {
    if (state.status === 'confirmed' || state.status === 'held') {
      // A redelivery of a reservation already taken: acknowledge it again, change nothing.
      await channelCalls(event.channel).confirmChannelReservation({ event, reservationId: state.reservationId });
      return 'duplicate; acknowledged again';
    }
    if (state.status === 'rejected' || state.status === 'cancelled') {
      await channelCalls(event.channel).confirmChannelReservation({ event, reservationId: state.reservationId });
      return `already ${state.status}; acknowledged`;
    }
    const unitId = await inventory.resolveChannelUnit({
      channel: event.channel,
      externalAccountId: event.externalAccountId,
      externalListingId: event.externalListingId,
    });
    set({ unitId: unitId ?? undefined, checkIn: event.checkIn, checkOut: event.checkOut, rooms: event.rooms, guest: event.guest, total: event.total });
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
      : { ok: false, code: 'unknown_unit', reason: `${event.channel} listing ${event.externalListingId} is not mapped to any unit`, dates: [] };
    if (hold.ok) {
      set({ status: 'confirmed', reason: undefined });
      publish();
      await tellOthersThenAcknowledge(event, [stayNights(event.checkIn, event.checkOut)], `${event.channel} reservation`);
      return 'confirmed';
    }
    await refuse(event, hold, 'new');
    return `rejected: ${hold.code}`;
  };

  const refuse = async (event: ChannelReservationEvent, hold: Extract<HoldResult, { ok: false }>, what: 'new' | 'modified') => {
    const reason = hold.code === 'sold_out' ? `overbooking: ${hold.reason}` : hold.reason;
    const recorded = await inventory.recordChannelRejection({
      event,
      reservationId: state.reservationId,
      unitId: state.unitId,
      reason,
      code: hold.code,
      dates: hold.dates,
      keepReservation: what === 'modified',
      workflowId,
    });
    if (what === 'new') set({ status: 'rejected', reason });
    else set({ reason: `modification refused: ${reason}` });
    publish();
    await channelCalls(event.channel).rejectChannelReservation({ event, reservationId: state.reservationId, reason, code: hold.code, overbookingId: recorded.overbookingId });
  };

  const handleModified = async (event: ChannelReservationEvent) => {
    if (state.status !== 'confirmed' && state.status !== 'held') return handleNew({ ...event, kind: 'new' });
    const before = state.checkIn && state.checkOut ? stayNights(state.checkIn, state.checkOut) : undefined;
    const result = await inventory.modifyReservationInventory({
      reservationId: state.reservationId,
      checkIn: event.checkIn,
      checkOut: event.checkOut,
      rooms: event.rooms,
      total: event.total,
    });
    if (!result.ok) {
      await refuse(event, result, 'modified');
      return `modification rejected: ${result.code}`;
    }
    set({ checkIn: event.checkIn, checkOut: event.checkOut, rooms: event.rooms, total: event.total ?? state.total, guest: event.guest ?? state.guest });
    await tellOthersThenAcknowledge(event, [...(before ? [before] : []), stayNights(event.checkIn, event.checkOut)], `${event.channel} modification`);
    return 'modified';
  };

  const handleCancelled = async (event: ChannelReservationEvent) => {
    const released = await inventory.releaseInventory({ reservationId: state.reservationId, status: 'cancelled', reason: `cancelled on ${event.channel}` });
    if (state.status === 'confirmed' || state.status === 'held' || released.released) {
      set({ status: 'cancelled', reason: `cancelled on ${event.channel}` });
    }
    publish();
    await channelCalls(event.channel).confirmChannelReservation({ event, reservationId: state.reservationId });
    if (released.range) await tellOtherChannels([released.range], `${event.channel} cancellation`);
    return released.released ? 'cancelled' : 'nothing to release';
  };

  publish();
  for (;;) {
    const idle = !(await condition(() => queue.length > 0, Math.max(1, timing.idleCloseMs)));
    if (idle && queue.length === 0) break;
    const event = queue.shift()!;
    busy = true;
    try {
      if (state.channelReservationId === undefined) set({ channelReservationId: event.channelReservationId });
      const outcome =
        event.kind === 'new' ? await handleNew(event) : event.kind === 'modified' ? await handleModified(event) : await handleCancelled(event);
      record(event.eventId, event.kind, outcome);
    } finally {
      busy = false;
    }
    publish();
    if (workflowInfo().continueAsNewSuggested && queue.length === 0 && allHandlersFinished()) {
      await continueAsNew<typeof reservationWorkflow>(input, state);
    }
  }

  await condition(allHandlersFinished);
  return state;
}
