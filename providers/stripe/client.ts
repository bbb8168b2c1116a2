// Stripe through its official SDK. The same code talks to api.stripe.com, to stripe-mock and to
// Skerry's sandbox; only the base URL differs.
import { PROVIDER_CAPABILITIES } from '../../domain/payments';
import Stripe from 'stripe';
import { classifyTransportError, kindFromHttpStatus, parseRetryAfter, ProviderError, type ProviderErrorKind } from '../errors';
import type { PaymentProviderClient } from '../types';
import type { ProviderPaymentSnapshot } from '../../domain/observations';
import { passThroughGate, type ProviderGate } from '../resilience/gate';
import type { RefundObservation } from '../../domain/payments';
import { listStripeTransactions } from './transactions';

export interface StripeClientOptions {
  secretKey: string;
  /** Throttle, quota and conditional GETs (providers/resilience); default: pass through. */
  gate?: ProviderGate;
  /** e.g. http://127.0.0.1:4010/stripe for the sandbox; unset for api.stripe.com. */
  apiBase?: string;
  timeoutMs?: number;
}

/** A response whose body was read already (or comes from the conditional-GET cache). */
class BufferedStripeResponse extends Stripe.HttpClientResponse {
  constructor(
    statusCode: number,
    headers: Record<string, string>,
    private readonly body: Promise<string>,
    private readonly raw: unknown,
  ) {
    super(statusCode, headers);
  }
  override getRawResponse(): unknown {
    return this.raw;
  }
  override toStream(): never {
    throw new Error('a buffered Stripe response has no stream');
  }
  override toJSON(): Promise<unknown> {
    return this.body.then((text) => JSON.parse(text) as unknown);
  }
}

/**
 * The SDK's Node HTTP client behind the provider gate (throttle, quota, conditional GETs), with the
 * path prefix a sandbox served under a prefix needs (the SDK has no base-path option).
 */
function gatedHttpClient(gate: ProviderGate, prefix: string): Stripe.HttpClient {
  const inner = Stripe.createNodeHttpClient();
  return {
    getClientName: () => 'skerry-gated-node',
    async makeRequest(host, port, path, method, headers, requestData, protocol, timeout) {
      const read = await gate.conditional(method, path);
      await gate.admit();
      const response = await inner.makeRequest(host, port, `${prefix}${path}`, method, { ...headers, ...read?.headers }, requestData, protocol, timeout);
      const responseHeaders = response.getHeaders() as Record<string, string>;
      gate.observe(responseHeaders);
      const status = response.getStatusCode();
      if (!read) return response;
      if (status !== 200 && status !== 304) {
        await read.resolve({ status, headers: responseHeaders, text: '' });
        return response;
      }
      // Read the body here, so that a 200 with an ETag is cached and a 304 is answered from the cache.
      const text = status === 304 ? Promise.resolve('') : response.toJSON().then((json) => JSON.stringify(json));
      const answer = await text.then((body) => read.resolve({ status, headers: responseHeaders, text: body })).catch(() => undefined);
      // A body that could not be read fails as the SDK's own response would (toJSON rejects).
      if (!answer) return new BufferedStripeResponse(status, responseHeaders, text, response.getRawResponse() ?? {});
      return new BufferedStripeResponse(answer.status, { ...responseHeaders, ...(answer.headers as Record<string, string>) }, Promise.resolve(answer.text), response.getRawResponse() ?? {});
    },
  } as Stripe.HttpClient;
}

export function createStripeSdk(options: StripeClientOptions): Stripe {
  const config: Stripe.StripeConfig = { maxNetworkRetries: 0, timeout: options.timeoutMs ?? 20_000, telemetry: false };
  let prefix = '';
  if (options.apiBase) {
    const url = new URL(options.apiBase);
    config.host = url.hostname;
    config.port = url.port || (url.protocol === 'https:' ? 443 : 80);
    config.protocol = url.protocol === 'https:' ? 'https' : 'http';
    prefix = url.pathname.replace(/\/+$/, '');
  }
  if (options.gate || prefix) config.httpClient = gatedHttpClient(options.gate ?? passThroughGate('stripe'), prefix);
  return new Stripe(options.secretKey, config);
}

export function snapshotFromIntent(intent: Stripe.PaymentIntent, amountRefunded = 0): ProviderPaymentSnapshot {
  let status: ProviderPaymentSnapshot['status'];
  switch (intent.status) {
    case 'requires_payment_method':
      // Stripe returns a declined intent to requires_payment_method with the decline attached: the
      // attempt failed, the payment did not, and the customer may try another card (failureReason).
      status = 'created';
      break;
    case 'requires_confirmation':
      status = 'created';
      break;
    case 'requires_action':
      status = 'requires_action';
      break;
    case 'processing':
      status = 'processing';
      break;
    case 'requires_capture':
      status = 'requires_capture';
      break;
    case 'succeeded':
      status = 'succeeded';
      break;
    case 'canceled':
      status = intent.cancellation_reason === 'abandoned' || intent.cancellation_reason === 'automatic' ? 'expired' : 'canceled';
      break;
    default:
      status = 'processing';
  }
  const awaitingPayer = status === 'created' || status === 'requires_action';
  const error = intent.last_payment_error;
  return {
    providerReference: intent.id,
    status,
    providerStatus: intent.status,
    amountAuthorized: intent.amount_capturable > 0 ? intent.amount_capturable : intent.amount_received,
    amountCaptured: intent.amount_received,
    amountRefunded,
    nextAction: awaitingPayer && intent.client_secret ? { type: 'stripe_client_secret', clientSecret: intent.client_secret } : undefined,
    failureReason: error ? [error.code, error.decline_code, error.message].filter(Boolean).join(': ') : undefined,
  };
}

export function refundObservation(refund: Stripe.Refund): RefundObservation {
  const status = refund.status === 'succeeded' ? 'succeeded' : refund.status === 'failed' || refund.status === 'canceled' ? 'failed' : 'pending';
  return { refundId: refund.id, amount: refund.amount, status };
}

const STRIPE_KIND: Record<string, ProviderErrorKind> = {
  StripeCardError: 'decline',
  StripeInvalidRequestError: 'validation',
  StripeIdempotencyError: 'conflict',
  StripeAuthenticationError: 'authentication',
  StripePermissionError: 'authentication',
  StripeRateLimitError: 'rate_limited',
  StripeAPIError: 'unavailable',
  StripeConnectionError: 'network',
};

export function classifyStripeError(operation: string, err: unknown): ProviderError {
  if (!(err instanceof Stripe.errors.StripeError)) return classifyTransportError('stripe', operation, err);
  const status = err.statusCode;
  let kind = STRIPE_KIND[err.type] ?? (status ? kindFromHttpStatus(status) : 'network');
  if (status === 404 || err.code === 'resource_missing') kind = 'not_found';
  if (status !== undefined && status >= 500) kind = 'unavailable';
  if (err.type === 'StripeConnectionError' && /timed? ?out/i.test(err.message)) kind = 'timeout';
  const retryAfter = err.headers?.['retry-after'];
  return new ProviderError('stripe', operation, kind, err.message, {
    httpStatus: status,
    code: err.decline_code ?? err.code,
    retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
    cause: err,
  });
}

export function createStripeClient(options: StripeClientOptions): PaymentProviderClient {
  const stripe = createStripeSdk(options);

  const call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw classifyStripeError(operation, err);
    }
  };

  const refundedAmount = async (intent: Stripe.PaymentIntent) => {
    if (intent.status !== 'succeeded') return 0;
    const refunds = await stripe.refunds.list({ payment_intent: intent.id, limit: 100 });
    return refunds.data.filter((refund) => refund.status === 'succeeded').reduce((sum, refund) => sum + refund.amount, 0);
  };

  const snapshot = async (intent: Stripe.PaymentIntent) => snapshotFromIntent(intent, await refundedAmount(intent));

  /** Stripe refuses a command on an intent already past it; the current intent is then the answer. */
  const settledOrThrow = async (operation: string, providerReference: string, err: unknown) => {
    const failure = classifyStripeError(operation, err);
    if (failure.details.code !== 'payment_intent_unexpected_state') throw failure;
    return call('retrieve', async () => snapshot(await stripe.paymentIntents.retrieve(providerReference)));
  };

  return {
    name: 'stripe',
    capabilities: PROVIDER_CAPABILITIES.stripe,

    createPayment: (request) =>
      call('create_payment_intent', async () => {
        const intent = await stripe.paymentIntents.create(
          {
            amount: request.amount.value,
            currency: request.amount.currency.toLowerCase(),
            capture_method: request.captureMethod === 'manual' ? 'manual' : 'automatic',
            description: request.description,
            automatic_payment_methods: { enabled: true },
            metadata: { skerry_payment_id: request.paymentId, skerry_reference: request.reference },
          },
          { idempotencyKey: request.idempotencyKey },
        );
        return snapshotFromIntent(intent);
      }),

    getPayment: (providerReference) =>
      call('retrieve_payment_intent', async () => snapshot(await stripe.paymentIntents.retrieve(providerReference))),

    capturePayment: async ({ providerReference, amount, idempotencyKey }) => {
      try {
        const intent = await stripe.paymentIntents.capture(providerReference, { amount_to_capture: amount }, { idempotencyKey });
        return snapshotFromIntent(intent);
      } catch (err) {
        return settledOrThrow('capture_payment_intent', providerReference, err);
      }
    },

    cancelPayment: async ({ providerReference, idempotencyKey, reason }) => {
      try {
        const intent = await stripe.paymentIntents.cancel(
          providerReference,
          { cancellation_reason: reason === 'expired' ? 'abandoned' : 'requested_by_customer' },
          { idempotencyKey },
        );
        return snapshotFromIntent(intent);
      } catch (err) {
        return settledOrThrow('cancel_payment_intent', providerReference, err);
      }
    },

    // The cheapest authenticated read Stripe has: the circuit breaker's health check.
    healthCheck: () => call('retrieve_balance', () => stripe.balance.retrieve()),

    refundPayment: ({ providerReference, amount, idempotencyKey, reason }) =>
      call('create_refund', async () => {
        const refund = await stripe.refunds.create(
          { payment_intent: providerReference, amount, reason: 'requested_by_customer', metadata: reason ? { skerry_reason: reason } : undefined },
          { idempotencyKey },
        );
        return refundObservation(refund);
      }),

    listTransactions: (request) => call('list_balance_transactions', () => listStripeTransactions(stripe, request)),
  };
}
