// One log line per API request with its latency and status, correlated with the payment or booking
// it concerns (paymentId or reservationId, and workflowId): from the route's :id, or from the answer
// of POST /payments and POST /bookings. Every line the handler logs carries the same fields. Bodies go to the log at debug level only, scrubbed by
// the logger (observability/logger.ts). Webhook ingress, /metrics and /health log at debug: they
// are high-volume and have their own metrics.
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../observability/logger';
import { paymentWorkflowId } from '../domain/workflow-ids';
import { reservationWorkflowId } from '../domain/workflow-ids';

const correlations = new WeakMap<FastifyRequest, Record<string, string>>();

// The API's logger is pino (observability/logger.ts); Fastify's type does not declare isLevelEnabled.
const debugEnabled = (log: FastifyBaseLogger) => (log as unknown as Logger).isLevelEnabled?.('debug') ?? false;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** High-volume routes (webhook ingress) log their request line at debug. */
    quietLog?: boolean;
  }
}

const QUIET = /^\/(?:metrics|health|docs)/;
const isQuiet = (request: FastifyRequest) => {
  const route = request.routeOptions.url;
  return route === undefined || QUIET.test(route) || request.routeOptions.config?.quietLog === true;
};

function correlationFor(id: unknown): Record<string, string> | undefined {
  if (typeof id !== 'string') return undefined;
  if (id.startsWith('pay_')) return { paymentId: id, workflowId: paymentWorkflowId(id) };
  if (id.startsWith('res_')) return { reservationId: id, workflowId: reservationWorkflowId(id) };
  return undefined;
}

function correlate(request: FastifyRequest, fields: Record<string, string> | undefined): void {
  if (!fields) return;
  correlations.set(request, fields);
  request.log = request.log.child(fields);
}

const CREATES = new Set(['/payments', '/bookings']);

const names = (values: unknown) => (values && typeof values === 'object' ? Object.keys(values).sort() : []);

/**
 * The route pattern says where a request went; its values (an OAuth callback's `code`, a payer's
 * search, an id) stay out of the log, only the names of the parameters and query fields it carried.
 */
function requestShape(request: FastifyRequest): { params?: string[]; query?: string[] } {
  const params = names(request.params);
  const query = names(request.query);
  return { ...(params.length > 0 ? { params } : {}), ...(query.length > 0 ? { query } : {}) };
}

export function installRequestLogging(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    correlate(request, correlationFor((request.params as { id?: unknown } | undefined)?.id));
    if (debugEnabled(request.log) && request.body !== undefined && !Buffer.isBuffer(request.body)) {
      request.log.debug({ body: request.body }, 'request body');
    }
  });

  app.addHook('onSend', async (request, _reply, payload) => {
    if (typeof payload !== 'string') return payload;
    const wantsId = !correlations.has(request) && request.method === 'POST' && CREATES.has(request.routeOptions.url ?? '');
    if (!wantsId && !debugEnabled(request.log)) return payload;
    let body: unknown;
    try {
      body = JSON.parse(payload);
    } catch {
      return payload;
    }
    if (wantsId) {
      const created = body as { paymentId?: unknown; bookingId?: unknown } | null;
      correlate(request, correlationFor(created?.paymentId) ?? correlationFor(created?.bookingId));
    }
    if (!isQuiet(request)) request.log.debug({ body }, 'response body');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    const line = {
      method: request.method,
      route: route ?? null,
      ...requestShape(request),
      statusCode: reply.statusCode,
      latencyMs: Math.round(reply.elapsedTime),
    };
    if (isQuiet(request)) request.log.debug(line, 'request');
    else if (reply.statusCode >= 500) request.log.error(line, 'request');
    else request.log.info(line, 'request');
  });
}
