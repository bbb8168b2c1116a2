// The full resync of one channel (on a Temporal Schedule at night, or on demand): compares the
// channel's reservations and calendars with central inventory and corrects the drift. The paging
// itself runs in long activities that checkpoint their cursor in heartbeat details; this workflow
// sequences the phases and answers the status query.
import { ActivityFailure, ApplicationFailure, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { BookingActivities } from '../../activities/bookings';
import { BOOKING_ACTIVITY_OPTIONS, channelCallOptions } from './activity-options';
import { resyncStateQuery } from './messages';
import { syncStatusSearchAttribute } from '../../domain/search-attributes';
import { type ResyncInput, type ResyncProgress, type ResyncState } from '../../domain/bookings';

const records = proxyActivities<BookingActivities>(BOOKING_ACTIVITY_OPTIONS.inventory);

export async function channelResyncWorkflow(input: ResyncInput): Promise<ResyncState> {
  const paging = proxyActivities<BookingActivities>(channelCallOptions(input.channel, 'resync'));
  const runId = workflowInfo().workflowId;
  const state: ResyncState = {
    runId,
    channel: input.channel,
    status: 'running',
    progress: { phase: 'reservations', pages: 0, reservationsChecked: 0, reservationsCorrected: 0, calendarDaysChecked: 0, calendarDaysCorrected: 0, unitsDone: [] },
    startedAt: new Date(Date.now()).toISOString(),
  };
  setHandler(resyncStateQuery, () => state);
  const show = (status: ResyncState['status']) => {
    state.status = status;
    upsertSearchAttributes([{ key: syncStatusSearchAttribute, value: `resync_${status}` }]);
    const p = state.progress;
    setCurrentDetails(
      `**resync ${status}** · ${input.channel} · phase ${p.phase} · ${p.pages} pages · reservations ${p.reservationsChecked} checked, ` +
        `${p.reservationsCorrected} corrected · nights ${p.calendarDaysChecked} checked, ${p.calendarDaysCorrected} corrected` +
        (state.error ? `\n\n${state.error}` : ''),
    );
  };

  const common = { runId, channel: input.channel, trigger: input.trigger, accounts: input.accounts };
  const workflowTaskQueue = workflowInfo().taskQueue;
  show('running');
  await records.recordResyncRun({ ...common, progress: state.progress, status: 'running' });
  try {
    state.progress = await paging.resyncReservations({ ...common, workflowTaskQueue, pageSize: input.pageSize ?? 50, progress: state.progress });
    show('running');
    state.progress = await paging.resyncCalendar({ ...common, workflowTaskQueue, horizonDays: input.horizonDays, progress: state.progress });
    state.finishedAt = new Date(Date.now()).toISOString();
    show('completed');
    await records.recordResyncRun({ ...common, progress: state.progress, status: 'completed' });
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    state.error = cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : String(cause);
    state.finishedAt = new Date(Date.now()).toISOString();
    show('failed');
    await records.recordResyncRun({ ...common, progress: state.progress, status: 'failed', error: state.error });
  }
  return state;
}

export type { ResyncProgress };
