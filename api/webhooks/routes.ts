// One ingress for every provider: raw body → verify → durable inbox → 2xx → delivery.
// The 2xx is sent only after the inbox row is committed; a database failure answers 503 so the
// provider retries, and nothing is acknowledged that could be lost.
//
// This is the public door's reason to exist, so it is also where abuse is turned away cheaply: each
// provider has its own route with its own body limit (413 above it) and, when @fastify/rate-limit is
// registered, its own request rate per source address (429 above it).
import type { WebhookObserver } from '../../observability/observers';
import type { FastifyInstance } from 'fastify';
import { WebhookVerificationError, type IncomingWebhook, type WebhookVerifier } from '../../providers/types';
import { ProviderError } from '../../providers/errors';
import { WebhookBudgetError } from '../../providers/paypal/webhooks';
import type { WebhookInbox } from '../../store/webhook-inbox';
import type { WebhookDelivery } from './delivery';

/**
 * The largest body each provider sends, with room to spare. Stripe events embed whole objects;
 * PayPal and Airbnb send one resource; MobilePay's events are small; a Swish callback is a few
 * hundred bytes.
 */
export const WEBHOOK_BODY_LIMITS: Readonly<Record<string, number>> = {
  stripe: 512 * 1024,
  paypal: 128 * 1024,
  airbnb: 128 * 1024,
  mobilepay: 32 * 1024,
  swish: 8 * 1024,
};
const DEFAULT_BODY_LIMIT = 64 * 1024;

export function registerWebhookRoutes(
  app: FastifyInstance,
  deps: {
    inbox: WebhookInbox;
    delivery: WebhookDelivery;
    verifiers: WebhookVerifier[];
    observer?: WebhookObserver;
    /** Drops cached provider reads of a payment the event reports a change of (conditional-GET cache). */
    invalidate?: (provider: string, providerReference: string) => Promise<void>;
    /** Requests per minute per provider and source address (needs @fastify/rate-limit on the app). */
    ratePerMinute?: number;
    bodyLimits?: Readonly<Record<string, number>>;
  },
): void {
  // Signatures are computed over the exact bytes sent: keep the body raw for every content type.
  // The parser takes each route's own body limit.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  for (const verifier of deps.verifiers) {
    const provider = verifier.provider as string;
    app.post(
      `/${provider}`,
      {
        schema: { hide: true },
        bodyLimit: (deps.bodyLimits ?? WEBHOOK_BODY_LIMITS)[provider] ?? DEFAULT_BODY_LIMIT,
        config: {
          quietLog: true,
          ...(deps.ratePerMinute ? { rateLimit: { max: deps.ratePerMinute, timeWindow: 60_000, keyGenerator: (request: { ip: string }) => `${provider}|${request.ip}` } } : {}),
        },
      },
      async (request, reply) => {
        const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);

        let events;
        try {
          // The sender's address goes along for verifiers that keep it (Swish's unsigned callbacks).
          const incoming: IncomingWebhook & { sourceAddress: string } = { rawBody, headers: request.headers, url: request.url, sourceAddress: request.ip };
          events = await verifier.verify(incoming);
        } catch (err) {
          if (err instanceof WebhookVerificationError) {
            deps.observer?.onReceived?.(provider, 'rejected');
            request.log.warn({ provider, reason: err.reason }, 'webhook rejected');
            return reply.code(400).send({ error: 'invalid_webhook', reason: err.reason, message: err.message });
          }
          // Not a verdict: the provider is asked to come back (PayPal retries for three days).
          if (err instanceof WebhookBudgetError) {
            deps.observer?.onReceived?.(provider, 'unavailable');
            return reply.code(err.status).header('retry-after', String(err.retryAfterSeconds)).send({ error: 'unavailable', message: err.message });
          }
          if (err instanceof ProviderError) {
            deps.observer?.onReceived?.(provider, 'unavailable');
            request.log.warn({ provider, err: err.message }, 'webhook could not be verified now; asking the provider to retry');
            return reply.code(503).header('retry-after', '30').send({ error: 'unavailable', message: 'verification unavailable, retry later' });
          }
          throw err;
        }
        // An event the provider's verifier chose to drop (a Swish callback about an unknown id) is answered, not kept.
        if (events.length === 0) {
          request.log.debug({ provider }, 'webhook dropped: about nothing this deployment knows');
          return reply.code(200).send({ received: 0, duplicates: 0 });
        }

        // Before the event can reach its workflow: the read it triggers must be a full one.
        if (deps.invalidate) {
          const payments = new Map(events.flatMap((event) => (event.providerReference ? [[`${event.provider}/${event.providerReference}`, event] as const] : [])));
          await Promise.all([...payments.values()].map((event) => deps.invalidate!(event.provider, event.providerReference!)));
        }

        if (deps.delivery.saturated()) {
          deps.observer?.onReceived?.(provider, 'unavailable');
          return reply.code(503).header('retry-after', '5').send({ error: 'unavailable', message: 'webhook delivery is backed up, retry later' });
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
      },
    );
  }
}
