// The MobilePay adapter's production code path (createMobilePayClient) against the ePayment sandbox,
// with a webhook receiver that verifies every delivery with the adapter's own verifier. Waits are on
// conditions (the flush endpoint, a received event), never sleeps.
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import type { MobilePaySandbox } from '../../sandbox/mobilepay/sandbox';
import { createMobilePayApi } from '../../providers/mobilepay/api';
import { createMobilePayClient } from '../../providers/mobilepay/client';
import { type MobilePayClientOptions } from '../../providers/mobilepay/api';
import { createMobilePayWebhookVerifier, EPAYMENT_EVENT_TYPES, type EPaymentWebhookEvent } from '../../providers/mobilepay/webhooks';
import { ProviderError } from '../../providers/errors';
import type { CreateProviderPaymentRequest, PaymentProviderClient } from '../../providers/types';
import type { VerifiedWebhookEvent } from '../../domain/webhooks';

const CREDENTIALS = {
  clientId: 'unit-client-id',
  clientSecret: 'unit-client-secret',
  subscriptionKey: 'unit-subscription-key',
  merchantSerialNumber: '223344',
};
const STATIC_SECRET = 'unit-static-webhook-secret';
const HOUR_MS = 3_600_000;
const MARGIN_MS = 5 * 60_000;

interface Delivery {
  path: string;
  event: VerifiedWebhookEvent;
}

/** The Skerry side of webhooks: verifies each delivery with the adapter's verifier. */
class Receiver {
  readonly app: FastifyInstance = Fastify();
  readonly accepted: Delivery[] = [];
  readonly rejected: string[] = [];
  registeredSecret = '';
  base = '';
  #waiters = new Set<() => void>();

  async start(): Promise<void> {
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const route = (path: string, secrets: () => string[]) => {
      const verifier = createMobilePayWebhookVerifier({ secrets, toleranceSeconds: 300 });
      this.app.post(path, async (request, reply) => {
        try {
          const events = await verifier.verify({ rawBody: request.body as Buffer, headers: request.headers, url: request.url });
          for (const event of events) this.accepted.push({ path, event });
          for (const waiter of this.#waiters) waiter();
          return reply.code(200).send({ received: events.length });
        } catch (err) {
          this.rejected.push(`${path}: ${(err as Error).message}`);
          return reply.code(400).send({ error: (err as Error).message });
        }
      });
    };
    route('/webhooks/mobilepay', () => [STATIC_SECRET]);
    route('/registered', () => [this.registeredSecret]);
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.base = `http://127.0.0.1:${(this.app.server.address() as AddressInfo).port}`;
  }

  clear(): void {
    this.accepted.length = 0;
    this.rejected.length = 0;
  }

  for(reference: string, path = '/webhooks/mobilepay'): VerifiedWebhookEvent[] {
    return this.accepted.filter((d) => d.path === path && d.event.providerReference === reference).map((d) => d.event);
  }

  names(reference: string, path?: string): string[] {
    return this.for(reference, path).map((event) => (event.payload as EPaymentWebhookEvent).name);
  }

  /** Resolves when an accepted event satisfies `predicate` (event-driven, no polling). */
  waitFor(predicate: (delivery: Delivery) => boolean): Promise<void> {
    if (this.accepted.some(predicate)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!this.accepted.some(predicate)) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }
}

let sandboxApp: FastifyInstance;
let sandbox: MobilePaySandbox;
let receiver: Receiver;
let base = '';
let sandboxSkewMs = 0;
let clientSkewMs = 0;
let client: PaymentProviderClient;
let counter = 0;

const clientOptions = (overrides: Partial<MobilePayClientOptions> = {}): MobilePayClientOptions => ({
  ...CREDENTIALS,
  apiBase: `${base}/mobilepay`,
  returnUrl: 'https://shop.example/return/{paymentId}?ref={reference}',
  tokenRefreshMarginMs: MARGIN_MS,
  now: () => Date.now() + clientSkewMs,
  ...overrides,
});

function newPaymentId(): string {
  counter += 1;
  return `pay_${counter.toString(16).padStart(6, '0')}${Math.random().toString(16).slice(2, 20).padEnd(18, '0')}`;
}

function request(overrides: Partial<CreateProviderPaymentRequest> = {}): CreateProviderPaymentRequest {
  const paymentId = overrides.paymentId ?? newPaymentId();
  return {
    paymentId,
    amount: { value: 1_000, currency: 'NOK' },
    reference: 'booking-4711',
    description: 'Cabin 3, 2 nights',
    captureMethod: 'manual',
    idempotencyKey: `skerry-${paymentId}-create`,
    ...overrides,
  };
}

async function control<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}/mobilepay/_control${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function flush(): Promise<void> {
  const result = await control<{ drained: boolean }>('POST', '/webhooks/flush', { timeoutMs: 15_000 });
  expect(result.body.drained).toBe(true);
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** Creates a payment and lets the user approve it in the app. */
async function authorized(value = 1_000): Promise<string> {
  const created = await client.createPayment(request({ amount: { value, currency: 'NOK' } }));
  expect((await control('POST', `/payments/${created.providerReference}/succeed`)).status).toBe(200);
  return created.providerReference;
}

beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  sandboxApp = await buildSandbox({
    logger: false,
    stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' },
    mobilepay: {
      credentials: [CREDENTIALS],
      webhookUrl: `${receiver.base}/webhooks/mobilepay`,
      webhookSecret: STATIC_SECRET,
      seed: 11,
      now: () => Date.now() + sandboxSkewMs,
      webhooks: { initialDelayMs: 20, maxDelayMs: 200 },
    },
  });
  await sandboxApp.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(sandboxApp.server.address() as AddressInfo).port}`;
  sandbox = sandboxHandles(sandboxApp).mobilepay;
});

afterAll(async () => {
  await sandboxApp?.close();
  await receiver?.app.close();
});

beforeEach(async () => {
  sandboxSkewMs = 0;
  clientSkewMs = 0;
  await control('DELETE', '/faults');
  await control('POST', '/webhooks/flush', { timeoutMs: 5_000, expedite: true });
  await control('POST', '/reset');
  receiver.clear();
  client = createMobilePayClient(clientOptions());
});

describe('MobilePay sandbox: access tokens', () => {
  it('fetches one token for 20 concurrent calls and refreshes it before it expires', async () => {
    const created = await Promise.all(Array.from({ length: 20 }, () => client.createPayment(request())));
    expect(new Set(created.map((p) => p.providerReference)).size).toBe(20);
    expect(sandbox.state().counts.tokensIssued).toBe(1);

    // Not yet within the refresh margin: the cached token is used. A minute short of it, so a
    // loaded machine's slow first calls cannot carry the clock into the margin.
    clientSkewMs = HOUR_MS - MARGIN_MS - 60_000;
    await Promise.all(created.slice(0, 5).map((p) => client.getPayment(p.providerReference)));
    expect(sandbox.state().counts.tokensIssued).toBe(1);

    // Inside the margin: 20 concurrent callers, one refresh, before the sandbox would refuse the token.
    clientSkewMs = HOUR_MS - MARGIN_MS + 60_000;
    await Promise.all(created.map((p) => client.getPayment(p.providerReference)));
    expect(sandbox.state().counts.tokensIssued).toBe(2);
    expect(sandbox.state().counts.activeTokens).toBe(2);
  });

  it('sends the four headers for a token and uses it with the subscription key and MSN', async () => {
    await client.createPayment(request());
    const [tokenCall, createCall] = sandbox.state().recentRequests;
    expect(tokenCall).toMatchObject({ method: 'POST', path: '/accesstoken/get', merchantSerialNumber: '223344' });
    expect(createCall).toMatchObject({ method: 'POST', path: '/epayment/v1/payments', merchantSerialNumber: '223344' });
    for (const call of [tokenCall, createCall]) {
      expect(call!.system).toEqual({ name: 'skerry', version: '0.1.0', pluginName: 'skerry-mobilepay', pluginVersion: '1.0.0' });
    }
  });

  it('fetches a new token once when the API rejects the cached one (expired or revoked)', async () => {
    const { providerReference } = await client.createPayment(request());
    await flush();
    // The sandbox's clock passes the token's expiry while the client still trusts it.
    sandboxSkewMs = HOUR_MS + 1_000;
    expect((await client.getPayment(providerReference)).status).toBe('created');
    expect(sandbox.state().counts.tokensIssued).toBe(2);
    sandboxSkewMs = 0;

    await control('POST', '/tokens/revoke');
    expect((await client.getPayment(providerReference)).status).toBe('created');
    expect(sandbox.state().counts.tokensIssued).toBe(3);
  });

  it('classifies refused credentials as an authentication failure', async () => {
    const wrong = createMobilePayClient(clientOptions({ clientSecret: 'nope' }));
    const error = await failure(wrong.getPayment('pay-doesnotmatter'));
    expect(error).toMatchObject({ operation: 'access_token', kind: 'authentication', retryable: false, details: { httpStatus: 401 } });
    const noMsn = createMobilePayClient(clientOptions({ merchantSerialNumber: '' }));
    expect(await failure(noMsn.getPayment('pay-doesnotmatter'))).toMatchObject({ kind: 'validation', details: { httpStatus: 400 } });
  });
});

describe('MobilePay sandbox: payments', () => {
  it('creates a WEB_REDIRECT payment and answers the redirect URL', async () => {
    const req = request();
    const created = await client.createPayment(req);
    const reference = req.paymentId.replace('_', '-');
    expect(created).toMatchObject({ providerReference: reference, status: 'created', providerStatus: 'CREATED', amountCaptured: 0 });
    expect(created.nextAction).toMatchObject({ type: 'redirect' });
    const landing = await fetch((created.nextAction as { url: string }).url);
    expect(landing.status).toBe(200);
    expect(await landing.json()).toMatchObject({ reference, state: 'CREATED', amount: { value: 1_000, currency: 'NOK' } });

    const call = sandbox.state().recentRequests.find((r) => r.path === '/epayment/v1/payments')!;
    expect(call.idempotencyKey).toBe(req.idempotencyKey);
    expect(call.body).toEqual({
      amount: { value: 1_000, currency: 'NOK' },
      paymentMethod: { type: 'WALLET' },
      reference,
      returnUrl: `https://shop.example/return/${req.paymentId}?ref=${reference}`,
      userFlow: 'WEB_REDIRECT',
      paymentDescription: 'Cabin 3, 2 nights',
      metadata: { skerryPaymentId: req.paymentId, skerryReference: 'booking-4711' },
    });
    expect(await client.getPayment(reference)).toMatchObject({ status: 'created', nextAction: created.nextAction });

    await flush();
    const [event] = receiver.for(reference);
    expect(event).toMatchObject({ eventType: 'epayments.payment.created.v1', paymentId: req.paymentId, delivery: 'observation', observation: { status: 'created' } });
  });

  it('authorizes, captures part, then the rest, with signed webhooks for each step', async () => {
    const reference = await authorized(1_000);
    expect(await client.getPayment(reference)).toMatchObject({ status: 'requires_capture', providerStatus: 'AUTHORIZED', amountAuthorized: 1_000 });

    const first = await client.capturePayment({ providerReference: reference, amount: 400, idempotencyKey: 'skerry-cap-1' });
    expect(first).toMatchObject({ status: 'succeeded', amountCaptured: 400, providerStatus: 'AUTHORIZED' });
    // A retried capture replays its first answer: nothing is captured twice.
    expect(await client.capturePayment({ providerReference: reference, amount: 400, idempotencyKey: 'skerry-cap-1' })).toMatchObject({ amountCaptured: 400 });
    const rest = await client.capturePayment({ providerReference: reference, amount: 600, idempotencyKey: 'skerry-cap-2' });
    expect(rest).toMatchObject({ status: 'succeeded', amountCaptured: 1_000 });
    expect(sandbox.state().counts.captures).toBe(2);

    const tooMuch = await failure(client.capturePayment({ providerReference: reference, amount: 1, idempotencyKey: 'skerry-cap-3' }));
    expect(tooMuch).toMatchObject({ kind: 'validation', retryable: false, details: { httpStatus: 400 } });
    expect(tooMuch.message).toMatch(/exceeds the capturable amount 0/);

    await flush();
    expect(receiver.rejected).toEqual([]);
    expect(receiver.names(reference)).toEqual(['CREATED', 'AUTHORIZED', 'CAPTURED', 'CAPTURED']);
    const [, auth, cap1, cap2] = receiver.for(reference);
    expect(auth).toMatchObject({ delivery: 'observation', observation: { status: 'requires_capture', amountAuthorized: 1_000 } });
    expect(cap1).toMatchObject({ delivery: 'hint', eventType: 'epayments.payment.captured.v1' });
    expect((cap1!.payload as EPaymentWebhookEvent).idempotencyKey).toBe('skerry-cap-1');
    expect(cap1!.eventId).not.toBe(cap2!.eventId);
  });

  it('cancels before authorization (TERMINATED) and after it (the reservation is released)', async () => {
    const created = await client.createPayment(request());
    const terminated = await client.cancelPayment({ providerReference: created.providerReference, idempotencyKey: 'skerry-c-1', reason: 'requested' });
    expect(terminated).toMatchObject({ status: 'canceled', providerStatus: 'TERMINATED' });

    const reference = await authorized();
    const released = await client.cancelPayment({ providerReference: reference, idempotencyKey: 'skerry-c-2', reason: 'requested' });
    expect(released).toMatchObject({ status: 'canceled', providerStatus: 'AUTHORIZED', amountCaptured: 0 });

    // A partial capture then a cancel of the rest: the payment stays succeeded.
    const partial = await authorized();
    await client.capturePayment({ providerReference: partial, amount: 300, idempotencyKey: 'skerry-c-3' });
    expect(await client.cancelPayment({ providerReference: partial, idempotencyKey: 'skerry-c-4', reason: 'requested' })).toMatchObject({
      status: 'succeeded',
      amountCaptured: 300,
    });
    // Nothing left to cancel: the payment as it is, not an error.
    expect(await client.cancelPayment({ providerReference: partial, idempotencyKey: 'skerry-c-5', reason: 'requested' })).toMatchObject({ status: 'succeeded' });

    await flush();
    expect(receiver.for(created.providerReference).at(-1)).toMatchObject({ delivery: 'observation', observation: { status: 'canceled' } });
    expect(receiver.names(reference)).toEqual(['CREATED', 'AUTHORIZED', 'CANCELLED']);
    expect(receiver.for(reference).at(-1)).toMatchObject({ delivery: 'hint' });
    expect(receiver.names(partial)).toEqual(['CREATED', 'AUTHORIZED', 'CAPTURED', 'CANCELLED']);
  });

  it('expires an unfinished payment with cancelTransactionOnly, and answers an already final one as it is', async () => {
    const created = await client.createPayment(request());
    const expiredByUs = await client.cancelPayment({ providerReference: created.providerReference, idempotencyKey: 'skerry-x-cancel', reason: 'expired' });
    expect(expiredByUs).toMatchObject({ status: 'canceled', providerStatus: 'TERMINATED' });
    const cancelCall = sandbox.state().recentRequests.find((r) => r.path.endsWith('/cancel'))!;
    expect(cancelCall).toMatchObject({ idempotencyKey: 'skerry-x-cancel-txonly', body: { cancelTransactionOnly: true } });

    // An authorization whose hold ran out is released.
    const held = await authorized();
    expect(await client.cancelPayment({ providerReference: held, idempotencyKey: 'skerry-y-cancel', reason: 'expired' })).toMatchObject({ status: 'canceled' });

    const other = await client.createPayment(request());
    await control('POST', `/payments/${other.providerReference}/abandon`);
    for (const reason of ['expired', 'requested'] as const) {
      expect(await client.cancelPayment({ providerReference: other.providerReference, idempotencyKey: `skerry-z-${reason}`, reason })).toMatchObject({
        status: 'expired',
      });
    }
  });

  it('refunds part and then the rest; the refund id is the Idempotency-Key the webhook carries back', async () => {
    const reference = await authorized(1_000);
    await client.capturePayment({ providerReference: reference, amount: 1_000, idempotencyKey: 'skerry-r-capture-1' });

    const first = await client.refundPayment({ providerReference: reference, amount: 300, currency: 'NOK', idempotencyKey: 'skerry-r-refund-1' });
    expect(first).toEqual({ refundId: 'skerry-r-refund-1', amount: 300, status: 'succeeded' });
    // Retried: replayed, not refunded twice.
    await client.refundPayment({ providerReference: reference, amount: 300, currency: 'NOK', idempotencyKey: 'skerry-r-refund-1' });
    expect(await client.getPayment(reference)).toMatchObject({ status: 'succeeded', amountCaptured: 1_000, amountRefunded: 300 });

    const rest = await client.refundPayment({ providerReference: reference, amount: 700, currency: 'NOK', idempotencyKey: 'skerry-r-refund-2' });
    expect(rest.refundId).toBe('skerry-r-refund-2');
    expect(await client.getPayment(reference)).toMatchObject({ amountRefunded: 1_000 });
    expect(sandbox.state().counts.refunds).toBe(2);

    const over = await failure(client.refundPayment({ providerReference: reference, amount: 1, currency: 'NOK', idempotencyKey: 'skerry-r-refund-3' }));
    expect(over).toMatchObject({ kind: 'validation', details: { httpStatus: 400 } });

    await flush();
    const refunds = receiver.for(reference).filter((e) => e.eventType === 'epayments.payment.refunded.v1');
    expect(refunds.map((e) => e.observation?.refund)).toEqual([
      { refundId: 'skerry-r-refund-1', amount: 300, status: 'succeeded' },
      { refundId: 'skerry-r-refund-2', amount: 700, status: 'succeeded' },
    ]);
  });

  it('maps a user abort to failed and an abandoned payment to expired', async () => {
    const aborted = await client.createPayment(request());
    await control('POST', `/payments/${aborted.providerReference}/fail`);
    expect(await client.getPayment(aborted.providerReference)).toMatchObject({ status: 'failed', providerStatus: 'ABORTED', failureReason: 'aborted by user' });

    const abandoned = await client.createPayment(request());
    await control('POST', `/payments/${abandoned.providerReference}/abandon`);
    expect(await client.getPayment(abandoned.providerReference)).toMatchObject({ status: 'expired', providerStatus: 'EXPIRED' });
    expect((await control('POST', `/payments/${abandoned.providerReference}/succeed`)).status).toBe(409);

    // Expiry on a timer: wait for its webhook, not for the clock.
    const later = await client.createPayment(request());
    const marked = await control<{ state: string; sandbox: { expiresAt: string } }>('POST', `/payments/${later.providerReference}/abandon`, { afterMs: 5 });
    expect(marked.body).toMatchObject({ state: 'CREATED' });
    expect(marked.body.sandbox.expiresAt).toEqual(expect.any(String));
    await receiver.waitFor((d) => d.event.eventId.startsWith(`${later.providerReference}:EXPIRED:`));
    expect(await client.getPayment(later.providerReference)).toMatchObject({ status: 'expired' });

    await flush();
    expect(receiver.for(aborted.providerReference).at(-1)).toMatchObject({ observation: { status: 'failed', failureReason: 'aborted by user' } });
    expect(receiver.for(abandoned.providerReference).at(-1)).toMatchObject({ observation: { status: 'expired' } });
  });

  it('creates idempotently, adopts its own reference, and refuses a different payment under it', async () => {
    const req = request();
    const first = await client.createPayment(req);
    const again = await client.createPayment(req);
    expect(again).toEqual(first);
    expect(sandbox.state().payments).toHaveLength(1);
    expect(sandbox.state().counts.created).toBe(1);

    // Another key for the same payment (the provider forgot the first one): the existing payment.
    const adopted = await client.createPayment({ ...req, idempotencyKey: `${req.idempotencyKey}-again` });
    expect(adopted).toMatchObject({ providerReference: first.providerReference, status: 'created', nextAction: { type: 'redirect' } });
    // Same key, different body: refused.
    const mismatch = await failure(client.createPayment({ ...req, amount: { value: 2_000, currency: 'NOK' } }));
    expect(mismatch).toMatchObject({ kind: 'conflict', details: { httpStatus: 409 } });
    expect(mismatch.message).toMatch(/already used with a different request body/);
    // Another key and another amount under the same reference: a conflict, not an adoption.
    const other = await failure(client.createPayment({ ...req, amount: { value: 2_000, currency: 'NOK' }, idempotencyKey: 'other-key' }));
    expect(other.message).toMatch(/already exists/);
    expect(sandbox.state().payments).toHaveLength(1);
  });
});

describe('MobilePay sandbox: errors and faults', () => {
  it('classifies problem JSON answers', async () => {
    const sek = await failure(client.createPayment(request({ amount: { value: 1_000, currency: 'SEK' } })));
    expect(sek).toMatchObject({ kind: 'validation', retryable: false, operation: 'create_payment', details: { httpStatus: 400 } });
    expect(sek.message).toMatch(/amount\.currency: must be NOK, DKK or EUR/);
    expect(sek.details.code).toMatch(/#validation-error$/);

    expect(await failure(client.getPayment('pay-nosuchpayment'))).toMatchObject({ kind: 'not_found', details: { httpStatus: 404 } });

    const created = await client.createPayment(request());
    const early = await failure(client.capturePayment({ providerReference: created.providerReference, amount: 100, idempotencyKey: 'k-early' }));
    expect(early).toMatchObject({ kind: 'conflict', details: { httpStatus: 409 } });
    expect(early.message).toMatch(/only an AUTHORIZED payment can be captured/);
    // The refused capture was not saved under its key: once authorized, the same key captures.
    await control('POST', `/payments/${created.providerReference}/succeed`);
    expect(await client.capturePayment({ providerReference: created.providerReference, amount: 100, idempotencyKey: 'k-early' })).toMatchObject({ amountCaptured: 100 });
  });

  it('answers 429 with Retry-After, classified as rate_limited with the delay', async () => {
    const created = await client.createPayment(request());
    await control('POST', '/faults', { rateLimitRate: 1, retryAfterSeconds: 7 });
    const limited = await failure(client.getPayment(created.providerReference));
    expect(limited).toMatchObject({ kind: 'rate_limited', retryable: true, details: { httpStatus: 429, retryAfterMs: 7_000 } });
    // The token endpoint is behind the same limits.
    const fresh = createMobilePayClient(clientOptions());
    expect(await failure(fresh.getPayment(created.providerReference))).toMatchObject({ operation: 'access_token', kind: 'rate_limited', details: { retryAfterMs: 7_000 } });
  });

  it('classifies server errors and dropped connections as retryable; a stored 500 replays under its key', async () => {
    const reference = await authorized();
    await control('POST', '/faults', { errorRate: 1, seed: 1 });
    const down = await failure(client.capturePayment({ providerReference: reference, amount: 100, idempotencyKey: 'k-500' }));
    expect(down).toMatchObject({ kind: 'unavailable', retryable: true, details: { httpStatus: 500 } });
    await control('DELETE', '/faults');
    // The injected 500 "ran" and was saved under the key, as providers do.
    expect(await failure(client.capturePayment({ providerReference: reference, amount: 100, idempotencyKey: 'k-500' }))).toMatchObject({ details: { httpStatus: 500 } });
    expect(sandbox.state().counts.captures).toBe(0);

    await control('POST', '/faults', { timeoutRate: 1, timeoutMs: 20, timeoutPhase: 'before' });
    expect(await failure(client.getPayment(reference))).toMatchObject({ kind: 'network', retryable: true });
  });
});

describe('MobilePay sandbox: refusals as the ePayment API refuses them', () => {
  const createRaw = async (body: Record<string, unknown>) => {
    const api = createMobilePayApi(clientOptions());
    return failure(
      api.createPayment(
        { amount: { value: 1_000, currency: 'NOK' }, paymentMethod: { type: 'WALLET' }, reference: newPaymentId().replaceAll('_', '-'), userFlow: 'WEB_REDIRECT', ...body } as never,
        `raw-${newPaymentId()}`,
      ),
    );
  };

  it('refuses an http returnUrl, except to a loopback host (what npm start uses); https and app schemes pass', async () => {
    const refused = await createRaw({ returnUrl: 'http://shop.example/return' });
    expect(refused).toMatchObject({ kind: 'validation', details: { httpStatus: 400 } });
    expect(refused.message).toMatch(/returnUrl: must use https \(or an app scheme\)/);
    // Through the adapter: the same refusal, naming the field.
    const viaClient = await failure(createMobilePayClient(clientOptions({ returnUrl: 'http://shop.example/return/{paymentId}' })).createPayment(request()));
    expect(viaClient).toMatchObject({ kind: 'validation' });
    expect(viaClient.message).toMatch(/returnUrl/);

    for (const returnUrl of ['http://127.0.0.1:3000/payments/{paymentId}/return', 'http://localhost:3000/r/{paymentId}', 'myapp://return/{paymentId}']) {
      const created = await createMobilePayClient(clientOptions({ returnUrl })).createPayment(request());
      expect(created.status, returnUrl).toBe('created');
    }
  });

  it('refuses an invalid Norwegian phone number; Skerry refuses it first, naming the number', async () => {
    const refused = await createRaw({ returnUrl: 'https://shop.example/r', customer: { phoneNumber: '47123456789' } });
    expect(refused).toMatchObject({ kind: 'validation', details: { httpStatus: 400 } });
    expect(refused.message).toMatch(/customer\.phoneNumber: is not a valid Norwegian mobile number/);
    expect((await createRaw({ returnUrl: 'https://shop.example/r', customer: { phoneNumber: '+4712345678' } })).message).toMatch(/customer\.phoneNumber: must be an MSISDN/);

    const viaClient = await failure(client.createPayment(request({ payer: { alias: '+47 123 45 6789' } })));
    expect(viaClient).toMatchObject({ kind: 'validation', provider: 'mobilepay' });
    expect(viaClient.message).toMatch(/"\+47 123 45 6789" is not a valid Norwegian number \(47 followed by 8 digits\)/);

    // Written as people write them, valid numbers are sent as MSISDNs.
    for (const alias of ['+47 123 45 678', '004512345678', '4712345678']) {
      const created = await client.createPayment(request({ payer: { alias } }));
      expect(created.status, alias).toBe('created');
    }
    const phones = sandbox.recentRequests.filter((entry) => entry.method === 'POST' && entry.path.endsWith('/epayment/v1/payments')).map((entry) => (entry.body as { customer?: { phoneNumber?: string } } | undefined)?.customer?.phoneNumber);
    expect(phones.slice(-3)).toEqual(['4712345678', '4512345678', '4712345678']);
  });
});

describe('MobilePay sandbox: Webhooks API', () => {
  it('registers a webhook whose secret signs the deliveries, lists it and deletes it', async () => {
    const api = createMobilePayApi(clientOptions());
    const registered = await api.registerWebhook({ url: `${receiver.base}/registered`, events: ['epayments.payment.authorized.v1', 'epayments.payment.captured.v1'] });
    expect(registered).toEqual({ id: expect.any(String), secret: expect.any(String) });
    receiver.registeredSecret = registered.secret;
    expect(await api.listWebhooks()).toEqual({ webhooks: [{ id: registered.id, url: `${receiver.base}/registered`, events: ['epayments.payment.authorized.v1', 'epayments.payment.captured.v1'] }] });

    const reference = await authorized();
    await client.capturePayment({ providerReference: reference, amount: 1_000, idempotencyKey: 'k-cap' });
    await flush();
    expect(receiver.rejected).toEqual([]);
    // Only the subscribed events reach the registration; the options' webhook gets all of them.
    expect(receiver.names(reference, '/registered')).toEqual(['AUTHORIZED', 'CAPTURED']);
    expect(receiver.names(reference)).toEqual(['CREATED', 'AUTHORIZED', 'CAPTURED']);

    const badEvents = await failure(api.registerWebhook({ url: `${receiver.base}/registered`, events: ['epayments.payment.nope.v1'] }));
    expect(badEvents).toMatchObject({ kind: 'validation' });
    expect(EPAYMENT_EVENT_TYPES).toHaveLength(8);

    await api.deleteWebhook(registered.id);
    expect(await api.listWebhooks()).toEqual({ webhooks: [] });
    expect(await failure(api.deleteWebhook(registered.id))).toMatchObject({ kind: 'not_found' });
  });

  it('retries failed deliveries with fresh signatures, and duplicates keep their event id', async () => {
    await control('POST', '/faults', { webhookFailureRate: 0.5, duplicateWebhooks: 1, seed: 3 });
    const reference = await authorized();
    const flushed = await control<{ drained: boolean }>('POST', '/webhooks/flush', { timeoutMs: 15_000, expedite: true });
    expect(flushed.body.drained).toBe(true);
    expect(receiver.rejected).toEqual([]);
    const events = receiver.for(reference);
    expect(events.length).toBe(4);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(2);
    expect(sandbox.state().counts.faultsInjected.webhookDuplicate).toBe(2);
  });
});

describe('MobilePay sandbox: control routes', () => {
  it('reports state, refuses unknown references and resets', async () => {
    const created = await client.createPayment(request());
    const state = await control<{ payments: { reference: string; state: string }[]; counts: { tokensIssued: number } }>('GET', '/state');
    expect(state.body.payments.map((p) => p.reference)).toEqual([created.providerReference]);
    expect(state.body.counts.tokensIssued).toBe(1);
    expect((await control('POST', '/payments/pay-unknown00/succeed')).status).toBe(404);
    expect((await control('POST', `/payments/${created.providerReference}/abandon`, { afterMs: -1 })).status).toBe(400);
    expect((await control('POST', '/faults', { errorRate: 2 })).status).toBe(400);
    await control('POST', '/reset');
    expect((await control<{ payments: unknown[] }>('GET', '/state')).body.payments).toEqual([]);
  });
});
