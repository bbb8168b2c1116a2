// One ingress for every provider: raw body → verify → durable inbox → 2xx → delivery.
// The 2xx is sent only after the inbox row is committed; a database failure answers 503 so the
// provider retries, and nothing is acknowledged that could be lost.
import type { WebhookObserver } from '../../observability/observers';
import type { FastifyInstance } from 'fastify';
import { WebhookVerificationError, type WebhookVerifier } from '../../providers/types';
import type { WebhookInbox } from '../../store/webhook-inbox';
import type { WebhookDelivery } from './delivery';

export function registerWebhookRoutes(
  app: FastifyInstance,
  deps: {
    inbox: WebhookInbox;
    delivery: WebhookDelivery;
    verifiers: WebhookVerifier[];
    observer?: WebhookObserver;
    /** Drops cached provider reads of a payment the event reports a change of (conditional-GET cache). */
    invalidate?: (provider: string, providerReference: string) => Promise<void>;
  },
): void {
  const verifiers = new Map(deps.verifiers.map((verifier) => [verifier.provider as string, verifier]));

  // Signatures are computed over the exact bytes sent: keep the body raw for every content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body));

  app.post<{ Params: { provider: string } }>('/:provider', { schema: { hide: true } }, async (request, reply) => {
    const { provider } = request.params;
    const verifier = verifiers.get(provider);
    if (!verifier) return reply.code(404).send({ error: 'not_found', message: `no webhook endpoint for provider ${provider}` });
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);

    let events;
    try {
      events = await verifier.verify({ rawBody, headers: request.headers, url: request.url });
    } catch (err) {
      deps.observer?.onReceived?.(provider, 'rejected');
      if (err instanceof WebhookVerificationError) {
        request.log.warn({ provider, reason: err.reason }, 'webhook rejected');
        return reply.code(400).send({ error: 'invalid_webhook', reason: err.reason, message: err.message });
      }
      throw err;
    }

    // Before the event can reach its workflow: the read it triggers must be a full one.
    if (deps.invalidate) {
      const payments = new Map(events.flatMap((event) => (event.providerReference ? [[`${event.provider}/${event.providerReference}`, event] as const] : [])));
      await Promise.all([...payments.values()].map((event) => deps.invalidate!(event.provider, event.providerReference!)));
    }

    let recorded;
    try {
      recorded = await deps.inbox.record(events);
    } catch (err) {
      deps.observer?.onReceived?.(provider, 'unavailable');
      request.log.error({ provider, err: (err as Error).message }, 'webhook inbox unavailable; asking the provider to retry');
      return reply.code(503).header('retry-after', '5').send({ error: 'unavailable', message: 'webhook inbox unavailable, retry later' });
    }
    deps.observer?.onReceived?.(provider, recorded.duplicates > 0 && recorded.inserted.length === 0 ? 'duplicate' : 'accepted');
    deps.delivery.deliverNow(recorded.inserted);
    return reply.code(200).send({ received: events.length, duplicates: recorded.duplicates });
  });
}
