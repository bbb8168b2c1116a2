// One pull of a channel's reservation queue: every message is recorded in Postgres first, then handed
// to its reservation workflow. Messages the channel still holds as unacknowledged are handed over again
// after a while (the reservation workflow recognizes them and acknowledges again).
import { ApplicationFailure } from '@temporalio/common';
import { channelReservationId, type ChannelName, type ChannelReservationEvent, type PullResult } from '../../domain/bookings';
import type { BookingActivityDeps } from './deps';
import { createProviderCallRunner } from '../provider-call';
import { temporalOf } from './reservations';

/** An unacknowledged message is handed to its workflow again after this long. */
const REDISPATCH_AFTER_MS = 2 * 60_000;

export function createPollActivities(deps: () => BookingActivityDeps) {
  return {
    /** `workflowTaskQueue`: where reservation workflows run (this activity runs on the channel's queue). */
    async pullChannelReservations({ channel, workflowTaskQueue }: { channel: ChannelName; workflowTaskQueue: string }): Promise<PullResult> {
      const current = deps();
      const client = current.channels.get(channel);
      if (!client.pullReservations) {
        throw ApplicationFailure.create({ type: 'ChannelNotConfigured', message: `${channel} has no reservation queue to pull`, nonRetryable: true });
      }
      const run = createProviderCallRunner({ subject: 'channel', logger: current.logger, observer: current.observer });
      const events = await run(channel, 'pullReservations', {}, () => client.pullReservations!());
      const { fresh, undispatched } = await current.inventory.channelMessages.recordChannelMessages(
        channel,
        events
          .filter((event): event is ChannelReservationEvent & { ack: NonNullable<ChannelReservationEvent['ack']> } => Boolean(event.ack))
          .map((event) => ({
            messageId: event.ack.messageId,
            kind: event.kind,
            channelReservationId: event.channelReservationId,
            reservationId: channelReservationId(channel, event.channelReservationId),
            payload: event,
          })),
      );
      const temporal = temporalOf(current);
      const taskQueue = workflowTaskQueue;
      let dispatched = 0;
      for (const row of undispatched) {
        if (row.dispatchedAt && Date.now() - row.dispatchedAt.getTime() < REDISPATCH_AFTER_MS) continue;
        await current.signals.reservationEvent(temporal, { taskQueue, event: row.payload as ChannelReservationEvent, timing: current.reservationTiming });
        await current.inventory.channelMessages.markDispatched(channel, row.messageId);
        dispatched += 1;
      }
      return { received: events.length, newMessages: fresh, dispatched, unacked: await current.inventory.channelMessages.listUnacked(channel) };
    },
  };
}
