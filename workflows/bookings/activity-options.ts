// How each kind of booking activity is timed and retried: named presets, one per kind of call.
import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_PROVIDER_ERRORS } from '../shared/retry-policies';

/** Errors no retry fixes in the booking domain (besides the providers' own). */
export const NON_RETRYABLE_BOOKING_ERRORS = [...NON_RETRYABLE_PROVIDER_ERRORS, 'ChannelNotMapped', 'ChannelNotConfigured', 'InventoryError'];

export const BOOKING_ACTIVITY_OPTIONS = {
  /** Our own database: retry for as long as it takes; the workflow holds the truth meanwhile. */
  inventory: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InventoryError'] },
  },
  /**
   * A calendar push: long batches heartbeat their progress; transient failures (5xx, 429 with its
   * Retry-After, timeouts) retry with backoff for up to an hour, then the workflow keeps the ranges.
   */
  push: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '20 seconds',
    scheduleToCloseTimeout: '1 hour',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_BOOKING_ERRORS },
  },
  /**
   * Acknowledging (or rejecting) a reservation to its channel: retried until the channel answers
   * anything but a 5xx/429/timeout — an unacknowledged reservation is a guest the property misses.
   */
  acknowledge: {
    startToCloseTimeout: '30 seconds',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_BOOKING_ERRORS },
  },
  /** Pulling the reservation queue: no retry, the next poll is the retry. */
  pull: { startToCloseTimeout: '1 minute', heartbeatTimeout: '15 seconds', retry: { maximumAttempts: 1 } },
  /** Signalling other workflows (sync, reservations) through the Temporal client. */
  signal: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  },
  /** A resync page: heartbeats carry the cursor, so a retried attempt resumes where the last stopped. */
  resync: {
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE_BOOKING_ERRORS },
  },
} satisfies Record<string, ActivityOptions>;
