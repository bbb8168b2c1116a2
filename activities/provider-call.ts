// Every call an activity makes to a payment provider or a booking channel goes through here:
// heartbeats while it runs, the provider's circuit breaker where one guards it, one log line per call
// with latency and outcome, the provider-call metrics (so the provider alerts cover the channels too),
// and one translation of ProviderError into Temporal's retry semantics (retryable or not, and
// Retry-After — or the breaker's remaining open time — as the exact next delay).
import type { ProviderCallObserver } from '../observability/observers';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ProviderError, classifyTransportError } from '../providers/errors';
import { providerFailureType } from '../domain/provider-errors';
import type { Logger } from '../observability/logger';

const HEARTBEAT_EVERY_MS = 3_000;

/** The circuit breaker a call runs through (providers/resilience); absent: calls run directly. */
export interface ProviderCallGuard {
  guard<T>(provider: string, operation: string, fn: () => Promise<T>): Promise<T>;
}

/** What a call can do with its heartbeats: resume from the last attempt's progress, and record its own. */
export interface ProviderCallContext<P> {
  /** Progress from the last attempt's heartbeat, when this attempt is a retry. */
  resumeFrom: P | undefined;
  /** Records progress: sent with every heartbeat from now on. */
  progress(details: P): void;
}

/**
 * Who is called. Payment calls never record progress, so their last heartbeat carries the failure
 * to the next attempt's log line; a channel call's heartbeats carry its progress (a calendar push's
 * accepted requests, a resync's cursor), which a failure must not overwrite.
 */
const SUBJECTS = {
  provider: { field: 'provider', call: 'provider call', heartbeatsFailure: true },
  channel: { field: 'channel', call: 'channel call', heartbeatsFailure: false },
} as const;

export interface ProviderCallRunnerOptions {
  subject: keyof typeof SUBJECTS;
  logger: Logger;
  observer?: ProviderCallObserver;
  guard?: ProviderCallGuard;
}

/** What a failed payment attempt leaves in its last heartbeat, for the next attempt's log line. */
interface LastFailure {
  lastFailure: { kind: string; reason: string; httpStatus?: number; retryAfterMs?: number };
}

const lastFailureOf = (details: unknown): LastFailure['lastFailure'] | undefined =>
  details !== null && typeof details === 'object' && 'lastFailure' in details ? (details as LastFailure).lastFailure : undefined;

export function toApplicationFailure(err: ProviderError): ApplicationFailure {
  return ApplicationFailure.create({
    type: providerFailureType(err.kind),
    message: `${err.provider} ${err.operation}: ${err.message}`,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryable && err.details.retryAfterMs !== undefined ? err.details.retryAfterMs : undefined,
    details: [{ provider: err.provider, operation: err.operation, kind: err.kind, httpStatus: err.details.httpStatus, code: err.details.code }],
    cause: err,
  });
}

export function createProviderCallRunner({ subject, logger, observer = {}, guard }: ProviderCallRunnerOptions) {
  const { field, call, heartbeatsFailure } = SUBJECTS[subject];
  return async function runProviderCall<T, P = unknown>(
    provider: string,
    operation: string,
    correlation: Record<string, unknown>,
    fn: (call: ProviderCallContext<P>) => Promise<T>,
  ): Promise<T> {
    const context = Context.current();
    const { attempt, workflowExecution, activityType } = context.info;
    const log = logger.child({ [field]: provider, operation, workflowId: workflowExecution?.workflowId, activityType, attempt, ...correlation });
    if (attempt > 1) {
      observer.onRetry?.(provider, operation, attempt);
      if (heartbeatsFailure) {
        const previous = lastFailureOf(context.info.heartbeatDetails);
        log.info(
          { previousFailure: previous?.kind ?? 'unknown', reason: previous?.reason, httpStatus: previous?.httpStatus, retryAfterMs: previous?.retryAfterMs },
          `${call} retry attempt`,
        );
      }
    }
    let details = heartbeatsFailure ? undefined : (context.info.heartbeatDetails as P | undefined);
    const resumeFrom = details;
    const beat = () => context.heartbeat(details);
    const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
    const run = () =>
      fn({
        resumeFrom,
        progress(next) {
          details = next;
          beat();
        },
      });
    const started = performance.now();
    try {
      const result = guard ? await guard.guard(provider, operation, run) : await run();
      const seconds = (performance.now() - started) / 1000;
      observer.onCall?.(provider, operation, 'ok', seconds);
      log.info({ latencyMs: Math.round(seconds * 1000), outcome: 'ok' }, call);
      return result;
    } catch (err) {
      const failure = err instanceof ProviderError ? err : classifyTransportError(provider, operation, err);
      const seconds = (performance.now() - started) / 1000;
      observer.onCall?.(provider, operation, failure.kind, seconds);
      log.warn(
        {
          latencyMs: Math.round(seconds * 1000),
          outcome: failure.kind,
          retryable: failure.retryable,
          httpStatus: failure.details.httpStatus,
          code: failure.details.code,
          retryAfterMs: failure.details.retryAfterMs,
          reason: failure.message,
        },
        failure.retryable ? `${call} failed; Temporal will retry` : `${call} failed; not retryable`,
      );
      if (heartbeatsFailure) {
        // The last heartbeat's details reach the next attempt (Info.heartbeatDetails): its log line
        // says why it is a retry.
        const lastFailure: LastFailure = {
          lastFailure: { kind: failure.kind, reason: failure.message.slice(0, 300), httpStatus: failure.details.httpStatus, retryAfterMs: failure.details.retryAfterMs },
        };
        context.heartbeat(lastFailure);
      }
      throw toApplicationFailure(failure);
    } finally {
      clearInterval(timer);
    }
  };
}

export type ProviderCallRunner = ReturnType<typeof createProviderCallRunner>;
