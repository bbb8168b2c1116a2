// Swish callbacks are not signed: anyone can POST a body that looks like one. The verifier never
// trusts what a callback says happened; it only works out which payment it is about and hands the
// workflow a hint, on which the workflow asks Swish itself (GET over mutual TLS).
//
// Routing: the client puts the payment request id into every callback URL it gives Swish
// (`…/webhooks/swish?payment=<id>`, and `&refund=<refund id>` for refunds). A refund callback only
// carries Swish's own `originalPaymentReference`, so the query is how it finds its payment. The
// query is cross-checked with the body: a callback whose ids disagree with its URL is refused.
//
// Since anyone can send one, a callback costs as little as possible: its status must be one Swish
// documents (so one object yields at most a handful of events), only the instruction id, the status
// and the sender's address are kept (not the body, which could be anything up to the size limit),
// and — when the ingress says which payment requests the ledger knows — a callback about an id the
// ledger does not know is answered and dropped rather than stored and retried.
import { WebhookVerificationError, type IncomingWebhook, type WebhookVerifier } from '../types';
import { type VerifiedWebhookEvent } from '../../domain/webhooks';
import type { SwishPaymentRequest, SwishRefund } from './protocol';

export interface SwishCallback {
  kind: 'payment_request' | 'refund';
  /** The id Swish sent (payment request id, or refund id). */
  id: string;
  status: string;
  /** The payment request the callback concerns, when it can be told. */
  paymentRequestId?: string;
  body: SwishPaymentRequest | SwishRefund;
}

const SWISH_ID = /^[0-9A-Za-z-]{1,64}$/;
/** Payment request statuses (CREATED … CANCELLED) and refund statuses (… VALIDATED, DEBITED). */
export const SWISH_CALLBACK_STATUSES = ['CREATED', 'PAID', 'DECLINED', 'ERROR', 'CANCELLED', 'VALIDATED', 'DEBITED'] as const;
const QUERY_ID = /^[0-9A-Fa-f]{32}$/;

function queryParam(url: string, name: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://callback.invalid');
  } catch {
    return undefined;
  }
  const value = parsed.searchParams.get(name);
  if (value === null || value === '') return undefined;
  if (!QUERY_ID.test(value)) throw new WebhookVerificationError(`callback URL parameter ${name} is not a Swish id`, 'malformed');
  return value.toUpperCase();
}

/** Reads a callback body and its URL; throws WebhookVerificationError('malformed' | 'unverifiable'). */
export function parseSwishCallback(webhook: Pick<IncomingWebhook, 'rawBody' | 'url'>): SwishCallback {
  let body: unknown;
  try {
    body = JSON.parse(webhook.rawBody.toString('utf8'));
  } catch {
    throw new WebhookVerificationError('Swish callback body is not JSON', 'malformed');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WebhookVerificationError('Swish callback body is not an object', 'malformed');
  }
  const record = body as Record<string, unknown>;
  if (typeof record.id !== 'string' || !SWISH_ID.test(record.id)) {
    throw new WebhookVerificationError('Swish callback has no valid id', 'malformed');
  }
  if (typeof record.status !== 'string' || !(SWISH_CALLBACK_STATUSES as readonly string[]).includes(record.status)) {
    throw new WebhookVerificationError(`Swish callback has no valid status (one of ${SWISH_CALLBACK_STATUSES.join(', ')})`, 'malformed');
  }
  const id = record.id.toUpperCase();
  const paymentParam = queryParam(webhook.url, 'payment');
  const refundParam = queryParam(webhook.url, 'refund');
  const isRefund = typeof record.originalPaymentReference === 'string' || refundParam !== undefined;

  if (isRefund) {
    if (refundParam !== undefined && refundParam !== id) {
      throw new WebhookVerificationError(`refund callback for ${id} arrived on the callback URL of refund ${refundParam}`, 'unverifiable');
    }
    return { kind: 'refund', id, status: record.status, paymentRequestId: paymentParam, body: record as unknown as SwishRefund };
  }
  if (paymentParam !== undefined && paymentParam !== id) {
    throw new WebhookVerificationError(`payment callback for ${id} arrived on the callback URL of payment request ${paymentParam}`, 'unverifiable');
  }
  return { kind: 'payment_request', id, status: record.status, paymentRequestId: paymentParam ?? id, body: record as unknown as SwishPaymentRequest };
}

/** A callback as the ingress hands it over: with the address it came from. */
export type SwishIncomingWebhook = IncomingWebhook & { sourceAddress?: string };

export interface SwishWebhookOptions {
  /** Whether the ledger knows this payment request; a callback about one it does not is dropped. */
  isKnownPaymentRequest?: (paymentRequestId: string) => Promise<boolean>;
}

export function createSwishWebhookVerifier(options: SwishWebhookOptions = {}): WebhookVerifier {
  return {
    provider: 'swish',
    async verify(webhook: SwishIncomingWebhook) {
      const callback = parseSwishCallback(webhook);
      if (options.isKnownPaymentRequest && !(callback.paymentRequestId && (await options.isKnownPaymentRequest(callback.paymentRequestId)))) {
        return [];
      }
      const event: VerifiedWebhookEvent = {
        provider: 'swish',
        // Swish repeats a callback until it gets a 200; each status of an object is one event.
        eventId: `${callback.id}:${callback.status}`,
        eventType: `swish.${callback.kind}.${callback.status.toLowerCase()}`,
        providerReference: callback.paymentRequestId,
        // Without a payment to route to (a refund callback on a URL we did not make) it is kept, not delivered.
        delivery: callback.paymentRequestId ? 'hint' : 'none',
        // What the hint needs and who sent it; the workflow reads the rest from Swish itself.
        payload: { id: callback.id, status: callback.status, kind: callback.kind, sourceAddress: webhook.sourceAddress ?? null },
      };
      return [event];
    },
  };
}
