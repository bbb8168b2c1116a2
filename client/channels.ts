// The channel part of the bookings façade: a channel's reservation messages into their workflows,
// the reservation queue poll (Booking.com), and full resyncs, on demand or as a nightly Schedule.
import { randomUUID } from 'node:crypto';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { reservationWorkflow } from '../workflows/bookings/reservation';
import { reservationPollWorkflow } from '../workflows/bookings/reservation-poll';
import { channelResyncWorkflow } from '../workflows/bookings/resync';
import { pollNowSignal, reservationEventSignal, reservationPollStateQuery, resyncStateQuery } from '../workflows/bookings/messages';
import { reservationPollWorkflowId, reservationWorkflowId, resyncScheduleId, resyncWorkflowId } from '../domain/workflow-ids';
import { channelReservationId, type ChannelName, type ChannelReservationEvent, type ReservationPollState, type ReservationTiming, type ResyncInput, type ResyncState } from '../domain/bookings';
import { channelSearchAttribute } from '../domain/search-attributes';
import { BookingNotFoundError } from './booking-errors';
import { DEFAULT_TEMPORAL_DEADLINES, withinDeadline, type TemporalDeadlines } from './deadlines';

/** Delivers a channel's reservation message to its reservation workflow (signal-with-start). */
export async function signalReservationEvent(
  temporal: Client,
  options: { taskQueue: string; event: ChannelReservationEvent; timing?: Partial<ReservationTiming>; deadlines?: Partial<TemporalDeadlines> },
): Promise<string> {
  const { event } = options;
  const reservationId = channelReservationId(event.channel, event.channelReservationId);
  const callMs = options.deadlines?.callMs ?? DEFAULT_TEMPORAL_DEADLINES.callMs;
  await withinDeadline(temporal)(callMs, () => temporal.workflow.signalWithStart(reservationWorkflow, {
    taskQueue: options.taskQueue,
    workflowId: reservationWorkflowId(reservationId),
    args: [{ reservationId, channel: event.channel, channelReservationId: event.channelReservationId, timing: options.timing }],
    signal: reservationEventSignal,
    signalArgs: [event],
    // A closed reservation starts again for a later modification or cancellation; its state is in Postgres.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [{ key: channelSearchAttribute, value: event.channel }],
    staticSummary: `${event.channel} reservation ${event.channelReservationId}`,
  }));
  return reservationId;
}

export interface ChannelsClientOptions {
  temporal: Client;
  taskQueue: string;
  reservationTiming?: Partial<ReservationTiming>;
  /** How long each call to Temporal may take; past it the call fails (the API answers 503) instead of hanging. */
  deadlines?: Partial<TemporalDeadlines>;
}

export function createChannelsClient(options: ChannelsClientOptions) {
  const { temporal, taskQueue } = options;
  const deadlines: TemporalDeadlines = { ...DEFAULT_TEMPORAL_DEADLINES, ...options.deadlines };
  const within = withinDeadline(temporal);

  return {
    /** A channel's reservation message into its workflow (the Airbnb webhook inbox uses this). */
    async deliverChannelEvent(event: ChannelReservationEvent): Promise<'delivered'> {
      await signalReservationEvent(temporal, { taskQueue, event, timing: options.reservationTiming, deadlines });
      return 'delivered';
    },

    /** Starts the reservation poll of a channel (Booking.com) unless it already runs. */
    async ensureReservationPoll(channel: ChannelName, account: string, intervalMs: number): Promise<string> {
      const workflowId = reservationPollWorkflowId(channel, account);
      try {
        await within(deadlines.callMs, () =>
          temporal.workflow.start(reservationPollWorkflow, {
            taskQueue,
            workflowId,
            args: [{ channel, intervalMs }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            typedSearchAttributes: [{ key: channelSearchAttribute, value: channel }],
            staticSummary: `${channel} reservation queue poll (${account})`,
          }),
        );
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      return workflowId;
    },

    /** Asks the channel's reservation poll to pull now (a webhook said the feed has news). */
    async pollReservationsNow(channel: ChannelName, account: string): Promise<void> {
      await within(deadlines.callMs, () => temporal.workflow.getHandle(reservationPollWorkflowId(channel, account)).signal(pollNowSignal));
    },

    async getReservationPoll(channel: ChannelName, account: string): Promise<ReservationPollState | undefined> {
      try {
        return await within(deadlines.callMs, () =>
          temporal.workflow.getHandle<typeof reservationPollWorkflow>(reservationPollWorkflowId(channel, account)).query(reservationPollStateQuery),
        );
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },

    async startResync(channel: ChannelName, input: Partial<Omit<ResyncInput, 'channel'>> = {}): Promise<{ workflowId: string }> {
      const workflowId = resyncWorkflowId(channel, `manual-${Date.now()}-${randomUUID().slice(0, 8)}`);
      await within(deadlines.callMs, () =>
        temporal.workflow.start(channelResyncWorkflow, {
          taskQueue,
          workflowId,
          args: [{ channel, horizonDays: input.horizonDays ?? 365, trigger: input.trigger ?? 'manual', pageSize: input.pageSize, accounts: input.accounts }],
          typedSearchAttributes: [{ key: channelSearchAttribute, value: channel }],
          staticSummary: `Full resync of ${channel}`,
        }),
      );
      return { workflowId };
    },

    async getResync(workflowId: string): Promise<ResyncState> {
      try {
        return await within(deadlines.callMs, () => temporal.workflow.getHandle<typeof channelResyncWorkflow>(workflowId).query(resyncStateQuery));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new BookingNotFoundError(`resync ${workflowId} not found`);
        throw err;
      }
    },

    /** The nightly full resync of a channel, as a Temporal Schedule (created once, then left alone). */
    async ensureResyncSchedule(channel: ChannelName, account: string, hour: number, horizonDays = 365): Promise<string> {
      const scheduleId = resyncScheduleId(channel, account);
      try {
        await within(deadlines.callMs, () =>
          temporal.schedule.create({
            scheduleId,
            spec: { calendars: [{ hour, minute: 0 }] },
            action: {
              type: 'startWorkflow',
              workflowType: channelResyncWorkflow,
              taskQueue,
              workflowId: resyncWorkflowId(channel, `scheduled-${account}`),
              args: [{ channel, horizonDays, trigger: 'schedule' }],
            },
            policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
            state: { note: `Nightly full resync of ${channel} at ${hour}:00` },
          }),
        );
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
      return scheduleId;
    },
  };
}

export type ChannelsClient = ReturnType<typeof createChannelsClient>;
