// The typed façade backend code uses for inventory, bookings and channel sync without HTTP. The API's
// inventory routes and the webhook delivery (Airbnb) are built on it. Direct bookings live here; the
// inventory (client/inventory.ts) and the channels (client/channels.ts) are its other two parts.
import { createHash, randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { InventoryError } from '../store/inventory-error';
import type { Inventory } from '../store/inventory';
import { reservationWorkflow } from '../workflows/bookings/reservation';
import type { paymentWorkflow } from '../workflows/payments/payment';
import { awaitHoldUpdate, cancelReservationUpdate, reservationStateQuery } from '../workflows/bookings/messages';
import { awaitProviderPaymentUpdate } from '../workflows/payments/messages';
import { paymentWorkflowId, reservationWorkflowId } from '../domain/workflow-ids';
import { WORKFLOW_TASK_QUEUE } from '../domain/task-queues';
import { canonicalReservationId, type DirectBookingRequest, type ListingSyncTiming, type ReservationInput, type ReservationState, type ReservationTiming } from '../domain/bookings';
import { channelSearchAttribute, listingIdSearchAttribute } from '../domain/search-attributes';
import { type PaymentState, type PaymentTiming } from '../domain/payments';
import type { PaymentsClient } from './payments';
import { BookingConflictError, BookingNotFoundError, BookingUnavailableError } from './booking-errors';
import { createInventoryClient, signalListingSync, signalMappedChannels } from './inventory';
import { createChannelsClient, signalReservationEvent } from './channels';
import { DEFAULT_TEMPORAL_DEADLINES, withinDeadline, type TemporalDeadlines } from './deadlines';

export { BookingConflictError, BookingNotFoundError, BookingUnavailableError, InventoryError };

/** The booking workflows' signal-with-start, which the worker hands to the activities that start workflows. */
export const bookingWorkflowSignals = { listingSync: signalListingSync, mappedChannels: signalMappedChannels, reservationEvent: signalReservationEvent };

export interface BookingsClientOptions {
  temporal: Client;
  inventory: Inventory;
  payments?: Pick<PaymentsClient, 'getPayment' | 'cancel' | 'refund'>;
  taskQueue?: string;
  paymentTiming?: Partial<PaymentTiming>;
  reservationTiming?: Partial<ReservationTiming>;
  syncTiming?: Partial<ListingSyncTiming>;
  /** How long createBooking waits for the payment's next action before answering without it. */
  paymentWaitMs?: number;
  /** How long each call to Temporal may take; past it the call fails (the API answers 503) instead of hanging. */
  deadlines?: Partial<TemporalDeadlines>;
}

export interface CreateBookingRequest {
  unitId: string;
  checkIn: string;
  checkOut: string;
  rooms?: number;
  guest: { name: string; email?: string };
  payment?: DirectBookingRequest['payment'];
}

export function reservationIdForIdempotencyKey(idempotencyKey: string): string {
  return `res_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;
}

export function newReservationId(): string {
  return `res_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

function bookingRequestHash(request: CreateBookingRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([request.unitId, request.checkIn, request.checkOut, request.rooms ?? 1, request.guest.name, request.payment?.provider ?? null]))
    .digest('hex');
}

export function createBookingsClient(options: BookingsClientOptions) {
  const { temporal, inventory } = options;
  const taskQueue = options.taskQueue ?? WORKFLOW_TASK_QUEUE;
  const paymentTiming = options.paymentTiming;
  const reservationTiming: Partial<ReservationTiming> = {
    // The hold outlives the payment's own expiry, so the payment decides (never the clock first).
    holdMs: (paymentTiming?.expiresAfterMs ?? 30 * 60_000) + 5 * 60_000,
    ...options.reservationTiming,
  };
  const deadlines: TemporalDeadlines = { ...DEFAULT_TEMPORAL_DEADLINES, ...options.deadlines };
  const within = withinDeadline(temporal);

  const reservationHandle = (reservationId: string) => temporal.workflow.getHandle<typeof reservationWorkflow>(reservationWorkflowId(reservationId));

  async function readBooking(reservationId: string): Promise<ReservationState> {
    try {
      return await within(deadlines.callMs, () => reservationHandle(reservationId).query(reservationStateQuery));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const row = await inventory.reservations.getReservation(reservationId);
    if (!row) throw new BookingNotFoundError(`booking ${reservationId} not found`);
    return {
      reservationId: row.id,
      channel: row.channel as ReservationState['channel'],
      channelReservationId: row.channelReservationId ?? undefined,
      status: row.status,
      unitId: row.unitId ?? undefined,
      checkIn: row.checkIn,
      checkOut: row.checkOut,
      rooms: row.rooms,
      guest: row.guestName ? { name: row.guestName } : undefined,
      total: row.totalAmount !== null && row.currency ? { value: row.totalAmount, currency: row.currency } : undefined,
      paymentId: row.paymentId ?? undefined,
      reason: row.reason ?? undefined,
      events: [],
      seenEventIds: [],
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  /** The payment's state once its provider payment exists (its next action), within paymentWaitMs. */
  async function paymentFor(state: ReservationState): Promise<PaymentState | undefined> {
    if (!state.paymentId || !options.payments) return undefined;
    const handle = temporal.workflow.getHandle<typeof paymentWorkflow>(paymentWorkflowId(state.paymentId));
    const waitMs = options.paymentWaitMs ?? 10_000;
    const deadline = Date.now() + waitMs;
    // The child is started right after the hold; it may take a moment to exist.
    for (;;) {
      try {
        // The deadline ends the server-side wait too, not only this caller's.
        return await within(Math.max(1, deadline - Date.now()), () => handle.executeUpdate(awaitProviderPaymentUpdate));
      } catch (err) {
        if (Date.now() >= deadline) return options.payments.getPayment(state.paymentId).catch(() => undefined);
        if (err instanceof WorkflowNotFoundError) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        return options.payments.getPayment(state.paymentId).catch(() => undefined);
      }
    }
  }

  return {
    ...createInventoryClient({ temporal, inventory, taskQueue, syncTiming: options.syncTiming, deadlines }),

    // ─── Direct bookings ───────────────────────────────────────────────────────────────────────
    /**
     * Holds the nights (refused with the reason when they are not available) and, when a payment
     * is asked for, starts it as the reservation's child; answers once the hold is decided and the
     * payment's next action is known. The same Idempotency-Key returns the same booking.
     */
    async createBooking(request: CreateBookingRequest, opts: { idempotencyKey?: string } = {}): Promise<{ booking: ReservationState; payment?: PaymentState }> {
      const reservationId = opts.idempotencyKey ? reservationIdForIdempotencyKey(opts.idempotencyKey) : newReservationId();
      const hash = bookingRequestHash(request);
      const input: ReservationInput = {
        reservationId,
        channel: 'direct',
        direct: {
          unitId: request.unitId,
          checkIn: request.checkIn,
          checkOut: request.checkOut,
          rooms: request.rooms ?? 1,
          guest: request.guest,
          payment: request.payment,
          paymentTiming,
          requestHash: hash,
        },
        timing: reservationTiming,
      };
      try {
        await within(deadlines.callMs, () =>
          temporal.workflow.start(reservationWorkflow, {
            taskQueue,
            workflowId: reservationWorkflowId(reservationId),
            args: [input],
            // A booking id is used once: a repeated key finds it, never holds twice.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            workflowIdConflictPolicy: 'USE_EXISTING',
            typedSearchAttributes: [
              { key: listingIdSearchAttribute, value: request.unitId },
              { key: channelSearchAttribute, value: 'direct' },
            ],
            staticSummary: `Direct booking ${reservationId}: ${request.unitId} ${request.checkIn} → ${request.checkOut}`,
          }),
        );
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      let booking: ReservationState;
      try {
        // The hold waits for the inventory: the command deadline, not the call one.
        booking = await within(deadlines.commandMs, () => reservationHandle(reservationId).executeUpdate(awaitHoldUpdate));
      } catch {
        booking = await readBooking(reservationId);
      }
      if (opts.idempotencyKey && booking.requestHash && booking.requestHash !== hash) {
        throw new BookingConflictError('Idempotency-Key was already used with different parameters');
      }
      if (booking.status === 'refused') throw new BookingUnavailableError(booking.reason ?? 'not available', booking);
      const payment = booking.status === 'held' ? await paymentFor(booking) : undefined;
      return { booking, payment };
    },

    /** A booking or channel reservation; a channel's own reference may be written as the channel shows it. */
    getBooking: (id: string) => readBooking(canonicalReservationId(id)),

    /**
     * Cancels a direct booking: the nights go back to every channel. An unpaid payment is cancelled,
     * a captured one refunded in full (both through the payment workflow).
     */
    async cancelBooking(reservationId: string, reason?: string): Promise<{ booking: ReservationState; payment?: PaymentState; paymentError?: string }> {
      const known = await readBooking(reservationId);
      if (known.channel !== 'direct') throw new BookingConflictError(`a ${known.channel} reservation is cancelled on ${known.channel}, not here`);
      let booking: ReservationState;
      try {
        booking = await within(deadlines.commandMs, () =>
          temporal.workflow.executeUpdateWithStart(cancelReservationUpdate, {
            args: [{ reason }],
            startWorkflowOperation: new WithStartWorkflowOperation(reservationWorkflow, {
              taskQueue,
              workflowId: reservationWorkflowId(reservationId),
              args: [{ reservationId, channel: 'direct', timing: reservationTiming }],
              workflowIdConflictPolicy: 'USE_EXISTING',
              workflowIdReusePolicy: 'ALLOW_DUPLICATE',
            }),
          }),
        );
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause;
          throw new BookingConflictError(cause instanceof ApplicationFailure ? cause.message : err.message);
        }
        throw err;
      }
      if (!booking.paymentId || !options.payments) return { booking };
      try {
        const payment = await options.payments.getPayment(booking.paymentId);
        if (['created', 'requires_action', 'requires_capture'].includes(payment.status)) {
          return { booking, payment: await options.payments.cancel(booking.paymentId) };
        }
        if (payment.status === 'succeeded' || payment.status === 'partially_refunded') {
          return { booking, payment: await options.payments.refund(booking.paymentId, { reason: 'booking cancelled' }) };
        }
        return { booking, payment };
      } catch (err) {
        return { booking, paymentError: (err as Error).message };
      }
    },

    ...createChannelsClient({ temporal, taskQueue, reservationTiming: options.reservationTiming, deadlines }),
  };
}

export type BookingsClient = ReturnType<typeof createBookingsClient>;
