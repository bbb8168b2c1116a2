// Channex webhooks carry no signature: the webhook is configured (Channex UI or API) with custom
// headers, and Skerry's secret in one of them is what tells Channex's request from a forger's. Even a
// verified `booking` webhook is only a hint: the revision itself is read from the feed, so nothing a
// webhook says is applied as it is. Every event is recorded in the inbox; `booking_unmapped_room`,
// `booking_unmapped_rate`, `sync_error` and `non_acked_booking` stay there for the channel's health.
import { timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError, type IncomingWebhook, type WebhookVerifier } from '../types';
import type { VerifiedWebhookEvent } from '../../domain/webhooks';
import type { ChannexWebhook } from './wire';

/** The events that mean the booking revisions feed has something new. */
export const CHANNEX_BOOKING_EVENTS = new Set(['booking', 'booking_new', 'booking_modification', 'booking_cancellation']);
/** The events the channel's health shows (GET /channels/channex/health, a metric, an alert). */
export const CHANNEX_HEALTH_EVENTS = ['booking_unmapped_room', 'booking_unmapped_rate', 'sync_error', 'non_acked_booking'] as const;

const same = (given: string, secret: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
};

export function createChannexWebhookVerifier(options: { header: string; secrets: () => readonly string[]; onHealthEvent?: (event: string) => void }): WebhookVerifier {
  return {
    provider: 'channex',
    async verify(webhook: IncomingWebhook): Promise<VerifiedWebhookEvent[]> {
      const raw = webhook.headers[options.header];
      const given = Array.isArray(raw) ? raw[0] : raw;
      if (!given) throw new WebhookVerificationError(`missing ${options.header} header`, 'missing_signature');
      if (!options.secrets().some((secret) => same(given, secret))) throw new WebhookVerificationError(`${options.header} does not match the configured secret`, 'bad_signature');
      let body: ChannexWebhook;
      try {
        body = JSON.parse(webhook.rawBody.toString('utf8')) as ChannexWebhook;
      } catch {
        throw new WebhookVerificationError('body is not JSON', 'malformed');
      }
      if (typeof body.event !== 'string' || !body.event) throw new WebhookVerificationError('event is required', 'malformed');
      const payload = body.payload ?? {};
      // Channex sends no event id: the revision (or the event, property and time) identifies a delivery.
      const eventId = [body.event, payload.revision_id ?? payload.booking_id ?? body.property_id ?? '-', body.timestamp ?? webhook.rawBody.length].join(':');
      if ((CHANNEX_HEALTH_EVENTS as readonly string[]).includes(body.event)) options.onHealthEvent?.(body.event);
      return [
        {
          provider: 'channex',
          eventId,
          eventType: body.event,
          providerReference: payload.booking_id,
          delivery: CHANNEX_BOOKING_EVENTS.has(body.event) ? 'pull' : 'none',
          payload: body,
        },
      ];
    },
  };
}
