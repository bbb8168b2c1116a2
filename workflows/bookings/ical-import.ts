// Polls one OTA's iCal feed for one unit (workflow id `ical-import-<feedId>`) for as long as the feed
// exists: each round is one activity (fetch, parse, hand the changed events to their reservation
// workflows); the interval is the feed's own setting, read every round, so a change applies at the
// next one. A failed round is not retried: the next round is the retry, and the error is on the
// feed's health meanwhile. `pollNow` runs a round at once.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BookingActivities } from '../../activities/bookings';
import { channelCallOptions } from './activity-options';
import { pollNowSignal } from './messages';
import { syncStatusSearchAttribute } from '../../domain/search-attributes';
import type { SyncStatus } from '../../domain/bookings';

export interface IcalImportInput {
  feedId: string;
  /** Continue-as-new after this many rounds. */
  roundsPerRun?: number;
}

export interface IcalImportState {
  feedId: string;
  rounds: number;
  imported: number;
  notModified: number;
  failed: number;
  dispatched: number;
  lastRoundAt?: string;
  lastError?: string;
}

export const icalImportStateQuery = defineQuery<IcalImportState>('icalImportState');

const DEFAULT_ROUNDS_PER_RUN = 500;
/** When the round itself failed (the database was down), try again after this long. */
const FAILED_ROUND_RETRY_MS = 60_000;

export async function icalImportWorkflow(input: IcalImportInput, carried?: IcalImportState): Promise<IcalImportState> {
  const state: IcalImportState = carried ?? { feedId: input.feedId, rounds: 0, imported: 0, notModified: 0, failed: 0, dispatched: 0 };
  const { importIcalFeed } = proxyActivities<BookingActivities>(channelCallOptions('ical', 'pull'));
  let pollRequested = false;
  let roundsThisRun = 0;
  setHandler(icalImportStateQuery, () => state);
  setHandler(pollNowSignal, () => {
    pollRequested = true;
  });

  let published: SyncStatus | undefined;
  const publish = (status: SyncStatus) => {
    if (published === status) return;
    published = status;
    upsertSearchAttributes([{ key: syncStatusSearchAttribute, value: status }]);
  };

  for (;;) {
    pollRequested = false;
    let intervalMs = FAILED_ROUND_RETRY_MS;
    try {
      const result = await importIcalFeed({ feedId: input.feedId, workflowTaskQueue: workflowInfo().taskQueue });
      if (result.removed) break;
      intervalMs = result.intervalMs;
      state.dispatched += result.dispatched;
      if (result.outcome === 'imported') state.imported += 1;
      else if (result.outcome === 'not_modified') state.notModified += 1;
      else state.failed += 1;
      state.lastError = result.error;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      state.failed += 1;
      state.lastError = cause instanceof Error ? cause.message : String(cause);
    }
    publish(state.lastError ? 'error' : 'idle');
    state.rounds += 1;
    roundsThisRun += 1;
    state.lastRoundAt = new Date(Date.now()).toISOString();
    setCurrentDetails(
      `${state.rounds} rounds · ${state.imported} imported · ${state.notModified} not modified · ${state.failed} failed · ${state.dispatched} events handed over` +
        (state.lastError ? `\n\nlast error: ${state.lastError}` : ''),
    );
    if (roundsThisRun >= (input.roundsPerRun ?? DEFAULT_ROUNDS_PER_RUN) && allHandlersFinished()) {
      await continueAsNew<typeof icalImportWorkflow>(input, state);
    }
    await condition(() => pollRequested, intervalMs);
  }
  await condition(allHandlersFinished);
  return state;
}
