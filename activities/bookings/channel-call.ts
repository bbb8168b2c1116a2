// Every channel call made from an activity goes through here, like provider-call.ts for payments:
// heartbeats while it runs (carrying the call's progress, so a retry resumes), one log line per call,
// the same provider-call metrics as payments (so the provider alerts cover the channels), and
// ProviderError translated into Temporal's retry semantics.
import { Context } from '@temporalio/activity';
import { ProviderError, classifyTransportError } from '../../providers/errors';
import type { Logger } from '../../observability/logger';
import { toApplicationFailure } from '../provider-call';
import { type ProviderCallObserver } from '../../observability/observers';

const HEARTBEAT_EVERY_MS = 3_000;

export interface ChannelCallContext<P> {
  /** Progress from the last attempt's heartbeat, when this attempt is a retry. */
  resumeFrom: P | undefined;
  /** Records progress: sent with every heartbeat from now on. */
  progress(details: P): void;
}

export function createChannelCallRunner(logger: Logger, observer: ProviderCallObserver = {}) {
  return async function runChannelCall<T, P = unknown>(
    channel: string,
    operation: string,
    correlation: Record<string, unknown>,
    fn: (call: ChannelCallContext<P>) => Promise<T>,
  ): Promise<T> {
    const context = Context.current();
    const { attempt, workflowExecution, activityType } = context.info;
    const log = logger.child({ channel, operation, workflowId: workflowExecution?.workflowId, activityType, attempt, ...correlation });
    let details = context.info.heartbeatDetails as P | undefined;
    const resumeFrom = details;
    const beat = () => context.heartbeat(details);
    const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
    if (attempt > 1) observer.onRetry?.(channel, operation, attempt);
    const started = performance.now();
    try {
      const result = await fn({
        resumeFrom,
        progress(next) {
          details = next;
          beat();
        },
      });
      const seconds = (performance.now() - started) / 1000;
      observer.onCall?.(channel, operation, 'ok', seconds);
      log.info({ latencyMs: Math.round(seconds * 1000), outcome: 'ok' }, 'channel call');
      return result;
    } catch (err) {
      const failure = err instanceof ProviderError ? err : classifyTransportError(channel, operation, err);
      const seconds = (performance.now() - started) / 1000;
      observer.onCall?.(channel, operation, failure.kind, seconds);
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
        failure.retryable ? 'channel call failed; Temporal will retry' : 'channel call failed; not retryable',
      );
      throw toApplicationFailure(failure);
    } finally {
      clearInterval(timer);
    }
  };
}
