// The Stripe sandbox driven by the official SDK, with a webhook receiver verifying every delivery
// with the SDK's own signature check. Waits are on conditions (the flush endpoint), never sleeps.
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { WebhookQueue } from '../../sandbox/shared/webhook-queue';

const API_KEY = 'sk_test_sandbox_unit_a';
const OTHER_API_KEY = 'sk_test_sandbox_unit_b';
const WEBHOOK_SECRET = 'whsec_sandbox_unit_test_secret';

interface Received {
  id: string;
  type: string;
  event: Stripe.Event;
  raw: string;
  status: number;
}

/** A webhook endpoint that verifies signatures and can be told to fail deliveries. */
class Receiver {
  readonly received: Received[] = [];
  readonly rejectedSignatures: string[] = [];
  /** Event type → number of deliveries of that type still to answer with 500. */
  readonly failures = new Map<string, number>();
  app = Fastify();
  url = '';

  async start(): Promise<void> {
    this.app.removeContentTypeParser('application/json');
    this.app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    this.app.post('/webhooks/stripe', async (request, reply) => {
      const raw = request.body as string;
      const header = request.headers['stripe-signature'];
      let event: Stripe.Event;
      try {
        event = Stripe.webhooks.constructEvent(raw, header as string, WEBHOOK_SECRET);
      } catch (error) {
        this.rejectedSignatures.push(String(error));
        return reply.code(400).send({ error: 'bad signature' });
      }
      const remaining = this.failures.get(event.type) ?? 0;
      const status = remaining > 0 ? 500 : 200;
      if (remaining > 0) this.failures.set(event.type, remaining - 1);
      this.received.push({ id: event.id, type: event.type, event, raw, status });
      return reply.code(status).send({ received: status === 200 });
    });
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.url = `http://127.0.0.1:${(this.app.server.address() as AddressInfo).port}/webhooks/stripe`;
  }

  clear(): void {
    this.received.length = 0;
    this.rejectedSignatures.length = 0;
    this.failures.clear();
  }

  /** Accepted events about one PaymentIntent (itself or its charges/refunds), in arrival order. */
  acceptedFor(paymentIntentId: string): Received[] {
    return this.received.filter((r) => {
      if (r.status !== 200) return false;
      const object = r.event.data.object as { id: string; payment_intent?: string | null };
      return object.id === paymentIntentId || object.payment_intent === paymentIntentId;
    });
  }

  typesFor(paymentIntentId: string): string[] {
    return this.acceptedFor(paymentIntentId).map((r) => r.type);
  }
}

function prefixedClient(prefix: string) {
  const inner = Stripe.createNodeHttpClient();
  return {
    getClientName: () => 'skerry-prefixed',
    makeRequest: (...args: Parameters<typeof inner.makeRequest>) => {
      const [host, port, path, ...rest] = args;
      return inner.makeRequest(host, port, prefix + path, ...rest);
    },
  };
}

function stripeClient(port: number, apiKey = API_KEY, timeout?: number): Stripe {
  return new Stripe(apiKey, {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    maxNetworkRetries: 0,
    httpClient: prefixedClient('/stripe'),
    ...(timeout ? { timeout } : {}),
  });
}

let sandbox: FastifyInstance;
let receiver: Receiver;
let stripe: Stripe;
let base = '';
let port = 0;

async function control<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}/stripe/_control${path}`, {
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

async function expectStripeError<T extends abstract new (...args: never[]) => Error>(promise: Promise<unknown>, type: T): Promise<InstanceType<T>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as InstanceType<T>;
}

beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  sandbox = await buildSandbox({
    logger: false,
    stripe: { webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET, apiKeys: [API_KEY, OTHER_API_KEY], seed: 42 },
  });
  await sandbox.listen({ host: '127.0.0.1', port: 0 });
  port = (sandbox.server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  stripe = stripeClient(port);
});

afterAll(async () => {
  await sandbox?.close();
  await receiver?.app.close();
});

beforeEach(async () => {
  await control('POST', '/webhooks/flush', { timeoutMs: 5_000, expedite: true });
  await control('POST', '/reset');
  receiver.clear();
});

describe('Stripe sandbox: server', () => {
  it('answers /health and refuses calls without a valid secret key', async () => {
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);

    const missing = await fetch(`${base}/stripe/v1/payment_intents`);
    expect(missing.status).toBe(401);
    const body = (await missing.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/did not provide an API key/);

    const wrong = stripeClient(port, 'sk_test_not_accepted');
    const error = await expectStripeError(wrong.paymentIntents.list(), Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
  });
});

describe('Stripe sandbox: PaymentIntents', () => {
  it('creates, retrieves and lists a PaymentIntent', async () => {
    const created = await stripe.paymentIntents.create({
      amount: 12_500,
      currency: 'sek',
      capture_method: 'automatic',
      description: 'Kayak tour',
      metadata: { skerry_payment_id: 'pay_123' },
      allowed_payment_method_types: ['card'],
    });
    expect(created.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
    expect(created.object).toBe('payment_intent');
    expect(created.status).toBe('requires_payment_method');
    expect(created.client_secret).toMatch(new RegExp(`^${created.id}_secret_[A-Za-z0-9]+$`));
    expect(created.metadata).toEqual({ skerry_payment_id: 'pay_123' });
    expect(created.allowed_payment_method_types).toEqual(['card']);
    expect(created.payment_method_types).toEqual(['card']);
    expect(created.amount_received).toBe(0);
    expect(created.latest_charge).toBeNull();
    expect(created.livemode).toBe(false);

    const retrieved = await stripe.paymentIntents.retrieve(created.id);
    expect(retrieved).toEqual(created);
    expect(retrieved.lastResponse.headers['request-id']).toMatch(/^req_/);

    const list = await stripe.paymentIntents.list({ limit: 10 });
    expect(list.data.map((pi) => pi.id)).toEqual([created.id]);
    expect(list.has_more).toBe(false);

    const missing = await expectStripeError(stripe.paymentIntents.retrieve('pi_doesnotexist'), Stripe.errors.StripeInvalidRequestError);
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');

    const invalid = await expectStripeError(stripe.paymentIntents.create({ amount: 0, currency: 'sek' }), Stripe.errors.StripeInvalidRequestError);
    expect(invalid.param).toBe('amount');
  });

  it('succeeds with automatic capture and delivers signed webhooks in order', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek', metadata: { skerry_payment_id: 'pay_1' } });
    const succeeded = await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/succeed`);
    expect(succeeded.status).toBe(200);
    expect(succeeded.body.status).toBe('succeeded');
    await flush();

    expect(receiver.rejectedSignatures).toEqual([]);
    expect(receiver.typesFor(pi.id)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
    const last = receiver.acceptedFor(pi.id).at(-1)!;
    expect(last.event.object).toBe('event');
    expect(last.event.livemode).toBe(false);
    expect(last.event.api_version).toBe(Stripe.API_VERSION);
    expect((last.event.data.object as Stripe.PaymentIntent).metadata.skerry_payment_id).toBe('pay_1');
    // The body is sent exactly as signed: pretty-printed JSON.
    expect(last.raw).toBe(JSON.stringify(last.event, null, 2));

    const after = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    expect(after.status).toBe('succeeded');
    expect(after.amount_received).toBe(5_000);
    const charge = after.latest_charge as Stripe.Charge;
    expect(charge.captured).toBe(true);
    expect(charge.amount_captured).toBe(5_000);
    expect(charge.balance_transaction).toMatch(/^txn_/);

    const event = await stripe.events.retrieve(last.id);
    expect(event.type).toBe('payment_intent.succeeded');
    expect(event.pending_webhooks).toBe(0);

    const state = await control<{ webhooks: { delivered: number; pending: number; failures: number } }>('GET', '/state');
    expect(state.body.webhooks).toMatchObject({ delivered: 3, pending: 0, failures: 0 });
  });

  it('passes through processing when asked', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    const held = await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/succeed`, { via: 'processing', settle: false });
    expect(held.body.status).toBe('processing');
    const done = await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/succeed`);
    expect(done.body.status).toBe('succeeded');
    await flush();
    expect(receiver.typesFor(pi.id)).toEqual(['payment_intent.created', 'payment_intent.processing', 'charge.succeeded', 'payment_intent.succeeded']);
  });

  it('holds with manual capture and captures part of it', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 10_000, currency: 'sek', capture_method: 'manual' });
    const held = await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/succeed`);
    expect(held.body.status).toBe('requires_capture');
    expect(held.body.amount_capturable).toBe(10_000);

    const tooMuch = await expectStripeError(stripe.paymentIntents.capture(pi.id, { amount_to_capture: 10_001 }), Stripe.errors.StripeInvalidRequestError);
    expect(tooMuch.param).toBe('amount_to_capture');

    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 6_000 });
    expect(captured.status).toBe('succeeded');
    expect(captured.amount_received).toBe(6_000);
    expect(captured.amount_capturable).toBe(0);
    const charge = await stripe.charges.retrieve(captured.latest_charge as string);
    expect(charge).toMatchObject({ amount: 10_000, amount_captured: 6_000, amount_refunded: 0, captured: true, refunded: false });
    const txn = await stripe.balanceTransactions.retrieve(charge.balance_transaction as string);
    expect(txn.amount).toBe(6_000);
    expect(txn.net).toBe(6_000 - txn.fee);

    const again = await expectStripeError(stripe.paymentIntents.capture(pi.id), Stripe.errors.StripeInvalidRequestError);
    expect(again.code).toBe('payment_intent_unexpected_state');

    await flush();
    expect(receiver.typesFor(pi.id)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'charge.captured',
      'payment_intent.succeeded',
    ]);
  });

  it('declines a card: back to requires_payment_method, and the customer can retry', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    const failed = await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/fail`);
    expect(failed.body.status).toBe('requires_payment_method');
    expect(failed.body.last_payment_error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
    expect(failed.body.last_payment_error?.message).toBeTruthy();

    const retried = await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/succeed`);
    expect(retried.body.status).toBe('succeeded');
    expect(retried.body.last_payment_error).toBeNull();
    await flush();
    expect(receiver.typesFor(pi.id)).toEqual([
      'payment_intent.created',
      'charge.failed',
      'payment_intent.payment_failed',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
  });

  it('asks for 3-D Secure, then succeeds; refuses impossible transitions', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    const action = await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/require_action`);
    expect(action.body.status).toBe('requires_action');
    expect(action.body.next_action?.type).toBe('use_stripe_sdk');

    const done = await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/succeed`);
    expect(done.body.status).toBe('succeeded');
    await flush();
    expect(receiver.typesFor(pi.id)).toEqual(['payment_intent.created', 'payment_intent.requires_action', 'charge.succeeded', 'payment_intent.succeeded']);

    const conflict = await control<{ error: string; status: string }>('POST', `/payments/${pi.id}/require_action`);
    expect(conflict.status).toBe(409);
    expect(conflict.body.status).toBe('succeeded');
    const unknown = await control('POST', '/payments/pi_unknown/succeed');
    expect(unknown.status).toBe(404);
  });

  it('records an abandoned payment without sending anything', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    const abandoned = await control('POST', `/payments/${pi.id}/abandon`);
    expect(abandoned.status).toBe(200);
    await flush();
    expect(receiver.typesFor(pi.id)).toEqual(['payment_intent.created']);
    const state = await control<{ paymentIntents: { id: string; status: string; sandbox: { abandoned: boolean } }[] }>('GET', '/state');
    expect(state.body.paymentIntents.find((p) => p.id === pi.id)).toMatchObject({ status: 'requires_payment_method', sandbox: { abandoned: true } });
    expect((await control('POST', `/payments/${pi.id}/succeed`)).status).toBe(409);
  });

  it('cancels from requires_payment_method and requires_capture, not twice', async () => {
    const open = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    const canceled = await stripe.paymentIntents.cancel(open.id, { cancellation_reason: 'requested_by_customer' });
    expect(canceled.status).toBe('canceled');
    expect(canceled.cancellation_reason).toBe('requested_by_customer');
    expect(canceled.canceled_at).toBeGreaterThan(0);
    const twice = await expectStripeError(stripe.paymentIntents.cancel(open.id), Stripe.errors.StripeInvalidRequestError);
    expect(twice.code).toBe('payment_intent_unexpected_state');

    const hold = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek', capture_method: 'manual' });
    await control('POST', `/payments/${hold.id}/succeed`);
    const released = await stripe.paymentIntents.cancel(hold.id);
    expect(released.status).toBe('canceled');
    expect(released.amount_capturable).toBe(0);
    const charge = await stripe.charges.retrieve(released.latest_charge as string);
    expect(charge).toMatchObject({ captured: false, amount_captured: 0, refunded: false, amount_refunded: 0 });

    await flush();
    expect(receiver.typesFor(open.id)).toEqual(['payment_intent.created', 'payment_intent.canceled']);
    expect(receiver.typesFor(hold.id).at(-1)).toBe('payment_intent.canceled');
  });

  it('confirms server-side with Stripe test payment methods', async () => {
    const ok = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek', payment_method: 'pm_card_visa', confirm: true });
    expect(ok.status).toBe('succeeded');

    const declined = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    const error = await expectStripeError(
      stripe.paymentIntents.confirm(declined.id, { payment_method: 'pm_card_chargeDeclinedInsufficientFunds' }),
      Stripe.errors.StripeCardError,
    );
    expect(error.statusCode).toBe(402);
    expect(error.decline_code).toBe('insufficient_funds');
    expect(error.payment_intent?.status).toBe('requires_payment_method');

    const threeDs = await stripe.paymentIntents.confirm(declined.id, { payment_method: 'pm_card_threeDSecure2Required' });
    expect(threeDs.status).toBe('requires_action');
  });
});

describe('Stripe sandbox: refunds', () => {
  async function paid(amount: number): Promise<Stripe.PaymentIntent> {
    const pi = await stripe.paymentIntents.create({ amount, currency: 'sek' });
    return (await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/succeed`)).body;
  }

  it('refunds partially, then the rest; then refuses', async () => {
    const pi = await paid(10_000);
    const first = await stripe.refunds.create({ payment_intent: pi.id, amount: 3_000, reason: 'requested_by_customer', metadata: { skerry_refund_id: 'r1' } });
    expect(first).toMatchObject({ object: 'refund', amount: 3_000, status: 'succeeded', payment_intent: pi.id, charge: pi.latest_charge });
    expect(first.id).toMatch(/^re_/);

    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest.amount).toBe(7_000);

    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 10_000, refunded: true });

    const already = await expectStripeError(stripe.refunds.create({ payment_intent: pi.id, amount: 1 }), Stripe.errors.StripeInvalidRequestError);
    expect(already.code).toBe('charge_already_refunded');

    const list = await stripe.refunds.list({ payment_intent: pi.id });
    expect(list.data.map((r) => r.id)).toEqual([rest.id, first.id]);
    expect((await stripe.refunds.retrieve(first.id)).metadata).toEqual({ skerry_refund_id: 'r1' });

    await flush();
    const refundedEvents = receiver.acceptedFor(pi.id).filter((r) => r.type === 'charge.refunded');
    expect(refundedEvents.map((r) => (r.event.data.object as Stripe.Charge).amount_refunded)).toEqual([3_000, 10_000]);
    expect(receiver.typesFor(pi.id).filter((t) => t === 'refund.created')).toHaveLength(2);
  });

  it('refuses a refund larger than what is left, and one for an unpaid PaymentIntent', async () => {
    const pi = await paid(5_000);
    await stripe.refunds.create({ payment_intent: pi.id, amount: 2_000 });
    const tooLarge = await expectStripeError(stripe.refunds.create({ payment_intent: pi.id, amount: 3_001 }), Stripe.errors.StripeInvalidRequestError);
    expect(tooLarge.statusCode).toBe(400);
    expect(tooLarge.code).toBe('amount_too_large');
    expect(tooLarge.param).toBe('amount');
    expect(tooLarge.rawType).toBe('invalid_request_error');

    const unpaid = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    const error = await expectStripeError(stripe.refunds.create({ payment_intent: unpaid.id }), Stripe.errors.StripeInvalidRequestError);
    expect(error.message).toMatch(/does not have a successful charge to refund/);
  });

  it('leaves refunds pending when the fault says so, settling with refund.updated', async () => {
    const pi = await paid(5_000);
    expect((await control('POST', '/faults', { refundPendingRate: 1, refundSettleMs: 600_000 })).status).toBe(200);
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 1_000 });
    expect(refund.status).toBe('pending');
    const settled = await control<Stripe.Refund>('POST', `/refunds/${refund.id}/settle`);
    expect(settled.body.status).toBe('succeeded');
    await flush();
    const updated = receiver.received.find((r) => r.type === 'refund.updated')!;
    expect(updated.event.data.previous_attributes).toEqual({ status: 'pending' });
    expect((updated.event.data.object as Stripe.Refund).status).toBe('succeeded');
  });
});

describe('Stripe sandbox: idempotency', () => {
  it('replays the same key and parameters byte for byte, refuses other parameters', async () => {
    const params = { amount: 4_200, currency: 'sek', metadata: { skerry_payment_id: 'pay_idem' } };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'create-pay_idem' });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: 'create-pay_idem' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();

    const raw = async () => {
      const response = await fetch(`${base}/stripe/v1/payment_intents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'create-pay_idem' },
        body: 'amount=4200&currency=sek&metadata[skerry_payment_id]=pay_idem',
      });
      return { text: await response.text(), headers: response.headers };
    };
    const a = await raw();
    const b = await raw();
    expect(a.text).toBe(b.text);
    expect(JSON.parse(a.text).id).toBe(first.id);
    expect(b.headers.get('original-request')).toBe(first.lastResponse.requestId);

    const mismatch = await expectStripeError(
      stripe.paymentIntents.create({ ...params, amount: 4_300 }, { idempotencyKey: 'create-pay_idem' }),
      Stripe.errors.StripeIdempotencyError,
    );
    expect(mismatch.rawType).toBe('idempotency_error');
    expect(mismatch.statusCode).toBe(400);

    // Keys are scoped per API key.
    const other = await stripeClient(port, OTHER_API_KEY).paymentIntents.create(params, { idempotencyKey: 'create-pay_idem' });
    expect(other.id).not.toBe(first.id);

    const state = await control<{ counts: { paymentIntentsCreated: number } }>('GET', '/state');
    expect(state.body.counts.paymentIntentsCreated).toBe(2);
  });

  it('replays errors too, including an injected 500', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    await control('POST', `/payments/${pi.id}/succeed`);
    const first = await expectStripeError(stripe.refunds.create({ payment_intent: pi.id, amount: 9_999 }, { idempotencyKey: 'refund-big' }), Stripe.errors.StripeInvalidRequestError);
    const replayed = await expectStripeError(stripe.refunds.create({ payment_intent: pi.id, amount: 9_999 }, { idempotencyKey: 'refund-big' }), Stripe.errors.StripeInvalidRequestError);
    expect(replayed.message).toBe(first.message);
    expect(replayed.headers?.['idempotent-replayed']).toBe('true');

    await control('POST', '/faults', { errorRate: 1 });
    const failed = await expectStripeError(stripe.refunds.create({ payment_intent: pi.id, amount: 100 }, { idempotencyKey: 'refund-500' }), Stripe.errors.StripeAPIError);
    expect(failed.statusCode).toBe(500);
    expect(failed.rawType).toBe('api_error');
    await control('DELETE', '/faults');
    const stillFailed = await expectStripeError(stripe.refunds.create({ payment_intent: pi.id, amount: 100 }, { idempotencyKey: 'refund-500' }), Stripe.errors.StripeAPIError);
    expect(stillFailed.headers?.['idempotent-replayed']).toBe('true');
    const fresh = await stripe.refunds.create({ payment_intent: pi.id, amount: 100 }, { idempotencyKey: 'refund-500-b' });
    expect(fresh.status).toBe('succeeded');
  });

  it('keeps the result of a request whose answer was lost (timeout after processing)', async () => {
    await control('POST', '/faults', { timeoutRate: 1, timeoutPhase: 'after', timeoutMs: 100 });
    const client = stripeClient(port, API_KEY, 5_000);
    await expectStripeError(client.paymentIntents.create({ amount: 5_000, currency: 'sek' }, { idempotencyKey: 'lost-answer' }), Stripe.errors.StripeConnectionError);
    await control('DELETE', '/faults');
    const retried = await client.paymentIntents.create({ amount: 5_000, currency: 'sek' }, { idempotencyKey: 'lost-answer' });
    expect(retried.lastResponse.headers['idempotent-replayed']).toBe('true');
    const state = await control<{ counts: { paymentIntentsCreated: number; faultsInjected: { timeout: number } } }>('GET', '/state');
    expect(state.body.counts.paymentIntentsCreated).toBe(1);
    expect(state.body.counts.faultsInjected.timeout).toBeGreaterThanOrEqual(1);
  });
});

describe('Stripe sandbox: faults and webhook delivery', () => {
  it('answers 429 with Retry-After on API calls only, validates settings', async () => {
    const bad = await control<{ issues: { field: string }[] }>('POST', '/faults', { rateLimitRate: 1.5 });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0]?.field).toBe('rateLimitRate');

    expect((await control('POST', '/faults', { rateLimitRate: 1, retryAfterSeconds: 7, seed: 1 })).status).toBe(200);
    expect((await control<{ rateLimitRate: number }>('GET', '/faults')).body.rateLimitRate).toBe(1);
    const error = await expectStripeError(stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' }), Stripe.errors.StripeRateLimitError);
    expect(error.statusCode).toBe(429);
    expect(error.headers?.['retry-after']).toBe('7');
    expect(error.rawType).toBe('rate_limit_error');
    // Control routes are never faulted.
    expect((await control('GET', '/state')).status).toBe(200);

    await control('DELETE', '/faults');
    const ok = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    expect(ok.status).toBe('requires_payment_method');
  });

  it('retries a webhook the receiver answered with 500', async () => {
    receiver.failures.set('payment_intent.succeeded', 1);
    const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    await control('POST', `/payments/${pi.id}/succeed`);
    await flush();

    const deliveries = receiver.received.filter((r) => r.type === 'payment_intent.succeeded');
    expect(deliveries.map((r) => r.status)).toEqual([500, 200]);
    expect(deliveries[0]!.id).toBe(deliveries[1]!.id);
    // Same bytes each time, freshly signed.
    expect(deliveries[0]!.raw).toBe(deliveries[1]!.raw);

    const webhooks = await control<{ delivered: number; attempts: number; failures: number; pending: number; recentAttempts: { outcome: string; status?: number }[] }>('GET', '/webhooks');
    expect(webhooks.body).toMatchObject({ delivered: 3, attempts: 4, failures: 1, pending: 0 });
    expect(webhooks.body.recentAttempts.filter((a) => a.outcome === 'failed').map((a) => a.status)).toEqual([500]);
  });

  it('duplicates webhooks when asked', async () => {
    await control('POST', '/faults', { duplicateWebhooks: 1, seed: 7 });
    const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    await flush();
    const created = receiver.received.filter((r) => r.type === 'payment_intent.created' && (r.event.data.object as { id: string }).id === pi.id);
    expect(created).toHaveLength(2);
    expect(created[0]!.id).toBe(created[1]!.id);
  });

  it('pages balance transactions with has_more, filters and payouts', async () => {
    const intents: Stripe.PaymentIntent[] = [];
    for (let i = 0; i < 7; i += 1) {
      const pi = await stripe.paymentIntents.create({ amount: 1_000 + i, currency: 'sek' });
      intents.push((await control<Stripe.PaymentIntent>('POST', `/payments/${pi.id}/succeed`)).body);
    }
    await stripe.refunds.create({ payment_intent: intents[0]!.id, amount: 500 });
    await stripe.refunds.create({ payment_intent: intents[1]!.id });

    const pages: Stripe.BalanceTransaction[][] = [];
    const hasMore: boolean[] = [];
    let startingAfter: string | undefined;
    for (let guard = 0; guard < 10; guard += 1) {
      const page = await stripe.balanceTransactions.list({ limit: 4, ...(startingAfter ? { starting_after: startingAfter } : {}) });
      pages.push(page.data);
      hasMore.push(page.has_more);
      if (!page.has_more) break;
      startingAfter = page.data.at(-1)!.id;
    }
    expect(pages.map((p) => p.length)).toEqual([4, 4, 1]);
    expect(hasMore).toEqual([true, true, false]);
    const all = pages.flat();
    expect(new Set(all.map((t) => t.id)).size).toBe(9);
    // Newest first: the two refunds come first.
    expect(all.slice(0, 2).map((t) => t.type)).toEqual(['refund', 'refund']);
    const refund = all.find((t) => t.type === 'refund' && t.amount === -500)!;
    expect(refund).toMatchObject({ fee: 0, net: -500, currency: 'sek' });
    const charge = all.find((t) => t.type === 'charge')!;
    expect(charge.fee).toBeGreaterThan(0);
    expect(charge.net).toBe(charge.amount - charge.fee);
    expect(charge.source).toMatch(/^ch_/);

    const refunds = await stripe.balanceTransactions.list({ type: 'refund', limit: 100 });
    expect(refunds.data).toHaveLength(2);
    const since = await stripe.balanceTransactions.list({ created: { gte: all.at(-1)!.created }, limit: 100 });
    expect(since.data).toHaveLength(9);

    const autoPaged: string[] = [];
    for await (const txn of stripe.balanceTransactions.list({ limit: 2 })) autoPaged.push(txn.id);
    expect(autoPaged).toEqual(all.map((t) => t.id));

    const payouts = await control<{ payouts: Stripe.Payout[] }>('POST', '/payouts');
    const payout = payouts.body.payouts[0]!;
    expect(payout.amount).toBe(all.reduce((sum, t) => sum + t.net, 0));
    const inPayout = await stripe.balanceTransactions.list({ payout: payout.id, limit: 100 });
    expect(inPayout.data).toHaveLength(10);
    expect(inPayout.data[0]!.type).toBe('payout');
  });

  it('keeps the result of a request a gateway answered 502 after the provider processed it', async () => {
    await control('POST', '/faults', { gatewayErrorRate: 1 });
    const client = stripeClient(port, API_KEY, 5_000);
    const raw = await fetch(`${base}/stripe/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'gateway-502' },
      body: 'amount=5000&currency=sek',
    });
    expect(raw.status).toBe(502);
    expect(raw.headers.get('content-type')).toContain('text/html');
    expect(await raw.text()).toContain('502 Bad Gateway');
    await control('DELETE', '/faults');
    const retried = await client.paymentIntents.create({ amount: 5_000, currency: 'sek' }, { idempotencyKey: 'gateway-502' });
    expect(retried.lastResponse.headers['idempotent-replayed']).toBe('true');
    const state = await control<{ counts: { paymentIntentsCreated: number; faultsInjected: { gatewayError: number } } }>('GET', '/state');
    expect(state.body.counts.paymentIntentsCreated).toBe(1);
    expect(state.body.counts.faultsInjected.gatewayError).toBe(1);
  });

  it('drops a request unanswered (timeout before processing)', async () => {
    await control('POST', '/faults', { timeoutRate: 1, timeoutPhase: 'before', timeoutMs: 50 });
    const client = stripeClient(port, API_KEY, 5_000);
    await expectStripeError(client.paymentIntents.create({ amount: 5_000, currency: 'sek' }), Stripe.errors.StripeConnectionError);
    await control('DELETE', '/faults');
    const state = await control<{ counts: { paymentIntentsCreated: number } }>('GET', '/state');
    expect(state.body.counts.paymentIntentsCreated).toBe(0);
  });

  it('retries simulated delivery failures and still delivers everything when reordered', async () => {
    await control('POST', '/faults', { webhookFailureRate: 0.5, reorderWebhooks: true, seed: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const pi = await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
      await control('POST', `/payments/${pi.id}/succeed`);
      ids.push(pi.id);
    }
    const result = await control<{ drained: boolean }>('POST', '/webhooks/flush', { timeoutMs: 30_000, expedite: true });
    expect(result.body.drained).toBe(true);
    for (const id of ids) {
      expect(new Set(receiver.typesFor(id))).toEqual(new Set(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']));
    }
    const state = await control<{ counts: { faultsInjected: { webhookFailure: number } }; webhooks: { delivered: number; failures: number; attempts: number } }>('GET', '/state');
    expect(state.body.webhooks.delivered).toBe(12);
    expect(state.body.counts.faultsInjected.webhookFailure).toBe(state.body.webhooks.failures);
    expect(state.body.webhooks.attempts).toBe(12 + state.body.webhooks.failures);
    expect(state.body.webhooks.failures).toBeGreaterThan(0);
  });

  it('resets everything', async () => {
    await stripe.paymentIntents.create({ amount: 5_000, currency: 'sek' });
    await control('POST', '/faults', { latencyMs: 1 });
    await control('POST', '/reset');
    const state = await control<{ paymentIntents: unknown[]; counts: { requests: number }; faults: object; webhooks: { pending: number } }>('GET', '/state');
    expect(state.body.paymentIntents).toEqual([]);
    expect(state.body.counts.requests).toBe(0);
    expect(state.body.faults).toEqual({});
    expect(state.body.webhooks.pending).toBe(0);
    expect(sandboxHandles(sandbox).stripe.store.events.size).toBe(0);
  });
});

describe('sandbox: lifecycle and shared webhook queue', () => {
  it('closes promptly while a request is held by a timeout fault', async () => {
    const app = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: WEBHOOK_SECRET } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const appPort = (app.server.address() as AddressInfo).port;
    const handles = sandboxHandles(app);
    handles.stripe.faults.set({ timeoutRate: 1, timeoutPhase: 'before', timeoutMs: 600_000 });
    const pending = stripeClient(appPort, 'sk_test_any_key', 600_000).paymentIntents.list();
    const outcome = pending.then(
      () => 'answered',
      () => 'failed',
    );
    // Wait (bounded) until the request has reached the sandbox and is being held.
    for (let i = 0; i < 500 && handles.stripe.faults.counts.timeout === 0; i += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      await control('GET', '/state');
    }
    expect(handles.stripe.faults.counts.timeout).toBeGreaterThan(0);
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await outcome).toBe('failed');
  });

  it('gives up on a message after the maximum age', async () => {
    const queue = new WebhookQueue({ maxAgeMs: 0, initialDelayMs: 1 });
    queue.enqueue({ id: 'evt_1', url: 'http://127.0.0.1:9/unreachable', body: '{}', headers: () => ({ 'content-type': 'application/json' }) });
    expect(await queue.flush({ timeoutMs: 10_000 })).toBe(true);
    expect(queue.stats()).toMatchObject({ delivered: 0, attempts: 1, failures: 1, gaveUp: 1, pending: 0 });
    queue.close();
  });
});
