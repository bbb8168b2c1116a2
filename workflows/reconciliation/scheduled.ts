// What the nightly Temporal Schedule starts: it picks the day to reconcile (the scheduled day minus
// `daysBack`) and starts one reconciliation per provider under its deterministic id, so a scheduled
// run and an on-demand run of the same day are the same workflow id. A day already being
// reconciled is left to that run.
import { ParentClosePolicy, startChild, workflowInfo, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { reconciliationWorkflow } from './reconcile';
import { addDays } from '../../domain/dates';
import { reconciliationDateSearchAttribute, reconciliationProviderSearchAttribute, reconciliationStatusSearchAttribute } from '../../domain/search-attributes';
import { reconciliationWorkflowId } from '../../domain/workflow-ids';
import { type ScheduledReconciliationInput, type ScheduledReconciliationResult } from '../../domain/reconciliation';

/** Set by the Schedule on the workflows it starts: the time the action was due (not when it ran). */
const scheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export async function scheduledReconciliationWorkflow(input: ScheduledReconciliationInput): Promise<ScheduledReconciliationResult> {
  const due = workflowInfo().typedSearchAttributes.get(scheduledStartTime) ?? new Date(Date.now());
  const day = addDays(due.toISOString().slice(0, 10), -(input.daysBack ?? 1));
  const result: ScheduledReconciliationResult = { day, runs: [] };

  const started = [];
  for (const provider of input.providers) {
    const runId = reconciliationWorkflowId(provider, day);
    try {
      const handle = await startChild(reconciliationWorkflow, {
        workflowId: runId,
        args: [{ provider, from: day, to: day, trigger: 'schedule', options: input.options }],
        // A day reconciled before (on demand) is reconciled again; one running now is left alone.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: reconciliationProviderSearchAttribute, value: provider },
          { key: reconciliationDateSearchAttribute, value: day },
          { key: reconciliationStatusSearchAttribute, value: 'running' },
        ],
        staticSummary: `Reconciliation of ${provider} for ${day} (scheduled)`,
      });
      started.push({ provider, runId, handle });
    } catch (err) {
      const outcome = err instanceof WorkflowExecutionAlreadyStartedError ? 'already_running' : 'failed_to_start';
      result.runs.push({ provider, runId, outcome });
    }
  }
  for (const { provider, runId, handle } of started) {
    try {
      const state = await handle.result();
      result.runs.push({ provider, runId, outcome: state.status, discrepancies: state.counts.discrepancies });
    } catch {
      result.runs.push({ provider, runId, outcome: 'failed' });
    }
  }
  return result;
}
