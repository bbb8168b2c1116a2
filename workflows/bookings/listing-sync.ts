// One long-running sync per unit and channel (workflow id `listing-sync-<channel>-<unit>`), or, for a
// channel whose calls and rate limit are per property (Channex, CHANNEL_SYNC_SCOPE), one per channel
// account (`listing-sync-<channel>-property-<account>`) whose window gathers every mapped unit's
// changes into one push: one call per kind per property. Calendar changes arrive as signals
// (signal-with-start), coalesce into date ranges over a short window, and are pushed within the
// channel's rate limit. The database holds what each night should be; the signals only say which
// nights to look at, so a push always sends the latest state.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BookingActivities } from '../../activities/bookings';
import { channelCallOptions } from './activity-options';
import { addChange, batchRanges, countDays, dueAtMs, emptyPending, prunePushTimes, rateLimitWaitMs, restorePending, takePending, type PendingChanges } from './coalesce';
import { calendarChangedSignal, listingSyncStateQuery } from './messages';
import { DEFAULT_LISTING_SYNC_TIMING, type ListingSyncInput, type ListingSyncState, type SyncStatus } from '../../domain/bookings';
import { syncStatusSearchAttribute } from '../../domain/search-attributes';

/** What survives continue-as-new. Everything else (status, timers) is rebuilt by the next run. */
export interface ListingSyncCarried {
  pending: PendingChanges;
  recentPushAtMs: number[];
  stats: Pick<ListingSyncState, 'pushes' | 'daysPushed' | 'requests' | 'lastPushAt' | 'lastError' | 'runsContinued'>;
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'ApplicationFailure'}: ${cause.message}`;
  return err instanceof Error ? err.message : String(err);
}

export async function listingSyncWorkflow(input: ListingSyncInput, carried?: ListingSyncCarried): Promise<void> {
  const timing = { ...DEFAULT_LISTING_SYNC_TIMING, ...input.timing };
  const { pushChannelCalendar, pushChannelProperty } = proxyActivities<BookingActivities>(channelCallOptions(input.channel, 'push'));
  // A property's sync pushes its window whole (never cut by maxDaysPerPush): a full sync stays 2 calls.
  const account = input.account;
  let pending: PendingChanges = carried?.pending ?? emptyPending();
  let recentPushAtMs: number[] = carried?.recentPushAtMs ?? [];
  const stats: ListingSyncCarried['stats'] = carried?.stats ?? { pushes: 0, daysPushed: 0, requests: 0, runsContinued: 0 };
  let status: SyncStatus = 'idle';
  let publishedStatus: SyncStatus | undefined;
  let errorUntilMs: number | undefined;

  const publish = (next: SyncStatus) => {
    status = next;
    if (publishedStatus === next) return;
    publishedStatus = next;
    upsertSearchAttributes([{ key: syncStatusSearchAttribute, value: next }]);
    setCurrentDetails(
      `**${next}** · ${input.channel} for ${account !== undefined ? `property ${account}` : input.unitId}` +
        ` · ${stats.pushes} pushes, ${stats.daysPushed} nights sent, ${pending.changesReceived} changes received` +
        (stats.lastError ? `\n\nlast error: ${stats.lastError}` : ''),
    );
  };

  setHandler(calendarChangedSignal, (change) => {
    // A property's sync cannot tell whose nights a change without a unit means: nothing to push.
    if (account !== undefined && change.unitId === undefined) return;
    pending = addChange(pending, change.ranges, Date.now(), change.urgent === true, account !== undefined ? change.unitId : undefined);
    // A new change retries a failed push at once: the manager may just have fixed the cause.
    errorUntilMs = undefined;
  });
  setHandler(listingSyncStateQuery, () => ({
    unitId: input.unitId,
    account,
    channel: input.channel,
    status,
    pendingRanges: pending.ranges,
    ...(account !== undefined ? { pendingUnits: pending.byUnit ?? {} } : {}),
    changesReceived: pending.changesReceived,
    ...stats,
  }));

  publish(pending.ranges.length > 0 ? 'coalescing' : 'idle');
  for (;;) {
    const info = workflowInfo();
    if ((info.continueAsNewSuggested || info.historyLength > timing.maxHistoryEvents) && allHandlersFinished()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof listingSyncWorkflow>(input, {
        pending,
        recentPushAtMs: prunePushTimes(recentPushAtMs, Date.now(), timing.rateLimit),
        stats: { ...stats, runsContinued: stats.runsContinued + 1 },
      });
    }

    if (pending.ranges.length === 0) {
      publish('idle');
      // Idle until the next change; wake now and then so a long quiet spell still continues-as-new.
      await condition(() => pending.ranges.length > 0, '1 hour');
      continue;
    }

    // The coalescing window: push after a quiet period, or at the latest after maxDelayMs.
    publish(errorUntilMs !== undefined ? 'error' : 'coalescing');
    const due = Math.max(dueAtMs(pending, timing) ?? Date.now(), errorUntilMs ?? 0);
    if (Date.now() < due) {
      const seen = pending.changesReceived;
      const errorSeen = errorUntilMs;
      await condition(() => pending.changesReceived !== seen || errorUntilMs !== errorSeen, Math.max(1, due - Date.now()));
      continue;
    }

    // The channel's rate limit: changes arriving while we wait join this batch.
    const wait = rateLimitWaitMs(recentPushAtMs, Date.now(), timing.rateLimit);
    if (wait > 0) {
      publish('rate_limited');
      await sleep(wait);
    }

    const { batch, batchByUnit, rest } = takePending(pending);
    pending = rest;
    publish('pushing');
    const parts = account !== undefined ? [batch] : batchRanges(batch, timing.maxDaysPerPush);
    for (let index = 0; index < parts.length; index += 1) {
      const ranges = parts[index]!;
      const slot = rateLimitWaitMs(recentPushAtMs, Date.now(), timing.rateLimit);
      if (slot > 0) await sleep(slot);
      recentPushAtMs = [...prunePushTimes(recentPushAtMs, Date.now(), timing.rateLimit), Date.now()];
      try {
        const result =
          account !== undefined
            ? await pushChannelProperty({ channel: input.channel, account, units: batchByUnit })
            : await pushChannelCalendar({ unitId: input.unitId!, channel: input.channel, ranges });
        stats.pushes += 1;
        stats.daysPushed += result.daysPushed;
        stats.requests += result.requests;
        stats.lastPushAt = new Date(Date.now()).toISOString();
        stats.lastError = undefined;
        errorUntilMs = undefined;
      } catch (err) {
        // Nothing is lost: the ranges not pushed go back and are retried after a pause (or the next change).
        stats.lastError = failureMessage(err);
        const unpushed = parts.slice(index).flat();
        pending = restorePending(pending, unpushed, Date.now(), account !== undefined ? batchByUnit : undefined);
        errorUntilMs = Date.now() + timing.errorRetryMs;
        publishedStatus = undefined;
        publish('error');
        break;
      }
    }
    if (countDays(pending.ranges) === 0 && errorUntilMs === undefined) publish('idle');
  }
}
