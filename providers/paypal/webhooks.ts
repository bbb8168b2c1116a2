// PayPal webhooks, verified by PayPal itself: POST /v1/notifications/verify-webhook-signature with
// the five PAYPAL-* transmission headers, our webhook id and the event, answered SUCCESS or FAILURE.
// (The offline alternative — RSA-SHA256 over `transmissionId|time|webhookId|crc32(body)` with the
// certificate from PAYPAL-CERT-URL — needs certificate fetching and host pinning; the API is what
// PayPal's SDKs use.) The event is sent back byte for byte: PayPal checks the CRC of what it signed,
// and a re-serialized event can differ from the bytes that were signed.
import { ProviderError } from '../errors';
import { WebhookVerificationError, type IncomingWebhook, type WebhookVerifier } from '../types';
import { type VerifiedWebhookEvent } from '../../domain/webhooks';
import type { PaymentObservation } from '../../domain/payments';
import { createPayPalConnection, type PayPalConnection, type PayPalConnectionOptions } from './connection';
import { classifyPayPalError } from './errors';
import {
  adoptionOf,
  moneyValue,
  orderIdOf,
  paymentIdOf,
  refundObservation,
  snapshotFromOrder,
  type PayPalAuthorization,
  type PayPalCapture,
  type PayPalOrder,
  type PayPalRefund,
  type PayPalWebhookEvent,
} from './resources';

export interface PayPalWebhookOptions extends Partial<PayPalConnectionOptions> {
  /** The id PayPal gave the webhook endpoint (Developer Dashboard → app → Webhooks). */
  webhookId: string;
  /** Share the client's connection (and its token); otherwise one is made from the credentials. */
  connection?: PayPalConnection;
}

export const PAYPAL_TRANSMISSION_HEADERS = [
  'paypal-transmission-id',
  'paypal-transmission-time',
  'paypal-transmission-sig',
  'paypal-cert-url',
  'paypal-auth-algo',
] as const;

function header(webhook: IncomingWebhook, name: string): string | undefined {
  const value = webhook.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

type Normalized = Pick<VerifiedWebhookEvent, 'delivery' | 'observation' | 'paymentId' | 'providerReference' | 'adopt'>;

/** Maps a verified event to what the inbox stores and the workflow receives. */
export function normalizePayPalEvent(event: PayPalWebhookEvent, receivedAt = new Date()): Normalized {
  const base = {
    eventId: event.id,
    source: 'webhook' as const,
    providerEventType: event.event_type,
    occurredAt: event.create_time && !Number.isNaN(Date.parse(event.create_time)) ? new Date(event.create_time).toISOString() : receivedAt.toISOString(),
  };
  const resource = (event.resource ?? {}) as Record<string, unknown>;
  if (typeof resource.id !== 'string') return { delivery: 'none' };

  const paymentEvent = (providerReference: string | undefined, observation: Omit<PaymentObservation, keyof typeof base | 'providerReference'>): Normalized => ({
    delivery: 'observation',
    paymentId: paymentIdOf(resource as { custom_id?: string }),
    providerReference,
    observation: { ...base, providerReference, ...observation },
  });

  switch (event.event_type) {
    case 'CHECKOUT.ORDER.APPROVED': {
      // The payer approved; money has not moved. Skerry's next step is the capture (or the
      // authorization), which the workflow takes by reading the order: a hint, not an observation.
      const order = resource as unknown as PayPalOrder;
      return { delivery: 'hint', paymentId: paymentIdOf(order), providerReference: order.id, adopt: adoptionOf(order) };
    }
    case 'CHECKOUT.ORDER.COMPLETED':
    case 'CHECKOUT.ORDER.VOIDED': {
      const order = resource as unknown as PayPalOrder;
      const snapshot = snapshotFromOrder(order);
      return {
        ...paymentEvent(order.id, {
          status: event.event_type === 'CHECKOUT.ORDER.VOIDED' ? 'canceled' : snapshot.status,
          amountAuthorized: snapshot.amountAuthorized,
          amountCaptured: snapshot.amountCaptured,
          amountRefunded: snapshot.amountRefunded,
          failureReason: snapshot.failureReason,
        }),
        paymentId: paymentIdOf(order),
        adopt: adoptionOf(order),
      };
    }
    case 'PAYMENT.CAPTURE.COMPLETED': {
      const capture = resource as unknown as PayPalCapture;
      return paymentEvent(orderIdOf(capture), { status: 'succeeded', amountCaptured: moneyValue(capture.amount) });
    }
    case 'PAYMENT.CAPTURE.PENDING': {
      const capture = resource as unknown as PayPalCapture;
      return paymentEvent(orderIdOf(capture), { status: 'processing' });
    }
    case 'PAYMENT.CAPTURE.DENIED':
    case 'PAYMENT.CAPTURE.DECLINED': {
      const capture = resource as unknown as PayPalCapture;
      const reason = capture.status_details?.reason;
      return paymentEvent(orderIdOf(capture), { status: 'failed', failureReason: `capture ${capture.status ?? 'DENIED'}${reason ? `: ${reason}` : ''}` });
    }
    case 'PAYMENT.CAPTURE.REFUNDED': {
      // The resource is the refund; its `up` link names the capture, not the order. The payment is
      // found by custom_id.
      const refund = resource as unknown as PayPalRefund;
      const total = refund.seller_payable_breakdown?.total_refunded_amount;
      return paymentEvent(orderIdOf(refund), {
        refund: refundObservation(refund),
        amountRefunded: total ? moneyValue(total) : undefined,
      });
    }
    case 'PAYMENT.AUTHORIZATION.CREATED': {
      const authorization = resource as unknown as PayPalAuthorization;
      return paymentEvent(orderIdOf(authorization), { status: 'requires_capture', amountAuthorized: moneyValue(authorization.amount) });
    }
    case 'PAYMENT.AUTHORIZATION.VOIDED': {
      const authorization = resource as unknown as PayPalAuthorization;
      return paymentEvent(orderIdOf(authorization), { status: 'canceled' });
    }
    default:
      return { delivery: 'none' };
  }
}

export function parsePayPalEvent(rawBody: Buffer): PayPalWebhookEvent {
  let event: unknown;
  try {
    event = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new WebhookVerificationError('body is not JSON', 'malformed');
  }
  const candidate = event as Partial<PayPalWebhookEvent> | null;
  if (!candidate || typeof candidate !== 'object' || typeof candidate.id !== 'string' || typeof candidate.event_type !== 'string') {
    throw new WebhookVerificationError('body is not a PayPal webhook event (id, event_type)', 'malformed');
  }
  return candidate as PayPalWebhookEvent;
}

export function createPayPalWebhookVerifier(options: PayPalWebhookOptions): WebhookVerifier {
  let connection = options.connection;
  const paypal = () => {
    if (!connection) {
      if (!options.clientId || !options.clientSecret) throw new Error('PayPal webhook verifier: a connection or clientId/clientSecret is required');
      connection = createPayPalConnection(options as PayPalConnectionOptions);
    }
    return connection;
  };

  return {
    provider: 'paypal',
    async verify(webhook) {
      const values = PAYPAL_TRANSMISSION_HEADERS.map((name) => header(webhook, name));
      const missing = PAYPAL_TRANSMISSION_HEADERS.filter((_, index) => !values[index]);
      if (missing.length > 0) throw new WebhookVerificationError(`missing ${missing.join(', ')}`, 'missing_signature');
      const [transmissionId, transmissionTime, transmissionSig, certUrl, authAlgo] = values as string[];
      if (!options.webhookId) throw new WebhookVerificationError('no PayPal webhook id configured', 'unverifiable');
      const event = parsePayPalEvent(webhook.rawBody);

      const request =
        `{"auth_algo":${JSON.stringify(authAlgo)},"cert_url":${JSON.stringify(certUrl)},` +
        `"transmission_id":${JSON.stringify(transmissionId)},"transmission_sig":${JSON.stringify(transmissionSig)},` +
        `"transmission_time":${JSON.stringify(transmissionTime)},"webhook_id":${JSON.stringify(options.webhookId)},` +
        `"webhook_event":${webhook.rawBody.toString('utf8').trim()}}`;
      let status: string | undefined;
      try {
        const response = await paypal().postJson<{ verification_status?: string }>('verify_webhook_signature', '/v1/notifications/verify-webhook-signature', request);
        status = response.body?.verification_status;
      } catch (err) {
        const failure = classifyPayPalError('verify_webhook_signature', err);
        // PayPal refused the verification request itself (a header that is not a signature, say).
        if (failure.kind === 'validation') throw new WebhookVerificationError(`PayPal refused to verify: ${failure.message}`, 'malformed');
        // PayPal (or our credentials) unavailable: not a verdict. Answering 5xx makes PayPal retry.
        throw failure instanceof ProviderError ? failure : new ProviderError('paypal', 'verify_webhook_signature', 'unavailable', String(err));
      }
      if (status !== 'SUCCESS') {
        throw new WebhookVerificationError(`PayPal did not verify the transmission ${transmissionId} (${status ?? 'no status'})`, 'bad_signature');
      }
      return [{ provider: 'paypal', eventId: event.id, eventType: event.event_type, payload: event, ...normalizePayPalEvent(event, webhook.now) }];
    },
  };
}
