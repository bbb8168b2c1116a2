// The daily retention Schedule: it starts the prune of settled webhook inbox rows and acknowledged
// channel messages older than WEBHOOK_RETENTION_DAYS. Every API start brings it up to date.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { retentionPruneWorkflow } from '../workflows/retention/prune';
import { RETENTION_SCHEDULE_ID, RETENTION_WORKFLOW_ID } from '../domain/workflow-ids';
import { DEFAULT_TEMPORAL_DEADLINES, withinDeadline, type TemporalDeadlines } from './deadlines';

/** Early morning UTC, clear of the nightly reconciliation's default hour (04:00). */
const PRUNE_AT = { hour: 3, minute: 15 };

export async function ensureRetentionSchedule(
  temporal: Client,
  options: { taskQueue: string; retentionDays: number; deadlines?: Partial<TemporalDeadlines> },
): Promise<'created' | 'updated'> {
  const callMs = options.deadlines?.callMs ?? DEFAULT_TEMPORAL_DEADLINES.callMs;
  const within = withinDeadline(temporal);
  const spec = { calendars: [PRUNE_AT] };
  const action: ScheduleOptionsStartWorkflowAction<typeof retentionPruneWorkflow> = {
    type: 'startWorkflow',
    workflowType: retentionPruneWorkflow,
    taskQueue: options.taskQueue,
    workflowId: RETENTION_WORKFLOW_ID,
    args: [{ retentionDays: options.retentionDays }],
  };
  // A missed day is caught up by the next one: the prune takes everything past the cutoff.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' };
  const note = `Daily prune of settled webhook inbox rows and acknowledged channel messages older than ${options.retentionDays} days`;
  try {
    await within(callMs, () => temporal.schedule.create({ scheduleId: RETENTION_SCHEDULE_ID, spec, action, policies, state: { note } }));
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await within(callMs, () =>
    temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, ...policies } })),
  );
  return 'updated';
}
