// Operator routes: Prometheus metrics, and the webhook inbox (list, replay) the ops CLI drives.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../schemas';
import { WEBHOOK_INBOX_STATUSES } from '../../db/schema';
import type { Metrics } from '../../observability/metrics';
import type { InboxRow, WebhookInbox } from '../../store/webhook-inbox';
import type { WebhookDelivery } from '../webhooks/delivery';

export interface OperationsRoutesDeps {
  inbox: WebhookInbox;
  delivery: WebhookDelivery;
  metrics: Metrics;
}

const InboxId = z.coerce.number().int().positive();

export const InboxEntry = z.object({
  id: z.number(),
  provider: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(WEBHOOK_INBOX_STATUSES),
  paymentId: z.string().nullable(),
  providerReference: z.string().nullable(),
  attempts: z.number(),
  duplicates: z.number(),
  lastError: z.string().nullable(),
  receivedAt: z.string(),
  deliveredAt: z.string().nullable(),
  nextAttemptAt: z.string(),
});

const ListQuery = z.object({
  status: z.enum(WEBHOOK_INBOX_STATUSES).optional(),
  provider: z.string().min(1).max(40).optional(),
  fromId: InboxId.optional().describe('Lowest inbox id (inclusive)'),
  toId: InboxId.optional().describe('Highest inbox id (inclusive)'),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

const ReplayBody = z
  .object({
    ids: z.array(z.number().int().positive()).min(1).max(1000).optional(),
    fromId: z.number().int().positive().optional(),
    toId: z.number().int().positive().optional(),
    provider: z.string().min(1).max(40).optional(),
  })
  // Never "everything": a replay names its events or a closed range.
  .refine((body) => body.ids !== undefined || (body.fromId !== undefined && body.toId !== undefined), {
    message: 'give ids, or both fromId and toId',
  })
  .refine((body) => body.fromId === undefined || body.toId === undefined || body.fromId <= body.toId, { message: 'fromId must be <= toId' });


/** An inbox row as the API shows it (GET /webhooks, the replay's answer, GET /webhooks/:id). */
export function inboxEntry(row: InboxRow) {
  return {
    id: row.id,
    provider: row.provider,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    paymentId: row.paymentId,
    providerReference: row.providerReference,
    attempts: row.attempts,
    duplicates: row.duplicates,
    lastError: row.lastError,
    receivedAt: row.receivedAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    nextAttemptAt: row.nextAttemptAt.toISOString(),
  };
}

export async function operationsRoutes(app: FastifyInstance, deps: OperationsRoutesDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  // Prometheus's text exposition, not JSON: hidden from the API document, its answer a string.
  api.get('/metrics', { schema: { hide: true, response: { 200: z.string() } } }, async (_request, reply) => {
    const text = await deps.metrics.text();
    return reply.header('content-type', deps.metrics.contentType).send(text);
  });

  api.get(
    '/webhooks',
    {
      schema: {
        summary: 'List the webhook inbox, newest first',
        tags: ['operations'],
        querystring: ListQuery,
        response: { 200: z.object({ items: z.array(InboxEntry) }) },
      },
    },
    async (request) => ({ items: (await deps.inbox.list(request.query)).map(inboxEntry) }),
  );

  api.post(
    '/webhooks/replay',
    {
      schema: {
        summary: 'Deliver inbox events to their workflows again (one id, several, or a range)',
        description:
          'Rows are made pending again and swept at once; parked and failed rows (delivery gave up on them) start a fresh attempt budget. Delivery is idempotent: a workflow ignores an event id it has seen, ' +
          'and an event for a closed payment is settled as closed. Ignored rows (events Skerry does not act on) are never replayed.',
        tags: ['operations'],
        body: ReplayBody,
        response: { 200: z.object({ requeued: z.number(), items: z.array(InboxEntry) }), 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { ids, fromId, toId, provider } = request.body;
      const requeued = await deps.inbox.requeue({ ids, fromId, toId, provider });
      if (requeued === 0) {
        return reply.code(404).send({ error: 'not_found', message: 'no replayable inbox rows match (ignored rows are never replayed)' });
      }
      // A sweep already running may have looked before the requeue: the second call starts a fresh one.
      await deps.delivery.sweepNow();
      await deps.delivery.sweepNow();
      const items = await deps.inbox.list({ ids, fromId, toId, provider, limit: 1000 });
      return { requeued, items: items.filter((row) => row.status !== 'ignored').map(inboxEntry) };
    },
  );
}
