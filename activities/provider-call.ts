// Every provider call made from an activity goes through here: heartbeats while it runs, one log
// line per call with latency and outcome, and one translation of ProviderError into Temporal's
// retry semantics (retryable or not, and Retry-After as the exact next delay).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ProviderError, classifyTransportError } from '../providers/errors';
import type { Logger } from '../observability/logger';

const HEARTBEAT_EVERY_MS = 3_000;

export interface ProviderCallObserver {
  onCall?(provider: string, operation: string, outcome: string, seconds: number): void;
  onRetry?(provider: string, operation: string, attempt: number): void;
}

export function toApplicationFailure(err: ProviderError): ApplicationFailure {
  return ApplicationFailure.create({
    type: `ProviderError.${err.kind}`,
    message: `${err.provider} ${err.operation}: ${err.message}`,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryable && err.details.retryAfterMs !== undefined ? err.details.retryAfterMs : undefined,
    details: [{ provider: err.provider, operation: err.operation, kind: err.kind, httpStatus: err.details.httpStatus, code: err.details.code }],
  });
}

export function createProviderCallRunner(logger: Logger, observer: ProviderCallObserver = {}) {
  return async function runProviderCall<T>(
    provider: string,
    operation: string,
    correlation: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const context = Context.current();
    const { attempt, workflowExecution, activityType } = context.info;
    const log = logger.child({ provider, operation, workflowId: workflowExecution?.workflowId, activityType, attempt, ...correlation });
    if (attempt > 1) observer.onRetry?.(provider, operation, attempt);
    const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
    const started = performance.now();
    try {
      const result = await fn();
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
      throw toApplicationFailure(failure);
    } finally {
      clearInterval(timer);
    }
  };
}
