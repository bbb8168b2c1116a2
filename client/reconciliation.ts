// The typed façade for transaction reconciliation: start a run (or find the one running), read its
// status and counts while it runs, fetch its report, and keep the nightly Schedule as configured.
// The API's /reconciliations routes are built on it.
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { reportCsv, reportJson } from './reconciliation-report';
import type { ReconciliationStore } from '../store/reconciliation';
import type { DiscrepancyActionRefusal } from '../store/reconciliation-discrepancies';
import { healDiscrepancy, type HealDelivery } from '../providers/reconciliation-heal';
import type { ProviderRegistry } from '../providers/types';
import { ProviderError } from '../providers/errors';
import { discrepancyView, type DiscrepancyView } from './reconciliation-report';
import { runView, type ReconciliationRunView } from '../store/reconciliation-runs';
import { WORKFLOW_TASK_QUEUE } from '../domain/task-queues';
import { type ProviderName } from '../domain/payments';
import { reconciliationWorkflow } from '../workflows/reconciliation/reconcile';
import { scheduledReconciliationWorkflow } from '../workflows/reconciliation/scheduled';
import { addDays } from '../domain/dates';
import { EMPTY_COUNTS, type DiscrepancyKind, type ReconciliationInput, type ReconciliationOptions, type ReconciliationState } from '../domain/reconciliation';
import { isReconciliationId, RECONCILIATION_SCHEDULE_ID, reconciliationWorkflowId, SCHEDULED_RECONCILIATION_WORKFLOW_ID } from '../domain/workflow-ids';
import { reconciliationStateQuery } from '../workflows/reconciliation/messages';
import { reconciliationDateSearchAttribute, reconciliationProviderSearchAttribute, reconciliationStatusSearchAttribute } from '../domain/search-attributes';
import { DEFAULT_TEMPORAL_DEADLINES, withinDeadline, type TemporalDeadlines } from './deadlines';

export class ReconciliationNotFoundError extends Error {
  override readonly name = 'ReconciliationNotFoundError';
  constructor(readonly id: string) {
    super(`reconciliation ${id} not found`);
  }
}

/** A heal or ignore the discrepancy's state does not allow (HTTP 409), with the reason. */
export class DiscrepancyActionError extends Error {
  override readonly name = 'DiscrepancyActionError';
  constructor(
    readonly reason: Exclude<DiscrepancyActionRefusal, 'not_found'>,
    message: string,
  ) {
    super(message);
  }
}

/** The provider could not be read right now (HTTP 503): nothing was recorded, try again. */
export class HealUnavailableError extends Error {
  override readonly name = 'HealUnavailableError';
}

const REFUSALS: Record<Exclude<DiscrepancyActionRefusal, 'not_found'>, string> = {
  not_healable: "cannot be healed: the provider's state does not explain it (a person decides; ignore it if it is understood)",
  healed: 'is already healed: the ledger agrees with the provider',
  ignored: 'is already ignored',
  healing: "is being healed: its payment was told and has not recorded it yet",
  run_in_progress: 'belongs to a run that is still going; wait for it to finish',
};

/** A period or provider that cannot be reconciled (HTTP 400). */
export class ReconciliationRequestError extends Error {
  override readonly name = 'ReconciliationRequestError';
}

export interface StartReconciliationRequest {
  provider: ProviderName;
  /** YYYY-MM-DD, UTC. */
  from: string;
  /** Last day, inclusive; default `from`. */
  to?: string;
  options?: ReconciliationOptions;
}

export interface ReconciliationClientOptions {
  temporal: Client;
  store: ReconciliationStore;
  taskQueue?: string;
  /** Providers this deployment offers; others are refused. */
  enabledProviders?: readonly ProviderName[];
  /** Clock (tests). */
  now?: () => number;
  /** How long each call to Temporal may take; past it the call fails (the API answers 503) instead of hanging. */
  deadlines?: Partial<TemporalDeadlines>;
  /** A person's heal of one discrepancy reads its provider and tells its payment: without these, heal is refused. */
  heal?: { providers: ProviderRegistry; payments: HealDelivery; verifyWithinMs?: number };
}

/** The longest period one run reconciles (PayPal's transaction search covers at most 31 days). */
export const MAX_PERIOD_DAYS = 31;

export function createReconciliationClient(options: ReconciliationClientOptions) {
  const { temporal, store } = options;
  const taskQueue = options.taskQueue ?? WORKFLOW_TASK_QUEUE;
  const now = options.now ?? Date.now;
  const deadlines: TemporalDeadlines = { ...DEFAULT_TEMPORAL_DEADLINES, ...options.deadlines };
  const within = withinDeadline(temporal);

  const liveState = async (id: string): Promise<ReconciliationState | undefined> => {
    try {
      return await within(deadlines.callMs, () => temporal.workflow.getHandle<typeof reconciliationWorkflow>(id).query(reconciliationStateQuery));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };

  function validate(request: StartReconciliationRequest): { from: string; to: string } {
    const from = request.from;
    const to = request.to ?? request.from;
    const day = /^\d{4}-\d{2}-\d{2}$/;
    if (!day.test(from) || Number.isNaN(Date.parse(`${from}T00:00:00Z`))) throw new ReconciliationRequestError(`from: ${from} is not a date (YYYY-MM-DD)`);
    if (!day.test(to) || Number.isNaN(Date.parse(`${to}T00:00:00Z`))) throw new ReconciliationRequestError(`to: ${to} is not a date (YYYY-MM-DD)`);
    if (to < from) throw new ReconciliationRequestError('to: must not be before from');
    if (addDays(from, MAX_PERIOD_DAYS - 1) < to) throw new ReconciliationRequestError(`to: a run covers at most ${MAX_PERIOD_DAYS} days`);
    const today = new Date(now()).toISOString().slice(0, 10);
    if (from > today) throw new ReconciliationRequestError('from: a period in the future has nothing to reconcile');
    if (options.enabledProviders && !options.enabledProviders.includes(request.provider)) {
      throw new ReconciliationRequestError(`provider: ${request.provider} is not configured here`);
    }
    return { from, to };
  }

  return {
    /**
     * Starts the reconciliation of a provider and period under its deterministic id. A run of the
     * same period that is still going is returned instead (`started: false`); a finished one is
     * reconciled again.
     */
    async start(request: StartReconciliationRequest): Promise<{ id: string; started: boolean }> {
      const { from, to } = validate(request);
      const id = reconciliationWorkflowId(request.provider, from, to);
      const input: ReconciliationInput = { provider: request.provider, from, to, trigger: 'manual', options: request.options };
      try {
        await within(deadlines.callMs, () =>
          temporal.workflow.start(reconciliationWorkflow, {
            taskQueue,
            workflowId: id,
            args: [input],
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
            typedSearchAttributes: [
              { key: reconciliationProviderSearchAttribute, value: request.provider },
              { key: reconciliationDateSearchAttribute, value: from },
              { key: reconciliationStatusSearchAttribute, value: 'running' },
            ],
            staticSummary: `Reconciliation of ${request.provider} for ${from}${to !== from ? `..${to}` : ''} (on demand)`,
          }),
        );
        return { id, started: true };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { id, started: false };
        throw err;
      }
    },

    /** Status and counts, live while the run goes (the fetch writes its progress per page). */
    async get(id: string): Promise<ReconciliationRunView & { healSignalled?: number }> {
      if (!isReconciliationId(id)) throw new ReconciliationNotFoundError(id);
      const row = await store.getRun(id);
      if (row) {
        const view = runView(row);
        if (row.status !== 'running') return view;
        // The row is the truth and is live; the query only adds what the workflow alone knows. A
        // query needs a worker: with none polling right now, the row is answered as it is.
        const live = await liveState(id).catch(() => undefined);
        return live ? { ...view, counts: { ...view.counts, healSignalled: live.counts.healSignalled } } : view;
      }
      const live = await liveState(id);
      if (!live) throw new ReconciliationNotFoundError(id);
      // Started, but its first activity has not written the row yet.
      return {
        id,
        workflowId: id,
        provider: live.provider,
        from: live.from,
        to: live.to,
        trigger: live.trigger,
        status: live.status,
        phase: live.phase,
        counts: live.counts ?? EMPTY_COUNTS,
        fetchAttempts: [],
        options: {},
        error: live.error ?? null,
        startedAt: live.startedAt,
        updatedAt: live.startedAt,
        finishedAt: live.finishedAt ?? null,
      };
    },

    async list(filter: { provider?: ProviderName; limit?: number } = {}): Promise<ReconciliationRunView[]> {
      return (await store.listRuns(filter)).map(runView);
    },

    async report(id: string, filter: { kind?: DiscrepancyKind } = {}) {
      const row = isReconciliationId(id) ? await store.getRun(id) : undefined;
      if (!row) throw new ReconciliationNotFoundError(id);
      return reportJson(runView(row), await store.listDiscrepancies(id, { kind: filter.kind }));
    },

    async reportCsv(id: string, filter: { kind?: DiscrepancyKind } = {}): Promise<string> {
      const row = isReconciliationId(id) ? await store.getRun(id) : undefined;
      if (!row) throw new ReconciliationNotFoundError(id);
      return reportCsv(await store.listDiscrepancies(id, { kind: filter.kind }));
    },

    /**
     * A person heals one discrepancy through the same heal a run makes (providers/reconciliation-heal):
     * the provider is read and, when it confirms, the payment's workflow is told. Waits a little for
     * the ledger to agree, so the answer usually says healed; otherwise it says healing, and the
     * report shows healed once the workflow has recorded it.
     */
    async healDiscrepancy(runId: string, discrepancyId: number, by: string): Promise<DiscrepancyView> {
      if (!isReconciliationId(runId)) throw new ReconciliationNotFoundError(runId);
      const claim = await store.claimHeal(runId, discrepancyId, by);
      if ('refused' in claim) throw refusal(runId, discrepancyId, claim.refused);
      const heal = options.heal;
      let outcome;
      try {
        if (!heal) throw new HealUnavailableError('this process cannot reach the providers to heal');
        outcome = await healDiscrepancy(claim.candidate, {
          providers: heal.providers,
          payments: heal.payments,
          // Not the run's event id: the workflow must not take a person's heal for a duplicate of the run's.
          eventId: `reconciliation:${runId}:${discrepancyId}:manual-${now()}`,
          now,
        });
      } catch (err) {
        // Nothing reached the payment: the claim is undone so the heal can be asked again.
        await store.recordHealAttempt(discrepancyId, 'failed', err instanceof Error ? err.message : String(err));
        if (err instanceof ProviderError || err instanceof HealUnavailableError) throw new HealUnavailableError(`${err.message}; nothing was changed, try again`);
        throw err;
      }
      await store.recordHealAttempt(discrepancyId, outcome.result, outcome.note);
      if (outcome.result === 'signalled') {
        const deadline = now() + (heal?.verifyWithinMs ?? 10_000);
        for (let delayMs = 200; ; delayMs = Math.min(delayMs * 2, 2_000)) {
          await store.verifyHealing(runId);
          const row = await store.getDiscrepancy(runId, discrepancyId);
          if (row?.healed || now() + delayMs > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
      const row = await store.getDiscrepancy(runId, discrepancyId);
      if (!row) throw new ReconciliationNotFoundError(`${runId} discrepancy ${discrepancyId}`);
      return discrepancyView(row);
    },

    /** A person leaves one discrepancy as it is: who, when and why are recorded; it is no longer open. */
    async ignoreDiscrepancy(runId: string, discrepancyId: number, decision: { by: string; reason: string }): Promise<DiscrepancyView> {
      if (!isReconciliationId(runId)) throw new ReconciliationNotFoundError(runId);
      const result = await store.ignore(runId, discrepancyId, decision);
      if ('refused' in result) throw refusal(runId, discrepancyId, result.refused);
      return discrepancyView(result);
    },

    /** Waits for the run to finish and returns its final state (tests, scripts). */
    async result(id: string): Promise<ReconciliationState> {
      return temporal.workflow.getHandle<typeof reconciliationWorkflow>(id).result();
    },

    /**
     * The nightly Schedule, created or brought up to date (idempotent: every API start calls it).
     * Without an hour the Schedule is removed. Its workflow reconciles the previous UTC day for every
     * provider given, each under the same deterministic id an on-demand run of that day would use.
     */
    async ensureSchedule(schedule: { hour?: number; providers: readonly ProviderName[]; options?: ReconciliationOptions }): Promise<'created' | 'updated' | 'deleted' | 'absent'> {
      const handle = temporal.schedule.getHandle(RECONCILIATION_SCHEDULE_ID);
      if (schedule.hour === undefined || schedule.providers.length === 0) {
        try {
          await within(deadlines.callMs, () => handle.delete());
          return 'deleted';
        } catch (err) {
          if (err instanceof ScheduleNotFoundError) return 'absent';
          throw err;
        }
      }
      const spec = { calendars: [{ hour: schedule.hour, minute: 0 }] };
      const action: ScheduleOptionsStartWorkflowAction<typeof scheduledReconciliationWorkflow> = {
        type: 'startWorkflow',
        workflowType: scheduledReconciliationWorkflow,
        taskQueue,
        workflowId: SCHEDULED_RECONCILIATION_WORKFLOW_ID,
        args: [{ providers: [...schedule.providers], daysBack: 1, options: schedule.options }],
      };
      // A night missed while the cluster was down is caught up within the morning, not days later.
      const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '6 hours' };
      const note = `Nightly reconciliation of ${schedule.providers.join(', ')} for the previous day, at ${schedule.hour}:00 UTC`;
      try {
        await within(deadlines.callMs, () => temporal.schedule.create({ scheduleId: RECONCILIATION_SCHEDULE_ID, spec, action, policies, state: { note } }));
        return 'created';
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
      await within(deadlines.callMs, () => handle.update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, ...policies } })));
      return 'updated';
    },
  };
}

function refusal(runId: string, discrepancyId: number, reason: DiscrepancyActionRefusal): Error {
  if (reason === 'not_found') return new ReconciliationNotFoundError(`${runId} discrepancy ${discrepancyId}`);
  return new DiscrepancyActionError(reason, `discrepancy ${discrepancyId} of ${runId} ${REFUSALS[reason]}`);
}

export type ReconciliationClient = ReturnType<typeof createReconciliationClient>;
