// The typed façade backend code uses for inventory, bookings and channel sync without HTTP. The API's
// inventory routes, the webhook delivery (Airbnb) and the booking activities are built on it.
import { createHash, randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { InventoryError } from '../store/inventory-error';
import type { CalendarUpdate } from '../store/calendar';
import type { ChannelMappingStore } from '../store/channel-mappings';
import type { Inventory } from '../store/inventory';
import type { listingSyncWorkflow } from '../workflows/bookings/listing-sync';
import type { reservationWorkflow } from '../workflows/bookings/reservation';
import type { reservationPollWorkflow } from '../workflows/bookings/reservation-poll';
import type { channelResyncWorkflow } from '../workflows/bookings/resync';
import { awaitHoldUpdate, calendarChangedSignal, cancelReservationUpdate, listingSyncStateQuery, reservationEventSignal, reservationPollStateQuery, reservationStateQuery, resyncStateQuery } from '../workflows/bookings/messages';
import { listingSyncWorkflowId, reservationPollWorkflowId, reservationWorkflowId, resyncScheduleId, resyncWorkflowId } from '../domain/workflow-ids';
import { WORKFLOW_TASK_QUEUE } from '../domain/task-queues';
import { canonicalReservationId, channelReservationId as deriveReservationId, type CalendarChange, type ChannelName, type ChannelReservationEvent, type DirectBookingRequest, type ListingSyncState, type ListingSyncTiming, type ReservationInput, type ReservationPollState, type ReservationState, type ReservationTiming, type ResyncInput, type ResyncState } from '../domain/bookings';
import { channelSearchAttribute, listingIdSearchAttribute, syncStatusSearchAttribute } from '../domain/search-attributes';
import { type DateRange } from '../domain/dates';
import { awaitProviderPaymentUpdate } from '../workflows/payments/messages';
import { paymentWorkflowId } from '../domain/workflow-ids';
import { type PaymentState, type PaymentTiming } from '../domain/payments';
import type { PaymentsClient } from './payments';

export class BookingNotFoundError extends Error {
  override readonly name = 'BookingNotFoundError';
}

/** The booking cannot do what was asked in its current state (HTTP 409). */
export class BookingConflictError extends Error {
  override readonly name = 'BookingConflictError';
}

/** The nights are not available (HTTP 409 with the reason). */
export class BookingUnavailableError extends Error {
  override readonly name = 'BookingUnavailableError';
  constructor(
    message: string,
    readonly booking: ReservationState,
  ) {
    super(message);
  }
}

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

/**
 * Tells a unit's sync on one channel that nights changed: signal-with-start, so the long-running
 * sync is created on first use and receives every later change. Used by the API and the activities.
 */
export async function signalListingSync(
  temporal: Client,
  options: { taskQueue: string; unitId: string; channel: ChannelName; change: CalendarChange; timing?: Partial<ListingSyncTiming> },
): Promise<void> {
  await temporal.workflow.signalWithStart<typeof listingSyncWorkflow, [CalendarChange]>('listingSyncWorkflow', {
    taskQueue: options.taskQueue,
    workflowId: listingSyncWorkflowId(options.unitId, options.channel),
    args: [{ unitId: options.unitId, channel: options.channel, timing: options.timing }],
    signal: calendarChangedSignal,
    signalArgs: [options.change],
    typedSearchAttributes: [
      { key: listingIdSearchAttribute, value: options.unitId },
      { key: channelSearchAttribute, value: options.channel },
      { key: syncStatusSearchAttribute, value: 'coalescing' },
    ],
    staticSummary: `Availability sync of ${options.unitId} to ${options.channel}`,
  });
}

/**
 * Tells the sync of every channel the unit is mapped to (but `exceptChannel`, where the change came
 * from) that nights changed. One place for the API's calendar edits and the reservation workflow.
 */
export async function signalMappedChannels(
  temporal: Client,
  inventory: Pick<Inventory, 'mappings'>,
  options: { taskQueue: string; unitId: string; change: CalendarChange; exceptChannel?: ChannelName; timing?: Partial<ListingSyncTiming> },
): Promise<ChannelName[]> {
  const mappings = await inventory.mappings.listMappings(options.unitId);
  const channels = mappings.map((mapping) => mapping.channel as ChannelName).filter((channel) => channel !== options.exceptChannel);
  await Promise.all(
    channels.map((channel) => signalListingSync(temporal, { taskQueue: options.taskQueue, unitId: options.unitId, channel, change: options.change, timing: options.timing })),
  );
  return channels;
}

/** Delivers a channel's reservation message to its reservation workflow (signal-with-start). */
export async function signalReservationEvent(
  temporal: Client,
  options: { taskQueue: string; event: ChannelReservationEvent; timing?: Partial<ReservationTiming> },
): Promise<string> {
  const { event } = options;
  const reservationId = deriveReservationId(event.channel, event.channelReservationId);
  await temporal.workflow.signalWithStart<typeof reservationWorkflow, [ChannelReservationEvent]>('reservationWorkflow', {
    taskQueue: options.taskQueue,
    workflowId: reservationWorkflowId(reservationId),
    args: [{ reservationId, channel: event.channel, channelReservationId: event.channelReservationId, timing: options.timing } satisfies ReservationInput],
    signal: reservationEventSignal,
    signalArgs: [event],
    // A closed reservation starts again for a later modification or cancellation; its state is in Postgres.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [{ key: channelSearchAttribute, value: event.channel }],
    staticSummary: `${event.channel} reservation ${event.channelReservationId}`,
  });
  return reservationId;
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

  /** Tells every mapped channel's sync (but `exceptChannel`) that nights changed. */
  const notifyChannels = (unitId: string, change: CalendarChange, exceptChannel?: ChannelName) =>
    signalMappedChannels(temporal, inventory, { taskQueue, unitId, change, exceptChannel, timing: options.syncTiming });

  const reservationHandle = (reservationId: string) => temporal.workflow.getHandle<typeof reservationWorkflow>(reservationWorkflowId(reservationId));

  async function readBooking(reservationId: string): Promise<ReservationState> {
    try {
      return await reservationHandle(reservationId).query(reservationStateQuery);
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
    const handle = temporal.workflow.getHandle(paymentWorkflowId(state.paymentId));
    const waitMs = options.paymentWaitMs ?? 10_000;
    const deadline = Date.now() + waitMs;
    // The child is started right after the hold; it may take a moment to exist.
    for (;;) {
      try {
        return await Promise.race([
          handle.executeUpdate(awaitProviderPaymentUpdate),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('payment wait elapsed')), Math.max(1, deadline - Date.now())).unref()),
        ]);
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
    inventory,
    notifyChannels,

    // ─── Inventory ─────────────────────────────────────────────────────────────────────────────
    createProperty: inventory.properties.createProperty,
    listProperties: inventory.properties.listProperties,
    createUnit: inventory.properties.createUnit,
    listUnits: inventory.properties.listUnits,
    getUnit: inventory.properties.getUnit,
    listMappings: inventory.mappings.listMappings,
    listOverbookings: inventory.overbookings.listOverbookings,

    /** Maps a unit to a channel and pushes its whole calendar there (the initial full load). */
    async createMapping(input: Parameters<ChannelMappingStore['createMapping']>[0], fullLoad?: DateRange) {
      const mapping = await inventory.mappings.createMapping(input);
      if (fullLoad) {
        await signalListingSync(temporal, {
          taskQueue,
          unitId: input.unitId,
          channel: input.channel,
          change: { ranges: [fullLoad], reason: 'mapping created: full load' },
          timing: options.syncTiming,
        });
      }
      return mapping;
    },

    /** Edits the calendar, then every mapped channel's sync pushes the changed nights. */
    async updateCalendar(unitId: string, updates: CalendarUpdate[]): Promise<{ ranges: DateRange[]; channels: ChannelName[] }> {
      const ranges = await inventory.calendar.updateCalendar(unitId, updates);
      const channels = await notifyChannels(unitId, { ranges, reason: 'calendar edit' });
      return { ranges, channels };
    },

    getCalendar: (unitId: string, range: DateRange) => inventory.calendar.readCalendar(unitId, range),

    async getSyncState(unitId: string, channel: ChannelName): Promise<ListingSyncState | undefined> {
      try {
        return await temporal.workflow.getHandle(listingSyncWorkflowId(unitId, channel)).query(listingSyncStateQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },

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
        await temporal.workflow.start<typeof reservationWorkflow>('reservationWorkflow', {
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
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      let booking: ReservationState;
      try {
        booking = await reservationHandle(reservationId).executeUpdate(awaitHoldUpdate);
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
        booking = await temporal.workflow.executeUpdateWithStart(cancelReservationUpdate, {
          args: [{ reason }],
          startWorkflowOperation: new WithStartWorkflowOperation<typeof reservationWorkflow>('reservationWorkflow', {
            taskQueue,
            workflowId: reservationWorkflowId(reservationId),
            args: [{ reservationId, channel: 'direct', timing: reservationTiming }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          }),
        });
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

    // ─── Channel reservations ──────────────────────────────────────────────────────────────────
    /** A channel's reservation message into its workflow (the Airbnb webhook inbox uses this). */
    async deliverChannelEvent(event: ChannelReservationEvent): Promise<'delivered'> {
      await signalReservationEvent(temporal, { taskQueue, event, timing: options.reservationTiming });
      return 'delivered';
    },

    /** Starts the reservation poll of a channel (Booking.com) unless it already runs. */
    async ensureReservationPoll(channel: ChannelName, account: string, intervalMs: number): Promise<string> {
      const workflowId = reservationPollWorkflowId(channel, account);
      try {
        await temporal.workflow.start<typeof reservationPollWorkflow>('reservationPollWorkflow', {
          taskQueue,
          workflowId,
          args: [{ channel, intervalMs }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: [{ key: channelSearchAttribute, value: channel }],
          staticSummary: `${channel} reservation queue poll (${account})`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      return workflowId;
    },

    async getReservationPoll(channel: ChannelName, account: string): Promise<ReservationPollState | undefined> {
      try {
        return await temporal.workflow.getHandle(reservationPollWorkflowId(channel, account)).query(reservationPollStateQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },

    // ─── Full resync ───────────────────────────────────────────────────────────────────────────
    async startResync(channel: ChannelName, input: Partial<Omit<ResyncInput, 'channel'>> = {}): Promise<{ workflowId: string }> {
      const workflowId = resyncWorkflowId(channel, `manual-${Date.now()}-${randomUUID().slice(0, 8)}`);
      await temporal.workflow.start<typeof channelResyncWorkflow>('channelResyncWorkflow', {
        taskQueue,
        workflowId,
        args: [{ channel, horizonDays: input.horizonDays ?? 365, trigger: input.trigger ?? 'manual', pageSize: input.pageSize, accounts: input.accounts }],
        typedSearchAttributes: [{ key: channelSearchAttribute, value: channel }],
        staticSummary: `Full resync of ${channel}`,
      });
      return { workflowId };
    },

    async getResync(workflowId: string): Promise<ResyncState> {
      try {
        return await temporal.workflow.getHandle(workflowId).query(resyncStateQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new BookingNotFoundError(`resync ${workflowId} not found`);
        throw err;
      }
    },

    /** The nightly full resync of a channel, as a Temporal Schedule (created once, then left alone). */
    async ensureResyncSchedule(channel: ChannelName, account: string, hour: number, horizonDays = 365): Promise<string> {
      const scheduleId = resyncScheduleId(channel, account);
      try {
        await temporal.schedule.create({
          scheduleId,
          spec: { calendars: [{ hour, minute: 0 }] },
          action: {
            type: 'startWorkflow',
            workflowType: 'channelResyncWorkflow',
            taskQueue,
            workflowId: resyncWorkflowId(channel, `scheduled-${account}`),
            args: [{ channel, horizonDays, trigger: 'schedule' } satisfies ResyncInput],
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
          state: { note: `Nightly full resync of ${channel} at ${hour}:00` },
        });
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
      return scheduleId;
    },
  };
}

export type BookingsClient = ReturnType<typeof createBookingsClient>;
export { InventoryError };
