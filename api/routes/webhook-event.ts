// GET /webhooks/:id: one inbox event with its payload as the inbox keeps it (redacted on the way in:
// domain/payload-redaction.ts), for the console's inbox and for an operator deciding on a replay.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { WebhookInbox } from '../../store/webhook-inbox';
import { ErrorBody } from '../schemas';
import { InboxEntry, inboxEntry } from './operations';

export async function webhookEventRoutes(app: FastifyInstance, deps: { inbox: WebhookInbox }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/webhooks/:id',
    {
      schema: {
        summary: 'One inbox event: its delivery state, attempts and redacted payload',
        tags: ['operations'],
        params: z.object({ id: z.coerce.number().int().positive() }),
        response: {
          200: InboxEntry.extend({
            payload: z.unknown().describe('As kept: only the fields the provider allowlist in domain/payload-redaction.ts lets through'),
          }),
          404: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const [row] = await deps.inbox.list({ ids: [request.params.id], limit: 1 });
      if (!row) return reply.code(404).send({ error: 'not_found', message: `no inbox event ${request.params.id}` });
      return { ...inboxEntry(row), payload: row.payload };
    },
  );
}
