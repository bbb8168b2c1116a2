// What the daily retention Schedule starts: one activity that prunes, in batches, what Skerry no
// longer needs to keep (settled webhook inbox rows, acknowledged channel messages).
import { proxyActivities } from '@temporalio/workflow';
import type { RetentionPruneInput, RetentionPruneResult } from '../../domain/retention';

const { pruneRetainedRows } = proxyActivities<{ pruneRetainedRows(input: RetentionPruneInput): Promise<RetentionPruneResult> }>({
  // Each batch heartbeats; a worker that dies mid-prune is noticed within the heartbeat timeout.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '10 seconds', nonRetryableErrorTypes: ['RetentionNotConfigured'] },
});

export async function retentionPruneWorkflow(input: RetentionPruneInput): Promise<RetentionPruneResult> {
  return pruneRetainedRows(input);
}
