// One declarative table of how each kind of provider call is retried. Pure data, so workflows can
// import it. A provider's own row overrides the default row for that kind of call.
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/common';

export type ProviderCallKind = 'create' | 'read' | 'command' | 'ledger';

/** Error types (ApplicationFailure.type) that no retry can fix. */
export const NON_RETRYABLE_PROVIDER_ERRORS = [
  'ProviderError.decline',
  'ProviderError.validation',
  'ProviderError.authentication',
  'ProviderError.conflict',
  'ProviderError.not_found',
  'ProviderError.unsupported',
];

const base: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: NON_RETRYABLE_PROVIDER_ERRORS,
};

export const DEFAULT_CALL_OPTIONS: Record<ProviderCallKind, ActivityOptions> = {
  // Creating the provider payment retries until the payment would expire anyway: the idempotency
  // key makes every attempt the same request. The workflow sets scheduleToCloseTimeout per payment.
  create: { startToCloseTimeout: '30 seconds', heartbeatTimeout: '10 seconds', retry: { ...base } },
  read: { startToCloseTimeout: '30 seconds', heartbeatTimeout: '10 seconds', retry: { ...base, maximumAttempts: 8 } },
  // Commands answer an operator who is waiting on an update; give up after a few minutes and say so.
  command: {
    startToCloseTimeout: '30 seconds',
    heartbeatTimeout: '10 seconds',
    scheduleToCloseTimeout: '3 minutes',
    retry: { ...base, maximumInterval: '20 seconds' },
  },
  // The ledger is our own database: retry for as long as it takes; the workflow holds the truth meanwhile.
  ledger: { startToCloseTimeout: '15 seconds', retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' } },
};

/**
 * Ledger writes run as local activities: a short write to our own database needs no round trip
 * through the server's task queue, and a payment records its state several times.
 */
export const LEDGER_LOCAL_ACTIVITY_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '15 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

export const PROVIDER_CALL_OPTIONS: Partial<Record<string, Partial<Record<ProviderCallKind, ActivityOptions>>>> = {};

export function callOptions(provider: string, kind: ProviderCallKind): ActivityOptions {
  return { ...DEFAULT_CALL_OPTIONS[kind], ...PROVIDER_CALL_OPTIONS[provider]?.[kind] };
}
