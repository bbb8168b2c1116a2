// The reconciliation activities. The workflow passes run ids and counts; transactions and
// discrepancies stay in Postgres. The fetch is one long activity that pages through the provider's
// listing and checkpoints its cursor in heartbeat details, so another worker resumes a killed one at
// the page it reached; staging is idempotent, so a page read twice is counted once.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { classifyTransportError, ProviderError } from '../../providers/errors';
import type { TransactionPage } from '../../domain/provider-transactions';
import type { Logger } from '../../observability/logger';
import type { PaymentTiming, ProviderName } from '../../domain/payments';
import type { ReconciliationStore } from '../../store/reconciliation';
import { FETCH_SLACK_MS } from '../../store/reconciliation-runs';
import type { MatchResult } from '../../store/reconciliation-matching';
import { periodBounds, type ReconciliationInput, type ReconciliationOptions, type ReconciliationPhase, type ReconciliationStatus } from '../../domain/reconciliation';
import type { ProviderRegistry } from '../../providers/types';
import { toApplicationFailure } from '../provider-call';
import { type ProviderCallObserver } from '../../observability/observers';
import { healDiscrepancy, type HealDelivery } from '../../providers/reconciliation-heal';

export interface ReconciliationActivityDeps {
  store: ReconciliationStore;
  providers: ProviderRegistry;
  logger: Logger;
  observer?: ProviderCallObserver;
  /** The Temporal client healing signals go through; defaults to the worker's own (activity context). */
  temporal?: () => Client;
  /**
   * How a healing observation reaches its payment's workflow: client/payments' delivery (signal, or
   * signal-with-start adopting a payment whose workflow is gone), injected by the worker so that
   * activities stay below the client edge.
   */
  paymentDelivery: (temporal: Client, options: { taskQueue: string; timing?: Partial<PaymentTiming> }) => HealDelivery;
  /** Timing of a payment workflow started by signal-with-start (a healed payment without a workflow). */
  paymentTiming?: Partial<PaymentTiming>;
  /** Clock (tests). */
  now?: () => number;
}

/** What the fetch checkpoints after every page. */
export interface FetchCheckpoint {
  /** The provider's cursor for the next page; undefined once the last page is stored. */
  cursor?: string;
  /** Pages stored so far. */
  pages: number;
  done: boolean;
}

export interface FetchResult {
  pages: number;
  transactions: number;
  resumedAfterPage: number;
}

/**
 * Without dependencies (a worker not wired for reconciliation) the activities exist but fail, not
 * retried, saying so: a workflow never hangs on an activity type the worker lacks.
 */
export function createReconciliationActivities(deps: ReconciliationActivityDeps | undefined) {
  const need = (): ReconciliationActivityDeps => {
    if (!deps) {
      throw ApplicationFailure.create({ type: 'ReconciliationNotConfigured', message: 'this worker has no reconciliation dependencies', nonRetryable: true });
    }
    return deps;
  };
  const now = () => (deps?.now ?? Date.now)();

  return {
    async beginReconciliation(input: {
      runId: string;
      temporalRunId: string;
      provider: ProviderName;
      from: string;
      to: string;
      trigger: ReconciliationInput['trigger'];
      options: ReconciliationOptions;
    }): Promise<void> {
      await need().store.beginRun(input);
    },

    async setReconciliationPhase({ runId, phase }: { runId: string; phase: ReconciliationPhase }): Promise<void> {
      await need().store.setPhase(runId, phase);
    },

    /**
     * Pages through the provider's transactions of the period (plus a little slack on both sides)
     * and stages them. Resumes from the last checkpoint a previous attempt heartbeated.
     */
    async fetchProviderTransactions(input: { runId: string; provider: ProviderName; from: string; to: string; pageSize?: number }): Promise<FetchResult> {
      const { store, providers, logger, observer } = need();
      const context = Context.current();
      const client = providers.get(input.provider);
      if (!client.listTransactions) {
        throw ApplicationFailure.create({
          type: 'ProviderError.unsupported',
          message: `${input.provider} offers no transaction listing to reconcile against`,
          nonRetryable: true,
        });
      }
      const period = periodBounds(input.from, input.to);
      const window = {
        from: new Date(Date.parse(period.start) - FETCH_SLACK_MS).toISOString(),
        to: new Date(Date.parse(period.end) + FETCH_SLACK_MS).toISOString(),
      };
      let checkpoint: FetchCheckpoint = (context.info.heartbeatDetails as FetchCheckpoint | undefined) ?? { pages: 0, done: false };
      const resumedAfterPage = checkpoint.pages;
      const log = logger.child({ activity: 'fetchProviderTransactions', runId: input.runId, provider: input.provider, attempt: context.info.attempt });
      await store.recordFetchAttempt(input.runId, { attempt: context.info.attempt, resumedAfterPage, at: new Date(now()).toISOString() });
      if (resumedAfterPage > 0) log.info({ resumedAfterPage }, 'resuming the transaction fetch from its checkpoint');

      const fetchPage = async (cursor: string | undefined, pageNumber: number) => {
        const started = performance.now();
        try {
          const page = await client.listTransactions!({ ...window, cursor, pageSize: input.pageSize });
          observer?.onCall?.(input.provider, 'list_transactions', 'ok', (performance.now() - started) / 1000);
          return page;
        } catch (err) {
          const failure = err instanceof ProviderError ? err : classifyTransportError(input.provider, 'list_transactions', err);
          observer?.onCall?.(input.provider, 'list_transactions', failure.kind, (performance.now() - started) / 1000);
          log.warn({ page: pageNumber, outcome: failure.kind, reason: failure.message }, 'transaction page failed');
          throw toApplicationFailure(failure);
        }
      };
      // Keep the checkpoint alive while a slow page is on its way (never an empty heartbeat: that
      // would replace the cursor).
      const keepAlive = setInterval(() => context.heartbeat(checkpoint), 3_000);
      try {
        // The next page is asked for while this one is stored; the checkpoint only ever names pages
        // that are stored, so a crash between the two re-reads at most one page.
        let pending: Promise<TransactionPage> | undefined = checkpoint.done ? undefined : fetchPage(checkpoint.cursor, checkpoint.pages + 1);
        while (pending) {
          if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason ?? new Error('cancelled');
          const page = await pending;
          pending = page.nextCursor ? fetchPage(page.nextCursor, checkpoint.pages + 2) : undefined;
          // A failed prefetch is met when awaited; until then it must not count as unhandled.
          pending?.catch(() => undefined);
          await store.stagePage(input.runId, checkpoint.pages + 1, page.transactions, period);
          checkpoint = { cursor: page.nextCursor, pages: checkpoint.pages + 1, done: !page.nextCursor };
          context.heartbeat(checkpoint);
        }
      } finally {
        clearInterval(keepAlive);
      }
      const transactions = await store.stagedCount(input.runId);
      log.info({ pages: checkpoint.pages, transactions, resumedAfterPage }, 'transactions fetched');
      return { pages: checkpoint.pages, transactions, resumedAfterPage };
    },

    async matchReconciliation(input: { runId: string; provider: ProviderName; from: string; to: string; checkBookings: boolean }): Promise<MatchResult> {
      return need().store.match({ ...input, asOf: new Date(now()).toISOString() });
    },

    /**
     * Heals one batch of lost webhooks: reads the payment at the provider (the source of truth), and
     * signals what it says into the payment's workflow — signal-with-start, so a payment whose
     * workflow is gone is adopted; a closed one is never restarted. The ledger is not touched here:
     * the workflow records what it applies.
     */
    async healDiscrepancies(input: { runId: string; afterId: number; limit: number }): Promise<{ attempted: number; signalled: number; lastId: number; done: boolean }> {
      const { store, providers, logger, temporal, paymentTiming, paymentDelivery } = need();
      const context = Context.current();
      const candidates = await store.healCandidates(input.runId, input.afterId, input.limit);
      const client = (temporal ?? (() => context.client))();
      const payments = paymentDelivery(client, { taskQueue: context.info.taskQueue, timing: paymentTiming });
      let signalled = 0;
      for (const candidate of candidates) {
        context.heartbeat({ afterId: candidate.discrepancyId });
        // One event id per discrepancy (a row of this run): a retried batch delivers a duplicate the
        // workflow ignores, while the same day reconciled again heals with a new one.
        const result = await healDiscrepancy(candidate, { providers, payments, eventId: `reconciliation:${input.runId}:${candidate.discrepancyId}`, now }).catch(
          (err: unknown) => ({ result: 'failed', note: err instanceof ProviderError ? `${err.provider} ${err.operation}: ${err.message}` : err instanceof Error ? err.message : String(err) }),
        );
        if (result.result === 'signalled') signalled += 1;
        await store.recordHealAttempt(candidate.discrepancyId, result.result, result.note);
        logger.info({ runId: input.runId, paymentId: candidate.paymentId, reason: candidate.reason, ...result }, 'reconciliation heal');
      }
      const lastId = candidates.at(-1)?.discrepancyId ?? input.afterId;
      return { attempted: candidates.length, signalled, lastId, done: candidates.length < input.limit };
    },

    async verifyHealing({ runId }: { runId: string }): Promise<{ healed: number; pending: number; signalled: number }> {
      return need().store.verifyHealing(runId);
    },

    async finishReconciliation(input: { runId: string; status: ReconciliationStatus; error?: string }): Promise<void> {
      await need().store.finishRun(input.runId, { status: input.status, error: input.error });
    },
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
