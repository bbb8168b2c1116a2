// Control routes every provider sandbox has in the same shape, registered inside the provider's
// plugin: `/_control/faults` (GET/POST/DELETE) and `/_control/webhooks` (GET, POST flush).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FaultInjector, FaultSettings } from './faults';
import type { WebhookQueue } from './webhook-queue';

export interface FieldIssue {
  field: string;
  message: string;
}

export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    return { field: [...issue.path.map(String), ...keys].join('.') || '(root)', message: issue.message };
  });
}

export function describeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
}

/**
 * Parses a control body with `schema`; on failure answers 400 `{ error, issues }` (naming the
 * fields) and returns undefined, in which case the handler should `return reply`.
 */
export function parseControlBody<T>(schema: z.ZodType<T>, request: FastifyRequest, reply: FastifyReply): T | undefined {
  const parsed = schema.safeParse(request.body ?? {});
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error);
  void reply.code(400).send({ error: `Invalid body: ${describeIssues(issues)}`, issues });
  return undefined;
}

/**
 * JSON bodies in this context may be empty (`{}`), as control calls often are. `onRaw` sees the text
 * as received, for endpoints that check bytes rather than values (PayPal's webhook verification).
 */
export function useLenientJsonParser(app: FastifyInstance, options: { onRaw?: (request: FastifyRequest, text: string) => void } = {}): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    options.onRaw?.(request, body as string);
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Invalid JSON body'), { statusCode: 400 }), undefined);
    }
  });
}

/** GET/POST/DELETE `<base>/faults`: read, replace (validated) and clear the fault settings. */
export function registerFaultRoutes(app: FastifyInstance, injector: FaultInjector<FaultSettings>, base = '/_control'): void {
  app.get(`${base}/faults`, async () => injector.settings);
  app.post(`${base}/faults`, async (request, reply) => {
    const result = injector.set(request.body ?? {});
    if (!result.ok) {
      return reply.code(400).send({ error: `Invalid fault settings: ${describeIssues(result.issues)}`, issues: result.issues });
    }
    return result.settings;
  });
  app.delete(`${base}/faults`, async () => {
    injector.clear();
    return injector.settings;
  });
  // Every API request with its arrival time and status (rates, conditional GETs); DELETE clears it.
  app.get(`${base}/request-log`, async () => ({ requests: injector.requestLog() }));
  app.delete(`${base}/request-log`, async () => {
    injector.clearRequestLog();
    return { requests: [] };
  });
}

const FlushBody = z.strictObject({
  timeoutMs: z.number().int().min(0).max(600_000).optional(),
  /** Make messages waiting on a backoff due now. */
  expedite: z.boolean().optional(),
});

/**
 * GET `<base>/webhooks` (counters and recent attempts) and POST `<base>/webhooks/flush`, which
 * answers `{ drained, webhooks }` once the queue is empty or `timeoutMs` (default 10 s) passes.
 */
export function registerWebhookRoutes(app: FastifyInstance, queue: WebhookQueue, base = '/_control'): void {
  app.get(`${base}/webhooks`, async () => ({ ...queue.stats(), recentAttempts: queue.recentAttempts() }));
  app.post(`${base}/webhooks/flush`, async (request, reply) => {
    const input = parseControlBody(FlushBody, request, reply);
    if (!input) return reply;
    const drained = await queue.flush({ timeoutMs: input.timeoutMs ?? 10_000, expedite: input.expedite });
    return { drained, webhooks: queue.stats() };
  });
}

/**
 * The control routes of a whole sandbox: its faults, its webhook queue (where it sends any),
 * `GET /_control/state` and `POST /_control/reset` (where it has them).
 */
export function registerSandboxControls(
  app: FastifyInstance,
  controls: { faults: FaultInjector<FaultSettings>; webhooks?: WebhookQueue; state?: () => unknown; reset?: () => void },
): void {
  registerFaultRoutes(app, controls.faults);
  if (controls.webhooks) registerWebhookRoutes(app, controls.webhooks);
  const { state, reset } = controls;
  if (state) app.get('/_control/state', async () => state());
  if (reset) {
    app.post('/_control/reset', async () => {
      reset();
      return { ok: true };
    });
  }
}
