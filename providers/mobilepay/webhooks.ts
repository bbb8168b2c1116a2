// Vipps MobilePay Webhooks API authentication over the raw body, with every configured secret
// (rotation), and the ePayment event payload normalized for the inbox.
//
// The scheme (developer.vippsmobilepay.com/docs/APIs/webhooks-api/request-authentication):
//   x-ms-content-sha256 = base64(SHA-256(raw body))
//   signed string       = "POST\n<path and query>\n<x-ms-date>;<host>;<x-ms-content-sha256>"
//   Authorization       = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64 HMAC-SHA256(secret, signed string)>"
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { WebhookVerificationError, type IncomingWebhook, type WebhookVerifier } from '../types';
import { type VerifiedWebhookEvent } from '../../domain/webhooks';
import type { PaymentObservation } from '../../domain/payments';
import { paymentIdFromReference } from './wire';

export interface MobilePayWebhookOptions {
  /** Every secret accepted at `now`: during a rotation, the old and the new registration's secret (until the overlap ends). */
  secrets: (now: Date) => readonly string[];
  /** Requests whose x-ms-date is further than this from now are refused as stale. */
  toleranceSeconds: number;
  /**
   * The host the webhook URL was registered with, when a proxy in front of the API rewrites the
   * Host header. Default: the Host header as received.
   */
  host?: string;
  /**
   * The secrets of the registrations `skerry mobilepay webhooks register` stored, accepted beside
   * `secrets`; `fresh` asks past any cache (no secret matched: the registration may be new).
   */
  storedSecrets?: (fresh?: boolean) => Promise<readonly string[]>;
}

export const EPAYMENT_EVENT_NAMES = ['CREATED', 'AUTHORIZED', 'CAPTURED', 'CANCELLED', 'REFUNDED', 'ABORTED', 'EXPIRED', 'TERMINATED'] as const;
export type EPaymentEventName = (typeof EPAYMENT_EVENT_NAMES)[number];

/** The Webhooks API event type of an ePayment event name: `epayments.payment.captured.v1`. */
export const ePaymentEventType = (name: string) => `epayments.payment.${name.toLowerCase()}.v1`;

/** Every ePayment event type, for `POST /webhooks/v1/webhooks`. */
export const EPAYMENT_EVENT_TYPES = EPAYMENT_EVENT_NAMES.map(ePaymentEventType);

const EventSchema = z.object({
  msn: z.string(),
  reference: z.string().min(1),
  pspReference: z.string().min(1),
  name: z.string().min(1),
  amount: z.object({ currency: z.string(), value: z.number().int().nonnegative() }),
  timestamp: z.string().min(1),
  idempotencyKey: z.string().nullish(),
  success: z.boolean(),
});
export type EPaymentWebhookEvent = z.infer<typeof EventSchema>;

const AUTHORIZATION = /^HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=([A-Za-z0-9+/=]+)$/;

function header(webhook: IncomingWebhook, name: string): string | undefined {
  const value = webhook.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function contentHash(rawBody: Buffer | string): string {
  return createHash('sha256').update(rawBody).digest('base64');
}

export function signatureFor(secret: string, pathAndQuery: string, date: string, host: string, hash: string): string {
  return createHmac('sha256', secret).update(`POST\n${pathAndQuery}\n${date};${host};${hash}`).digest('base64');
}

/** Verifies the HMAC headers of `webhook` and returns its parsed body. */
export function verifyMobilePayRequest(webhook: IncomingWebhook, options: MobilePayWebhookOptions): EPaymentWebhookEvent {
  const authorization = header(webhook, 'authorization');
  const date = header(webhook, 'x-ms-date');
  const claimedHash = header(webhook, 'x-ms-content-sha256');
  if (!authorization || !date || !claimedHash) {
    throw new WebhookVerificationError('missing Authorization, x-ms-date or x-ms-content-sha256 header', 'missing_signature');
  }
  const host = options.host ?? header(webhook, 'host');
  if (!host) throw new WebhookVerificationError('no Host to verify the signature against', 'unverifiable');
  const signature = AUTHORIZATION.exec(authorization.trim())?.[1];
  if (!signature) throw new WebhookVerificationError('Authorization is not HMAC-SHA256 over x-ms-date;host;x-ms-content-sha256', 'malformed');

  const sentAt = Date.parse(date);
  if (Number.isNaN(sentAt)) throw new WebhookVerificationError('x-ms-date is not a date', 'malformed');
  const nowMs = (webhook.now ?? new Date()).getTime();
  if (Math.abs(nowMs - sentAt) > options.toleranceSeconds * 1000) {
    throw new WebhookVerificationError(`x-ms-date outside the ${options.toleranceSeconds}s tolerance`, 'stale');
  }

  const hash = contentHash(webhook.rawBody);
  if (!sameText(hash, claimedHash)) throw new WebhookVerificationError('x-ms-content-sha256 does not match the body', 'bad_signature');

  const matched = options.secrets(new Date(nowMs)).some((secret) => sameText(signatureFor(secret, webhook.url, date, host, hash), signature));
  if (!matched) throw new WebhookVerificationError('no configured secret matches the HMAC signature', 'bad_signature');

  let json: unknown;
  try {
    json = JSON.parse(webhook.rawBody.toString('utf8'));
  } catch {
    throw new WebhookVerificationError('body is not JSON', 'malformed');
  }
  const parsed = EventSchema.safeParse(json);
  if (!parsed.success) throw new WebhookVerificationError(`not an ePayment event: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 'malformed');
  return parsed.data;
}

/** The refund id for a REFUNDED event: the Idempotency-Key of the refund request, as the adapter names it. */
export const refundIdOf = (event: Pick<EPaymentWebhookEvent, 'idempotencyKey' | 'pspReference'>) => event.idempotencyKey || `psp-${event.pspReference}`;

/**
 * An ePayment event as what the workflow needs. Lifecycle events become observations. CAPTURED and
 * CANCELLED carry the amount of that one modification while observations carry cumulative amounts,
 * and a CANCELLED after a partial capture leaves the payment succeeded: they are hints, and the
 * workflow reads the aggregate. REFUNDED becomes a refund keyed like the adapter's own refund.
 * Unsuccessful events are hints too.
 */
export function normalizeEPaymentEvent(event: EPaymentWebhookEvent): Pick<VerifiedWebhookEvent, 'delivery' | 'observation'> {
  const base = {
    eventId: `${event.reference}:${event.name}:${event.pspReference}`,
    source: 'webhook' as const,
    providerEventType: ePaymentEventType(event.name),
    providerReference: event.reference,
    occurredAt: Number.isNaN(Date.parse(event.timestamp)) ? new Date().toISOString() : new Date(event.timestamp).toISOString(),
  };
  if (!(EPAYMENT_EVENT_NAMES as readonly string[]).includes(event.name)) return { delivery: 'none' };
  if (!event.success) return { delivery: 'hint' };
  let observation: PaymentObservation | undefined;
  switch (event.name as EPaymentEventName) {
    case 'CREATED':
      observation = { ...base, status: 'created' };
      break;
    case 'AUTHORIZED':
      observation = { ...base, status: 'requires_capture', amountAuthorized: event.amount.value };
      break;
    case 'ABORTED':
      observation = { ...base, status: 'failed', failureReason: 'aborted by user' };
      break;
    case 'EXPIRED':
      observation = { ...base, status: 'expired' };
      break;
    case 'TERMINATED':
      observation = { ...base, status: 'canceled' };
      break;
    case 'REFUNDED':
      observation = { ...base, refund: { refundId: refundIdOf(event), amount: event.amount.value, status: 'succeeded' } };
      break;
    case 'CAPTURED':
    case 'CANCELLED':
      return { delivery: 'hint' };
  }
  return { delivery: 'observation', observation };
}

/** Verifies with the configured secrets and the stored ones, reading the stored ones again once when none matched. */
async function verifyWithStoredSecrets(webhook: IncomingWebhook, options: MobilePayWebhookOptions): Promise<EPaymentWebhookEvent> {
  const { storedSecrets } = options;
  if (!storedSecrets) return verifyMobilePayRequest(webhook, options);
  const attempt = (stored: readonly string[]) => verifyMobilePayRequest(webhook, { ...options, secrets: (now) => [...options.secrets(now), ...stored] });
  try {
    return attempt(await storedSecrets());
  } catch (err) {
    if (!(err instanceof WebhookVerificationError) || err.reason !== 'bad_signature') throw err;
    return attempt(await storedSecrets(true));
  }
}

export function createMobilePayWebhookVerifier(options: MobilePayWebhookOptions): WebhookVerifier {
  return {
    provider: 'mobilepay',
    async verify(webhook) {
      const event = await verifyWithStoredSecrets(webhook, options);
      const normalized = normalizeEPaymentEvent(event);
      return [
        {
          provider: 'mobilepay',
          eventId: `${event.reference}:${event.name}:${event.pspReference}`,
          eventType: ePaymentEventType(event.name),
          paymentId: paymentIdFromReference(event.reference),
          providerReference: event.reference,
          payload: event,
          // No `adopt`: the event carries neither Skerry's reference nor the capture method, and
          // every MobilePay payment Skerry knows is created by its own workflow.
          ...normalized,
        },
      ];
    },
  };
}
