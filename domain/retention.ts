// How long Skerry keeps what it no longer needs: webhook inbox rows once settled, and channel
// messages once acknowledged. Anything still owed to a workflow or a channel is never pruned.

/** Inbox statuses after which a row is only history: delivered, settled against a closed payment, or never deliverable. */
export const PRUNABLE_INBOX_STATUSES = ['delivered', 'closed', 'ignored'] as const;

export interface RetentionPruneInput {
  /** Rows settled longer ago than this many days are deleted. */
  retentionDays: number;
  /** Rows deleted per statement, so a large backlog never holds one long transaction. */
  batchSize?: number;
}

export interface RetentionPruneResult {
  cutoff: string;
  webhookInboxRows: number;
  channelMessages: number;
  /** Hourly provider-call rollup rows (the overview's latency/error chart). */
  providerCallHours?: number;
}

export const DEFAULT_RETENTION_BATCH_SIZE = 1_000;
