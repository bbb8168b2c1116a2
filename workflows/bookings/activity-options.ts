// How each kind of booking activity is timed and retried. Channel calls come from the one shared
// table (workflows/shared/retry-policies.ts: a row per channel, a column per kind of call); the
// rest — our own database and Temporal signals — are named presets here.
import { workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { callOptions, NON_RETRYABLE_PROVIDER_ERRORS, providerTaskQueue, type ChannelCallKind } from '../shared/retry-policies';

/** Errors no retry fixes in the booking domain (besides the providers' own). */
export const NON_RETRYABLE_BOOKING_ERRORS = [...NON_RETRYABLE_PROVIDER_ERRORS, 'ChannelNotMapped', 'ChannelNotConfigured', 'InventoryError'];

/**
 * A channel call: a calendar push (heartbeats its progress; the workflow keeps the ranges after an
 * hour), an acknowledgement (retried until the channel answers anything but 5xx/429/timeout), a
 * queue pull (no retry: the next poll is the retry) or a resync page (cursor in heartbeats). It runs
 * on the channel's own task queue, whose workers carry the channel's server-side rate limit.
 */
export function channelCallOptions(channel: string, kind: ChannelCallKind): ActivityOptions {
  return { ...callOptions(channel, kind, NON_RETRYABLE_BOOKING_ERRORS), taskQueue: providerTaskQueue(workflowInfo().taskQueue, channel) };
}

export const BOOKING_ACTIVITY_OPTIONS = {
  /** Our own database: retry for as long as it takes; the workflow holds the truth meanwhile. */
  inventory: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InventoryError'] },
  },
  /** Signalling other workflows (sync, reservations) through the Temporal client. */
  signal: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  },
} satisfies Record<string, ActivityOptions>;
