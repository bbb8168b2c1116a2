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
import { isLoopbackApi } from '../../config/sandbox-defaults';
import { classifyPayPalError } from './errors';
import {
  adoptionOf,
  linkOf,
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

const TRANSMISSION_HEADER_MAX = 2_048;

/**
 * PayPal's certificates are served over https. The one exception is a PayPal API on this machine
 * (Skerry's sandbox under `npm start` and the tests), whose certificate lives at that same http
 * origin; with PayPal's real API configured, an http certificate URL is always refused.
 */
function certUrlAccepted(certUrl: string, apiBase: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(certUrl);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && apiBase !== undefined && isLoopbackApi(apiBase) && new URL(apiBase).origin === url.origin;
}

/**
 * What can be refused without asking PayPal: the five transmission headers present and of a sane
 * size, and a body that is a PayPal event. Anything past this costs a call to PayPal.
 */
export function precheckPayPalWebhook(webhook: IncomingWebhook, apiBase?: string) {
  const values = PAYPAL_TRANSMISSION_HEADERS.map((name) => header(webhook, name));
  const missing = PAYPAL_TRANSMISSION_HEADERS.filter((_, index) => !values[index]);
  if (missing.length > 0) throw new WebhookVerificationError(`missing ${missing.join(', ')}`, 'missing_signature');
  if (values.some((value) => value!.length > TRANSMISSION_HEADER_MAX)) throw new WebhookVerificationError('a PAYPAL-* header is too long', 'malformed');
  const [transmissionId, transmissionTime, transmissionSig, certUrl, authAlgo] = values as string[];
  if (!certUrlAccepted(certUrl!, apiBase)) throw new WebhookVerificationError('PAYPAL-CERT-URL is not an https URL', 'malformed');
  return { transmissionId: transmissionId!, transmissionTime: transmissionTime!, transmissionSig: transmissionSig!, certUrl: certUrl!, authAlgo: authAlgo!, event: parsePayPalEvent(webhook.rawBody) };
}

// ─── The verification budget ──────────────────────────────────────────────────────────────────
// Every PayPal webhook costs a call to PayPal, which anyone can trigger with five made-up headers.
// Those calls get their own budget, apart from the captures and refunds: a few at a time, a bounded
// queue, a share of PayPal's rate, and a deadline. A flood is answered 429 (queue full) or 503 (no
// slot in time) — PayPal retries a real delivery later — and never waits in an unbounded line.

export interface VerifyBudgetOptions {
  /** Verifications running at once. */
  concurrency: number;
  /** Verifications waiting for a slot; one more is refused at once. */
  queueSize: number;
  /** From arrival to PayPal's verdict; past it the webhook is answered 503. */
  timeoutMs: number;
  /** This budget's share of PayPal's rate (requests per second). */
  ratePerSecond: number;
}

export interface VerifyBudgetStats {
  inFlight: number;
  queued: number;
  /** The most that ever waited at once (never more than queueSize). */
  peakQueued: number;
  peakInFlight: number;
  admitted: number;
  refusedQueueFull: number;
  timedOut: number;
}

export class WebhookBudgetError extends Error {
  override readonly name = 'WebhookBudgetError';
  constructor(
    message: string,
    readonly status: 429 | 503,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export interface VerifyBudget {
  run<T>(work: () => Promise<T>): Promise<T>;
  stats(): VerifyBudgetStats;
}

export function createVerifyBudget(options: VerifyBudgetOptions, now: () => number = Date.now): VerifyBudget {
  const capacity = Math.max(1, Math.ceil(options.ratePerSecond));
  let tokens = capacity;
  let refilledAt = now();
  const takeToken = () => {
    const at = now();
    tokens = Math.min(capacity, tokens + ((at - refilledAt) / 1000) * options.ratePerSecond);
    refilledAt = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  const msUntilToken = () => Math.max(1, Math.ceil(((1 - tokens) / options.ratePerSecond) * 1000));

  interface Waiter {
    start: () => void;
    timer: NodeJS.Timeout;
  }
  const queue: Waiter[] = [];
  const stats: VerifyBudgetStats = { inFlight: 0, queued: 0, peakQueued: 0, peakInFlight: 0, admitted: 0, refusedQueueFull: 0, timedOut: 0 };
  let pumpTimer: NodeJS.Timeout | undefined;

  const pump = () => {
    while (queue.length > 0 && stats.inFlight < options.concurrency) {
      if (!takeToken()) {
        pumpTimer ??= setTimeout(() => {
          pumpTimer = undefined;
          pump();
        }, msUntilToken());
        return;
      }
      const waiter = queue.shift()!;
      stats.queued = queue.length;
      clearTimeout(waiter.timer);
      waiter.start();
    }
  };

  const timeout = () => new WebhookBudgetError('PayPal webhook verification is saturated; retry later', 503, 10);

  return {
    run<T>(work: () => Promise<T>): Promise<T> {
      const arrived = now();
      return new Promise<T>((resolve, reject) => {
        const start = () => {
          stats.inFlight += 1;
          stats.admitted += 1;
          stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
          // The slot is held until PayPal answers, even past the deadline: concurrency stays bounded.
          const deadline = setTimeout(() => {
            stats.timedOut += 1;
            reject(timeout());
          }, Math.max(0, options.timeoutMs - (now() - arrived)));
          work()
            .then(resolve, reject)
            .finally(() => {
              clearTimeout(deadline);
              stats.inFlight -= 1;
              pump();
            });
        };
        if (queue.length === 0 && stats.inFlight < options.concurrency && takeToken()) return start();
        if (queue.length >= options.queueSize) {
          stats.refusedQueueFull += 1;
          return reject(new WebhookBudgetError('too many PayPal webhooks waiting for verification; retry later', 429, 5));
        }
        const waiter: Waiter = {
          start,
          timer: setTimeout(() => {
            const index = queue.indexOf(waiter);
            if (index >= 0) queue.splice(index, 1);
            stats.queued = queue.length;
            stats.timedOut += 1;
            reject(timeout());
          }, options.timeoutMs),
        };
        queue.push(waiter);
        stats.queued = queue.length;
        stats.peakQueued = Math.max(stats.peakQueued, queue.length);
        pump();
      });
    },
    stats: () => ({ ...stats }),
  };
}

/**
 * The order a refund's capture belongs to, asked of PayPal: a refund links only its capture. None
 * when PayPal knows no such capture; PayPal unavailable is thrown (the webhook is answered 5xx and
 * PayPal delivers it again).
 */
async function refundedOrderOf(paypal: PayPalConnection, refund: PayPalRefund): Promise<string | undefined> {
  const captureId = /\/v2\/payments\/captures\/([^/?#]+)/.exec(linkOf(refund, 'up') ?? '')?.[1];
  if (!captureId) return undefined;
  try {
    const capture = await paypal.call<PayPalCapture>('get_capture', () => paypal.payments.getCapturedPayment({ captureId }));
    return orderIdOf(capture.body);
  } catch (err) {
    const failure = classifyPayPalError('get_capture', err);
    if (failure.kind === 'not_found') return undefined;
    throw failure;
  }
}

/** A PayPal verifier, saying which API it asks (and so which certificate host it trusts). */
export interface PayPalWebhookVerifier extends WebhookVerifier {
  apiBase(): string | undefined;
}

/** The PayPal verifier behind its budget: what the precheck refuses never takes a place in it. */
export function withVerifyBudget(verifier: WebhookVerifier & Partial<Pick<PayPalWebhookVerifier, 'apiBase'>>, budget: VerifyBudget): WebhookVerifier {
  return {
    provider: verifier.provider,
    async verify(webhook) {
      precheckPayPalWebhook(webhook, verifier.apiBase?.());
      return budget.run(() => verifier.verify(webhook));
    },
  };
}

export function createPayPalWebhookVerifier(options: PayPalWebhookOptions): PayPalWebhookVerifier {
  let connection = options.connection;
  const paypal = () => {
    if (!connection) {
      if (!options.clientId || !options.clientSecret) throw new Error('PayPal webhook verifier: a connection or clientId/clientSecret is required');
      connection = createPayPalConnection(options as PayPalConnectionOptions);
    }
    return connection;
  };

  const apiBase = () => options.apiBase ?? options.connection?.apiBase;
  return {
    provider: 'paypal',
    apiBase,
    async verify(webhook) {
      const { transmissionId, transmissionTime, transmissionSig, certUrl, authAlgo, event } = precheckPayPalWebhook(webhook, apiBase());
      if (!options.webhookId) throw new WebhookVerificationError('no PayPal webhook id configured', 'unverifiable');

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
      let normalized = normalizePayPalEvent(event, webhook.now);
      if (event.event_type === 'PAYMENT.CAPTURE.REFUNDED' && normalized.observation) {
        // The refund names its payment only by the custom_id it inherits: the order of the refunded
        // capture, from PayPal, is what delivery checks that payment against (api/webhooks/refund-ownership.ts).
        const providerReference = await refundedOrderOf(paypal(), event.resource as PayPalRefund);
        normalized = { ...normalized, providerReference, observation: { ...normalized.observation, providerReference } };
      }
      return [{ provider: 'paypal', eventId: event.id, eventType: event.event_type, payload: event, ...normalized }];
    },
  };
}
