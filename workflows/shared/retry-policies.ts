// One declarative table of how each provider's calls are timed and retried, per kind of call. Pure
// data, so workflows can import it. Payment providers and booking channels alike: a row per
// provider, a column per kind of call, and the timeouts per kind. Which errors are not worth a
// retry is decided by the kinds of provider failure (domain/provider-errors.ts), never here per call.
import type { ActivityOptions, Duration, LocalActivityOptions, RetryPolicy } from '@temporalio/common';
import { NON_RETRYABLE_PROVIDER_ERRORS } from '../../domain/provider-errors';

/** Payment calls (create, read, command), channel calls (push, acknowledge, pull, resync), and our ledger. */
export type PaymentCallKind = 'create' | 'read' | 'command';
export type ChannelCallKind = 'push' | 'acknowledge' | 'pull' | 'resync';
export type ProviderCallKind = PaymentCallKind | ChannelCallKind | 'ledger';

// Re-exported for the workflows that add their own non-retryable types to the providers'.
export { NON_RETRYABLE_PROVIDER_ERRORS };

/** One row of the table: the backoff of one provider's kind of call. */
export interface RetryRow {
  initialInterval: Duration;
  backoffCoefficient: number;
  maximumInterval: Duration;
  /** Unset: until the kind's schedule-to-close timeout (or forever). */
  maximumAttempts?: number;
}

const row = (initialInterval: Duration, backoffCoefficient: number, maximumInterval: Duration, maximumAttempts?: number): RetryRow => ({
  initialInterval,
  backoffCoefficient,
  maximumInterval,
  ...(maximumAttempts === undefined ? {} : { maximumAttempts }),
});

/** How long one attempt of each kind may take, and how long all attempts together. */
export const CALL_TIMEOUTS: Record<ProviderCallKind, Pick<ActivityOptions, 'startToCloseTimeout' | 'heartbeatTimeout' | 'scheduleToCloseTimeout'>> = {
  // Creating the provider payment retries until the payment would expire anyway: the idempotency
  // key makes every attempt the same request. The workflow sets scheduleToCloseTimeout per payment.
  create: { startToCloseTimeout: '30 seconds', heartbeatTimeout: '10 seconds' },
  read: { startToCloseTimeout: '30 seconds', heartbeatTimeout: '10 seconds' },
  // Commands answer an operator who is waiting on an update; give up after a few minutes and say so.
  command: { startToCloseTimeout: '30 seconds', heartbeatTimeout: '10 seconds', scheduleToCloseTimeout: '3 minutes' },
  // A calendar push: long batches heartbeat their progress; the workflow keeps the ranges after an hour.
  push: { startToCloseTimeout: '5 minutes', heartbeatTimeout: '20 seconds', scheduleToCloseTimeout: '1 hour' },
  // An unacknowledged reservation is a guest the property misses: retried until the channel answers.
  acknowledge: { startToCloseTimeout: '30 seconds', heartbeatTimeout: '10 seconds' },
  // Pulling a reservation queue: the next poll is the retry.
  pull: { startToCloseTimeout: '1 minute', heartbeatTimeout: '15 seconds' },
  // A resync page: heartbeats carry the cursor, so a retried attempt resumes where the last stopped.
  resync: { startToCloseTimeout: '30 minutes', heartbeatTimeout: '30 seconds' },
  // The ledger is our own database: retry for as long as it takes; the workflow holds the truth meanwhile.
  ledger: { startToCloseTimeout: '15 seconds' },
};

/** The default row per kind; a provider's own row below says where it differs and why. */
export const DEFAULT_RETRY: Record<ProviderCallKind, RetryRow> = {
  create: row('1 second', 2, '1 minute'),
  read: row('1 second', 2, '1 minute', 8),
  command: row('1 second', 2, '20 seconds'),
  push: row('1 second', 2, '1 minute'),
  acknowledge: row('1 second', 2, '1 minute'),
  pull: row('1 second', 1, '1 second', 1),
  resync: row('1 second', 2, '1 minute', 20),
  ledger: row('200 milliseconds', 2, '30 seconds'),
};

/**
 * Every provider and the kinds of call it serves. A 429 or 503 with Retry-After overrides the
 * backoff for that one retry (nextRetryDelay); an open circuit breaker sets the delay to the time
 * the breaker stays open.
 */
export const RETRY_TABLE = {
  stripe: {
    create: DEFAULT_RETRY.create,
    read: DEFAULT_RETRY.read,
    command: DEFAULT_RETRY.command,
  },
  paypal: {
    create: DEFAULT_RETRY.create,
    // Reading an APPROVED order captures it (PayPal-Request-Id makes that idempotent): more patience.
    read: row('1 second', 2, '1 minute', 10),
    command: DEFAULT_RETRY.command,
  },
  swish: {
    create: DEFAULT_RETRY.create,
    read: DEFAULT_RETRY.read,
    // A refund waits for Swish to settle it inside the attempt; retry it less eagerly.
    command: row('2 seconds', 2, '20 seconds'),
  },
  mobilepay: {
    create: DEFAULT_RETRY.create,
    read: DEFAULT_RETRY.read,
    // 423 Locked ("another modification is in progress") clears within seconds, not milliseconds.
    command: row('2 seconds', 2, '20 seconds'),
  },
  booking_com: {
    push: DEFAULT_RETRY.push,
    acknowledge: DEFAULT_RETRY.acknowledge,
    pull: DEFAULT_RETRY.pull,
    resync: DEFAULT_RETRY.resync,
  },
  airbnb: {
    // Airbnb answers 429 with Retry-After generously; start slower so fewer attempts hit the limit.
    push: row('2 seconds', 2, '2 minutes'),
    acknowledge: DEFAULT_RETRY.acknowledge,
    pull: DEFAULT_RETRY.pull,
    resync: DEFAULT_RETRY.resync,
  },
} as const satisfies Record<string, Partial<Record<ProviderCallKind, RetryRow>>>;

export type TableProvider = keyof typeof RETRY_TABLE;

export function retryPolicy(provider: string, kind: ProviderCallKind, nonRetryableErrorTypes: readonly string[] = NON_RETRYABLE_PROVIDER_ERRORS): RetryPolicy {
  const own = (RETRY_TABLE as Record<string, Partial<Record<ProviderCallKind, RetryRow>>>)[provider]?.[kind];
  return { ...(own ?? DEFAULT_RETRY[kind]), nonRetryableErrorTypes: kind === 'ledger' ? undefined : [...nonRetryableErrorTypes] };
}

/** The activity options of one provider's kind of call (without the task queue; see providerTaskQueue). */
export function callOptions(provider: string, kind: ProviderCallKind, nonRetryableErrorTypes?: readonly string[]): ActivityOptions {
  const retry = retryPolicy(provider, kind, nonRetryableErrorTypes);
  if (!retry.nonRetryableErrorTypes) delete retry.nonRetryableErrorTypes;
  return { ...CALL_TIMEOUTS[kind], retry };
}

/**
 * Every provider's calls run on a task queue of their own, derived from the workflow's queue, so a
 * server-side rate limit (`maxTaskQueueActivitiesPerSecond` on that queue's workers) holds across
 * all worker processes. Derived, not fixed: each deployment (and each test) has its own.
 */
export function providerTaskQueue(workflowTaskQueue: string, provider: string): string {
  return `${workflowTaskQueue}--${provider}`;
}

/**
 * Ledger writes run as local activities: a short write to our own database needs no round trip
 * through the server's task queue, and a payment records its state several times.
 */
export const LEDGER_LOCAL_ACTIVITY_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '15 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};
