// The retention prune: deletes, in batches, webhook inbox rows settled, channel messages
// acknowledged and provider-call hours recorded longer ago than the retention period. Each batch is
// its own short statement and a heartbeat, so a large backlog neither holds a long transaction nor
// looks like a stuck activity; a retried attempt simply continues, since what was deleted is gone.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WebhookInbox } from '../store/webhook-inbox';
import type { ChannelMessageStore } from '../store/channel-messages';
import type { ProviderCallHours } from '../store/provider-call-hours';
import { DEFAULT_RETENTION_BATCH_SIZE, type RetentionPruneInput, type RetentionPruneResult } from '../domain/retention';

export interface RetentionActivityDeps {
  inbox: Pick<WebhookInbox, 'pruneSettled'>;
  channelMessages: Pick<ChannelMessageStore, 'pruneAcknowledged'>;
  /** The hourly provider-call rollup (optional: a worker without it prunes the rest). */
  providerCallHours?: Pick<ProviderCallHours, 'pruneOlderThan'>;
  now?: () => Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

async function pruneInBatches(prune: (batch: { cutoff: Date; limit: number }) => Promise<number>, cutoff: Date, limit: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await prune({ cutoff, limit });
    total += deleted;
    heartbeat(total);
    if (deleted < limit) return total;
  }
}

function heartbeat(progress: number): void {
  try {
    Context.current().heartbeat(progress);
  } catch {
    // Called outside an activity (a direct test call): there is nobody to tell.
  }
}

/** Registered on every worker; one without the stores fails the prune saying so, rather than leaving it hanging. */
export function createRetentionActivities(deps: RetentionActivityDeps | undefined) {
  return {
    async pruneRetainedRows(input: RetentionPruneInput): Promise<RetentionPruneResult> {
      if (!deps) throw ApplicationFailure.create({ type: 'RetentionNotConfigured', message: 'this worker has no retention dependencies', nonRetryable: true });
      const now = deps.now ?? (() => new Date());
      if (!Number.isFinite(input.retentionDays) || input.retentionDays < 1) throw new Error(`retentionDays must be at least 1, got ${input.retentionDays}`);
      const cutoff = new Date(now().getTime() - input.retentionDays * DAY_MS);
      const limit = input.batchSize ?? DEFAULT_RETENTION_BATCH_SIZE;
      const webhookInboxRows = await pruneInBatches(deps.inbox.pruneSettled, cutoff, limit);
      const channelMessages = await pruneInBatches(deps.channelMessages.pruneAcknowledged, cutoff, limit);
      const providerCallHours = deps.providerCallHours ? await pruneInBatches(deps.providerCallHours.pruneOlderThan, cutoff, limit) : 0;
      return { cutoff: cutoff.toISOString(), webhookInboxRows, channelMessages, providerCallHours };
    },
  };
}
