// Every provider call made from an activity goes through here: heartbeats while it runs, the
// provider's circuit breaker, one log line per call with latency and outcome (and one per retry
// attempt, with the previous attempt's failure), and one translation of ProviderError into
// Temporal's retry semantics (retryable or not, and Retry-After — or the breaker's remaining open
// time — as the exact next delay).
import type { ProviderCallObserver } from '../observability/observers';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ProviderError, classifyTransportError } from '../providers/errors';
import type { Logger } from '../observability/logger';

const HEARTBEAT_EVERY_MS = 3_000;

/** The circuit breaker a call runs through (providers/resilience); absent: calls run directly. */
export interface ProviderCallGuard {
  guard<T>(provider: string, operation: string, fn: () => Promise<T>): Promise<T>;
}

/** What a failed attempt leaves in its last heartbeat, for the next attempt's log line. */
interface LastFailure {
  lastFailure: { kind: string; reason: string; httpStatus?: number; retryAfterMs?: number };
}

const lastFailureOf = (details: unknown): LastFailure['lastFailure'] | undefined =>
  details !== null && typeof details === 'object' && 'lastFailure' in details ? (details as LastFailure).lastFailure : undefined;

export function toApplicationFailure(err: ProviderError): ApplicationFailure {
  return ApplicationFailure.create({
    type: `ProviderError.${err.kind}`,
    message: `${err.provider} ${err.operation}: ${err.message}`,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryable && err.details.retryAfterMs !== undefined ? err.details.retryAfterMs : undefined,
    details: [{ provider: err.provider, operation: err.operation, kind: err.kind, httpStatus: err.details.httpStatus, code: err.details.code }],
  });
}

export function createProviderCallRunner(logger: Logger, observer: ProviderCallObserver = {}, guard?: ProviderCallGuard) {
  return async function runProviderCall<T>(
    provider: string,
    operation: string,
    correlation: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const context = Context.current();
    const { attempt, workflowExecution, activityType } = context.info;
    const log = logger.child({ provider, operation, workflowId: workflowExecution?.workflowId, activityType, attempt, ...correlation });
    if (attempt > 1) {
      observer.onRetry?.(provider, operation, attempt);
      const previous = lastFailureOf(context.info.heartbeatDetails);
      log.info(
        { previousFailure: previous?.kind ?? 'unknown', reason: previous?.reason, httpStatus: previous?.httpStatus, retryAfterMs: previous?.retryAfterMs },
        'provider call retry attempt',
      );
    }
    const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
    const started = performance.now();
    try {
      const result = guard ? await guard.guard(provider, operation, fn) : await fn();
      const seconds = (performance.now() - started) / 1000;
      observer.onCall?.(provider, operation, 'ok', seconds);
      log.info({ latencyMs: Math.round(seconds * 1000), outcome: 'ok' }, 'provider call');
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
        failure.retryable ? 'provider call failed; Temporal will retry' : 'provider call failed; not retryable',
      );
      // The last heartbeat's details reach the next attempt (Info.heartbeatDetails): its log line
      // says why it is a retry.
      const lastFailure: LastFailure = {
        lastFailure: { kind: failure.kind, reason: failure.message.slice(0, 300), httpStatus: failure.details.httpStatus, retryAfterMs: failure.details.retryAfterMs },
      };
      context.heartbeat(lastFailure);
      throw toApplicationFailure(failure);
    } finally {
      clearInterval(timer);
    }
  };
}
