// One reconciliation: a provider and a period (a day by default). It only orchestrates: the
// activities page through the provider's transactions into Postgres, match them there against the
// ledger and the bookings, and heal what the provider's state explains by signalling the payments'
// workflows. Only run ids and counts pass through this workflow's history.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ReconciliationActivities } from '../../activities/reconciliation';
import { NON_RETRYABLE_PROVIDER_ERRORS } from '../shared/retry-policies';
import { EMPTY_COUNTS, type ReconciliationInput, type ReconciliationPhase, type ReconciliationState, type ReconciliationStatus } from '../../domain/reconciliation';
import { reconciliationStateQuery } from './messages';
import { reconciliationStatusSearchAttribute } from '../../domain/search-attributes';

const HEAL_BATCH = 100;
const VERIFY_CHECKS = 4;

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;

/** Named presets: bookkeeping in our own database, the long paging fetch, the batched healing. */
const BOOKKEEPING: ActivityOptions = { startToCloseTimeout: '2 minutes', retry };
const MATCHING: ActivityOptions = { startToCloseTimeout: '30 minutes', retry };
const HEALING: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { ...retry, maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_PROVIDER_ERRORS },
};
function fetchingOptions(heartbeatTimeoutMs: number): ActivityOptions {
  return {
    // A large period pages for a long time; the heartbeat, not this, notices a dead worker.
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { ...retry, maximumAttempts: 20, nonRetryableErrorTypes: [...NON_RETRYABLE_PROVIDER_ERRORS, 'ReconciliationNotConfigured'] },
  };
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'ApplicationFailure'}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconciliationState> {
  const options = input.options ?? {};
  const to = input.to ?? input.from;
  const info = workflowInfo();
  const runId = info.workflowId;
  const bookkeeping = proxyActivities<ReconciliationActivities>(BOOKKEEPING);
  const matching = proxyActivities<ReconciliationActivities>(MATCHING);
  const healing = proxyActivities<ReconciliationActivities>(HEALING);
  const fetching = proxyActivities<ReconciliationActivities>(fetchingOptions(options.heartbeatTimeoutMs ?? 30_000));

  const state: ReconciliationState = {
    runId,
    provider: input.provider,
    from: input.from,
    to,
    trigger: input.trigger,
    status: 'running',
    phase: 'starting',
    counts: { ...EMPTY_COUNTS, byKind: {} },
    startedAt: new Date(Date.now()).toISOString(),
  };
  setHandler(reconciliationStateQuery, () => state);

  let publishedStatus: ReconciliationStatus | undefined;
  const show = async (phase: ReconciliationPhase, status: ReconciliationStatus = state.status) => {
    state.phase = phase;
    state.status = status;
    if (publishedStatus !== status) {
      publishedStatus = status;
      upsertSearchAttributes([{ key: reconciliationStatusSearchAttribute, value: status }]);
    }
    const c = state.counts;
    setCurrentDetails(
      `**${status}** · ${phase} · ${input.provider} ${input.from}${to !== input.from ? `..${to}` : ''}` +
        ` · ${c.pages} pages, ${c.transactions} transactions · ${c.ledgerPayments} ledger payments, ${c.matched} matched` +
        ` · ${c.discrepancies} discrepancies (${c.healable} healable, ${c.healed} healed)` +
        (state.error ? `\n\n${state.error}` : ''),
    );
    if (status === 'running') await bookkeeping.setReconciliationPhase({ runId, phase });
  };

  try {
    await bookkeeping.beginReconciliation({
      runId,
      temporalRunId: info.runId,
      provider: input.provider,
      from: input.from,
      to,
      trigger: input.trigger,
      options,
    });

    await show('fetching');
    const fetched = await fetching.fetchProviderTransactions({ runId, provider: input.provider, from: input.from, to, pageSize: options.pageSize });
    state.counts = { ...state.counts, pages: fetched.pages, transactions: fetched.transactions };

    await show('matching');
    const matched = await matching.matchReconciliation({ runId, provider: input.provider, from: input.from, to, checkBookings: options.checkBookings ?? true });
    state.counts = { ...state.counts, ...matched };

    if ((options.heal ?? true) && matched.healable > 0) {
      await show('healing');
      let afterId = 0;
      for (;;) {
        const batch = await healing.healDiscrepancies({ runId, afterId, limit: HEAL_BATCH });
        state.counts = { ...state.counts, healSignalled: state.counts.healSignalled + batch.signalled };
        afterId = batch.lastId;
        if (batch.done) break;
      }
      if (state.counts.healSignalled > 0) {
        await show('verifying');
        // The workflows apply the signals and record them; give them a moment, then check.
        let delayMs = options.healVerifyDelayMs ?? 2_000;
        for (let check = 1; check <= VERIFY_CHECKS; check++) {
          await sleep(delayMs);
          const verified = await bookkeeping.verifyHealing({ runId });
          state.counts = { ...state.counts, healed: verified.healed };
          if (verified.pending === 0) break;
          delayMs *= 2;
        }
      }
    }

    await bookkeeping.finishReconciliation({ runId, status: 'completed' });
    state.finishedAt = new Date(Date.now()).toISOString();
    await show('done', 'completed');
  } catch (err) {
    state.error = isCancellation(err) ? 'cancelled' : failureMessage(err);
    state.finishedAt = new Date(Date.now()).toISOString();
    // Recorded even when the run was cancelled: the row must not stay `running`.
    await CancellationScope.nonCancellable(async () => {
      await bookkeeping.finishReconciliation({ runId, status: 'failed', error: state.error });
      await show('done', 'failed');
    });
    if (isCancellation(err)) throw err;
  }
  return state;
}
