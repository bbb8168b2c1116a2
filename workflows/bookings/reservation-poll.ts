// Pulls a channel's reservation queue (Booking.com's OTA_HotelResNotif and OTA_HotelResModifyNotif)
// on a fixed interval, for as long as the channel is connected. Each pull records the messages in
// Postgres and hands each one to its reservation workflow (signal-with-start); the reservation
// workflow acknowledges it once processed. A failed pull is not retried: the next poll is the retry.
// The query shows how long unacknowledged reservations have been waiting.
import { ActivityFailure, allHandlersFinished, condition, continueAsNew, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BookingActivities } from '../../activities/bookings';
import { channelCallOptions } from './activity-options';
import { pollNowSignal, reservationPollStateQuery } from './messages';
import { type ReservationPollInput, type ReservationPollState } from '../../domain/bookings';

/** Polls per run before continuing as new (Booking.com recommends about 20 s between two GETs). */
const DEFAULT_POLLS_PER_RUN = 500;

export async function reservationPollWorkflow(input: ReservationPollInput, carried?: ReservationPollState): Promise<void> {
  const state: ReservationPollState = carried ?? {
    channel: input.channel,
    polls: 0,
    received: 0,
    dispatched: 0,
    unacked: [],
    oldestUnackedAgeMs: 0,
  };
  const { pullChannelReservations } = proxyActivities<BookingActivities>(channelCallOptions(input.channel, 'pull'));
  let pollRequested = false;
  let pollsThisRun = 0;

  setHandler(reservationPollStateQuery, () => state);
  setHandler(pollNowSignal, () => {
    pollRequested = true;
  });

  for (;;) {
    pollRequested = false;
    try {
      const result = await pullChannelReservations({ channel: input.channel, workflowTaskQueue: workflowInfo().taskQueue });
      state.received += result.received;
      state.dispatched += result.dispatched;
      state.unacked = result.unacked.slice(0, 50);
      state.oldestUnackedAgeMs = result.unacked.reduce((oldest, message) => Math.max(oldest, message.ageMs), 0);
      state.lastError = undefined;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      state.lastError = cause instanceof Error ? cause.message : String(cause);
    }
    state.polls += 1;
    pollsThisRun += 1;
    state.lastPollAt = new Date(Date.now()).toISOString();
    setCurrentDetails(
      `${state.polls} polls · ${state.received} messages · ${state.unacked.length} unacknowledged` +
        (state.unacked.length ? ` (oldest ${Math.round(state.oldestUnackedAgeMs / 1000)} s)` : '') +
        (state.lastError ? `\n\nlast error: ${state.lastError}` : ''),
    );

    if (pollsThisRun >= (input.pollsPerRun ?? DEFAULT_POLLS_PER_RUN) && allHandlersFinished()) {
      await continueAsNew<typeof reservationPollWorkflow>(input, state);
    }
    await condition(() => pollRequested, input.intervalMs);
  }
}
