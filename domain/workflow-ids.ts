// Workflow and schedule ids: deterministic, prefixed, and so idempotency keys of their own (a second
// start of the same id is refused, not repeated). The API, client/, the stores and the workflows build
// them here, never by hand.
import type { ProviderName } from './payments';
import { isIsoDate } from './dates';
import type { ChannelName } from './bookings';

export function paymentWorkflowId(paymentId: string): string {
  return `payment-${paymentId}`;
}

export function paymentIdFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith('payment-') ? workflowId.slice('payment-'.length) : undefined;
}

export function listingSyncWorkflowId(unitId: string, channel: ChannelName): string {
  return `listing-sync-${channel}-${unitId}`;
}

/** The sync of every unit mapped to one channel account, for a channel synced per property (Channex). */
export function propertySyncWorkflowId(channel: ChannelName, account: string): string {
  return `listing-sync-${channel}-property-${account}`;
}

export function reservationWorkflowId(reservationId: string): string {
  return `reservation-${reservationId}`;
}

export function reservationPollWorkflowId(channel: ChannelName, account: string): string {
  return `reservation-poll-${channel}-${account}`;
}

export function resyncWorkflowId(channel: ChannelName, runKey: string): string {
  return `channel-resync-${channel}-${runKey}`;
}

/** The poll of one iCal import feed (one OTA's calendar of one unit). */
export function icalImportWorkflowId(feedId: string): string {
  return `ical-import-${feedId}`;
}

/** One schedule per channel account (a Booking.com machine account, the Airbnb partner app). */
export function resyncScheduleId(channel: ChannelName, account: string): string {
  return `channel-resync-${channel}-${account}`;
}

/** `reconciliation-<provider>-<YYYY-MM-DD>` for a day, `…-<from>..<to>` for a longer period. */
export function reconciliationWorkflowId(provider: ProviderName, from: string, to: string = from): string {
  if (!isIsoDate(from) || !isIsoDate(to)) throw new Error(`reconciliation periods are whole days (YYYY-MM-DD), got ${from}..${to}`);
  return to === from ? `reconciliation-${provider}-${from}` : `reconciliation-${provider}-${from}..${to}`;
}

export function isReconciliationId(id: string): boolean {
  return /^reconciliation-[a-z]+-\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?$/.test(id);
}

/** The scheduled run: one workflow per night, starting one reconciliation per provider. */
export const RECONCILIATION_SCHEDULE_ID = 'skerry-reconciliation-nightly';

/** The workflow each firing of that schedule starts (the schedule appends the firing time to it). */
export const SCHEDULED_RECONCILIATION_WORKFLOW_ID = 'reconciliation-scheduled';

/** The daily prune of settled webhook inbox rows and acknowledged channel messages. */
export const RETENTION_SCHEDULE_ID = 'skerry-retention-daily';

/** The workflow each firing of the retention schedule starts (the schedule appends the firing time). */
export const RETENTION_WORKFLOW_ID = 'retention-prune';
