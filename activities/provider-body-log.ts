// Provider request and response bodies at debug level, on the same correlation as the provider-call
// line (provider, operation, workflow id, attempt, payment). The logger scrubs secrets, card and
// personal data from every line (observability/logger.ts), so bodies can be logged as they are.
import { Context } from '@temporalio/activity';
import type { Logger } from '../observability/logger';

export function withBodyLogging<T>(
  logger: Logger,
  provider: string,
  operation: string,
  correlation: Record<string, unknown>,
  request: unknown,
  fn: () => Promise<T>,
): () => Promise<T> {
  return async () => {
    if (!logger.isLevelEnabled('debug')) return fn();
    const { workflowExecution, attempt } = Context.current().info;
    const log = logger.child({ provider, operation, workflowId: workflowExecution?.workflowId, attempt, ...correlation });
    log.debug({ request }, 'provider request body');
    const response = await fn();
    log.debug({ response }, 'provider response body');
    return response;
  };
}
