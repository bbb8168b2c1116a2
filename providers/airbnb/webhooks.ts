// Airbnb reservation webhooks: `X-Airbnb-Signature: t=<unix seconds>,v1=<hex>` where v1 is
// HMAC-SHA256 of "<t>.<raw body>" with the endpoint secret (several v1 values while a secret is
// rolled). Verified events go through the same durable inbox as payment webhooks, then to the
// reservation workflow (signal-with-start).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError, type IncomingWebhook, type WebhookVerifier } from '../types';
import { type VerifiedWebhookEvent } from '../../domain/webhooks';
import type { ChannelReservationEvent } from '../../domain/bookings';
import { AIRBNB_SIGNATURE_HEADER, toMinor, type AirbnbReservation, type AirbnbWebhookEvent } from './api';

export function signAirbnbPayload(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** An Airbnb reservation as a normalized channel event. */
export function airbnbReservationEvent(reservation: AirbnbReservation, kind: ChannelReservationEvent['kind'], eventId: string, occurredAt: string): ChannelReservationEvent {
  return {
    eventId,
    kind,
    channel: 'airbnb',
    channelReservationId: reservation.confirmation_code,
    externalAccountId: reservation.host_id,
    externalListingId: reservation.listing_id,
    checkIn: reservation.start_date,
    checkOut: reservation.end_date,
    rooms: reservation.number_of_units,
    guest: { name: `${reservation.guest.first_name} ${reservation.guest.last_name}`.trim() },
    total: reservation.total_price ? { value: toMinor(reservation.total_price.amount, reservation.total_price.currency), currency: reservation.total_price.currency } : undefined,
    occurredAt,
  };
}

const KIND: Partial<Record<AirbnbWebhookEvent['event_type'], ChannelReservationEvent['kind']>> = {
  'reservation.confirmed': 'new',
  'reservation.updated': 'modified',
  'reservation.cancelled': 'cancelled',
};

export function createAirbnbWebhookVerifier(options: { secrets: () => readonly string[]; toleranceSeconds: number }): WebhookVerifier {
  return {
    provider: 'airbnb',
    async verify(webhook: IncomingWebhook): Promise<VerifiedWebhookEvent[]> {
      const header = webhook.headers[AIRBNB_SIGNATURE_HEADER];
      const value = Array.isArray(header) ? header[0] : header;
      if (!value) throw new WebhookVerificationError(`missing ${AIRBNB_SIGNATURE_HEADER} header`, 'missing_signature');
      const parts = value.split(',').map((part) => part.trim().split('=', 2) as [string, string]);
      const timestamp = Number(parts.find(([key]) => key === 't')?.[1]);
      const signatures = parts.filter(([key]) => key === 'v1').map(([, signature]) => signature);
      if (!Number.isFinite(timestamp) || signatures.length === 0) throw new WebhookVerificationError('malformed signature header', 'malformed');
      const now = Math.floor((webhook.now ?? new Date()).getTime() / 1000);
      if (Math.abs(now - timestamp) > options.toleranceSeconds) throw new WebhookVerificationError('signature timestamp outside the tolerance', 'stale');
      const signed = Buffer.concat([Buffer.from(`${timestamp}.`), webhook.rawBody]);
      const valid = options.secrets().some((secret) => {
        const expected = createHmac('sha256', secret).update(signed).digest();
        return signatures.some((signature) => {
          const given = Buffer.from(signature, 'hex');
          return given.length === expected.length && timingSafeEqual(given, expected);
        });
      });
      if (!valid) throw new WebhookVerificationError('no signature matches the endpoint secret', 'bad_signature');

      let event: AirbnbWebhookEvent;
      try {
        event = JSON.parse(webhook.rawBody.toString('utf8')) as AirbnbWebhookEvent;
      } catch {
        throw new WebhookVerificationError('body is not JSON', 'malformed');
      }
      if (!event.event_id || !event.event_type) throw new WebhookVerificationError('event_id and event_type are required', 'malformed');
      const reservation = event.data?.reservation;
      const kind = KIND[event.event_type];
      if (!kind || !reservation?.confirmation_code) {
        // A reservation request still waiting for the host, or an event Skerry does not act on.
        return [{ provider: 'airbnb', eventId: event.event_id, eventType: event.event_type, delivery: 'none', payload: event }];
      }
      return [
        {
          provider: 'airbnb',
          eventId: event.event_id,
          eventType: event.event_type,
          providerReference: reservation.confirmation_code,
          delivery: 'reservation',
          reservation: airbnbReservationEvent(reservation, kind, `airbnb:${event.event_id}`, event.timestamp),
          payload: event,
        },
      ];
    },
  };
}
