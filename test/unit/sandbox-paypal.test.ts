// The PayPal sandbox driven by Skerry's own PayPal adapter (the production code path: the official
// SDK, its OAuth token handling, the adapter's mapping), with a webhook receiver that runs every
// delivery through the adapter's verifier, which asks the sandbox's verify-webhook-signature
// endpoint. Waits are on conditions (the flush endpoint), never sleeps.
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { CheckoutPaymentIntent, TransactionSearchController } from '@paypal/paypal-server-sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { WebhookQueue } from '../../sandbox/shared/webhook-queue';
import { createPayPalClient } from '../../providers/paypal/client';
import { createPayPalConnection, type PayPalConnection } from '../../providers/paypal/connection';
import { createPayPalWebhookVerifier } from '../../providers/paypal/webhooks';
import { classifyPayPalError } from '../../providers/paypal/errors';
import type { PayPalOrder, PayPalWebhookEvent } from '../../providers/paypal/resources';
import { ProviderError } from '../../providers/errors';
import { WebhookVerificationError, type PaymentProviderClient, type WebhookVerifier } from '../../providers/types';
import { type VerifiedWebhookEvent } from '../../domain/webhooks';

const CLIENT_ID = 'AskerrySandboxUnitClientId';
const CLIENT_SECRET = 'EskerrySandboxUnitClientSecret';
const WEBHOOK_ID = '3HW25719UJ512345K';

interface Delivery {
  raw: string;
  headers: Record<string, string>;
  event: PayPalWebhookEvent;
  status: number;
  verified?: VerifiedWebhookEvent;
  rejection?: WebhookVerificationError;
}

/** The Skerry side of webhooks: verifies each delivery with the adapter's verifier, like the API does. */
class Receiver {
  readonly deliveries: Delivery[] = [];
  /** Event type → deliveries of that type still to answer with 500. */
  readonly failures = new Map<string, number>();
  readonly app: FastifyInstance = Fastify();
  url = '';
  verifier!: WebhookVerifier;

  async start(): Promise<void> {
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    this.app.post('/webhooks/paypal', async (request, reply) => {
      const raw = request.body as Buffer;
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      const delivery: Delivery = { raw: raw.toString('utf8'), headers, event: JSON.parse(raw.toString('utf8')) as PayPalWebhookEvent, status: 200 };
      this.deliveries.push(delivery);
      try {
        [delivery.verified] = await this.verifier.verify({ rawBody: raw, headers: request.headers, url: request.url });
      } catch (error) {
        if (!(error instanceof WebhookVerificationError)) throw error;
        delivery.rejection = error;
        delivery.status = 400;
        return reply.code(400).send({ error: error.reason });
      }
      const remaining = this.failures.get(delivery.event.event_type) ?? 0;
      if (remaining > 0) {
        this.failures.set(delivery.event.event_type, remaining - 1);
        delivery.status = 500;
        return reply.code(500).send({ error: 'told to fail' });
      }
      return reply.send({ received: true });
    });
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.url = `http://127.0.0.1:${(this.app.server.address() as AddressInfo).port}/webhooks/paypal`;
  }

  clear(): void {
    this.deliveries.length = 0;
    this.failures.clear();
  }

  /** Verified, accepted events about one order (the order itself, or its payments), in arrival order. */
  acceptedFor(orderId: string): VerifiedWebhookEvent[] {
    return this.deliveries.filter((d) => d.status === 200 && d.verified?.providerReference === orderId).map((d) => d.verified!);
  }

  typesFor(orderId: string): string[] {
    return this.acceptedFor(orderId).map((event) => event.eventType);
  }
}

let sandbox: FastifyInstance;
let receiver: Receiver;
let base = '';
let apiBase = '';
let drift: string[] = [];
let connection: PayPalConnection;
let paypal: PaymentProviderClient;

function newConnection(overrides: { clientSecret?: string; refreshMarginSeconds?: number } = {}): PayPalConnection {
  return createPayPalConnection({
    clientId: CLIENT_ID,
    clientSecret: overrides.clientSecret ?? CLIENT_SECRET,
    apiBase,
    refreshMarginSeconds: overrides.refreshMarginSeconds,
    timeoutMs: 10_000,
    onSchemaDrift: (operation, message) => drift.push(`${operation}: ${message}`),
  });
}

function clientOn(conn: PayPalConnection): PaymentProviderClient {
  return createPayPalClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, connection: conn });
}

async function control<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}/paypal/_control${path}`, {
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

async function rawOrder(orderId: string): Promise<PayPalOrder> {
  return (await connection.call<PayPalOrder>('test_get_order', () => connection.orders.getOrder({ id: orderId }))).body;
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

let seq = 0;
const paymentRequest = (overrides: Partial<Parameters<PaymentProviderClient['createPayment']>[0]> = {}) => {
  seq += 1;
  const paymentId = overrides.paymentId ?? `pay_pp_${seq}_${Date.now()}`;
  return {
    paymentId,
    amount: { value: 125_000, currency: 'SEK' },
    reference: `booking-${seq}`,
    description: 'Cabin 3, 2 nights',
    captureMethod: 'automatic' as const,
    idempotencyKey: `skerry-${paymentId}-create`,
    ...overrides,
  };
};

beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  sandbox = await buildSandbox({
    logger: false,
    stripe: { webhookUrl: '', webhookSecret: 'whsec_unused_in_this_test' },
    paypal: {
      webhookUrl: receiver.url,
      webhookId: WEBHOOK_ID,
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }],
      seed: 42,
      webhooks: { initialDelayMs: 20, maxDelayMs: 200 },
    },
  });
  await sandbox.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(sandbox.server.address() as AddressInfo).port}`;
  apiBase = `${base}/paypal`;
  connection = newConnection();
  paypal = clientOn(connection);
  receiver.verifier = createPayPalWebhookVerifier({ webhookId: WEBHOOK_ID, connection: newConnection() });
});

afterAll(async () => {
  await sandbox?.close();
  await receiver?.app.close();
});

beforeEach(async () => {
  await control('POST', '/webhooks/flush', { timeoutMs: 5_000, expedite: true });
  await control('POST', '/reset');
  receiver.clear();
  drift = [];
});

afterEach(() => {
  vi.useRealTimers();
  // Every answer the sandbox gave matched the official SDK's response schemas.
  expect(drift).toEqual([]);
});

describe('PayPal sandbox: OAuth2 client credentials', () => {
  it('issues tokens for Basic client credentials only, and refuses API calls without a valid token', async () => {
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await fetch(`${apiBase}/v1/oauth2/token`, { method: 'POST', headers: { ...form, authorization: basic(CLIENT_ID, CLIENT_SECRET) }, body: 'grant_type=client_credentials' });
    expect(ok.status).toBe(200);
    const token = (await ok.json()) as Record<string, unknown>;
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 32_400 });
    expect(token.access_token).toMatch(/^A21AA/);
    expect(token.app_id).toMatch(/^APP-/);
    expect(typeof token.scope).toBe('string');
    expect(typeof token.nonce).toBe('string');

    const wrong = await fetch(`${apiBase}/v1/oauth2/token`, { method: 'POST', headers: { ...form, authorization: basic(CLIENT_ID, 'nope') }, body: 'grant_type=client_credentials' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'invalid_client', error_description: 'Client Authentication failed' });
    const grant = await fetch(`${apiBase}/v1/oauth2/token`, { method: 'POST', headers: { ...form, authorization: basic(CLIENT_ID, CLIENT_SECRET) }, body: 'grant_type=password' });
    expect(grant.status).toBe(400);
    expect(((await grant.json()) as { error: string }).error).toBe('unsupported_grant_type');

    const anonymous = await fetch(`${apiBase}/v2/checkout/orders/ANY`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { name: string }).name).toBe('AUTHENTICATION_FAILURE');
    const forged = await fetch(`${apiBase}/v2/checkout/orders/ANY`, { headers: { authorization: 'Bearer A21AAforged' } });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: string }).error).toBe('invalid_token');

    const refused = await providerError(clientOn(newConnection({ clientSecret: 'wrong-secret' })).getPayment('ANY'));
    expect(refused.kind).toBe('authentication');
    expect(refused.retryable).toBe(false);
  });

  it('fetches one token for 20 concurrent calls and reuses it', async () => {
    const fresh = newConnection();
    const client = clientOn(fresh);
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => client.createPayment(paymentRequest({ paymentId: `pay_conc_${i}` }))));
    expect(new Set(created.map((snapshot) => snapshot.providerReference)).size).toBe(20);
    expect(fresh.tokenRequests()).toBe(1);
    await Promise.all(created.map((snapshot) => client.getPayment(snapshot.providerReference)));
    expect(fresh.tokenRequests()).toBe(1);
    const state = await control<{ counts: { tokensIssued: number; ordersCreated: number } }>('GET', '/state');
    expect(state.body.counts).toMatchObject({ tokensIssued: 1, ordersCreated: 20 });
  });

  it('refreshes a token shortly before it expires, and recovers from a revoked one', async () => {
    const start = Date.parse('2030-01-01T00:00:00Z');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start);
    const conn = newConnection({ refreshMarginSeconds: 300 });
    const client = clientOn(conn);
    const created = await client.createPayment(paymentRequest());
    expect(conn.tokenRequests()).toBe(1);

    // 200 s before PayPal's expiry the old token still works, but it is inside the 300 s margin.
    vi.setSystemTime(start + (32_400 - 200) * 1000);
    await client.getPayment(created.providerReference);
    expect(conn.tokenRequests()).toBe(2);
    await client.getPayment(created.providerReference);
    expect(conn.tokenRequests()).toBe(2);

    // The sandbox forgets every token (as a revocation would): one 401, one new token, then success.
    vi.useRealTimers();
    const recreated = await paypal.createPayment(paymentRequest());
    sandboxHandles(sandbox).paypal.reset();
    const missing = await providerError(client.getPayment(recreated.providerReference));
    expect(missing.kind).toBe('not_found');
    expect(conn.tokenRequests()).toBe(3);
    const state = await control<{ counts: { tokensIssued: number } }>('GET', '/state');
    expect(state.body.counts.tokensIssued).toBe(1);
  });
});

describe('PayPal sandbox: orders through the adapter', () => {
  it('creates an order, the payer approves, and reading it captures it', async () => {
    const request = paymentRequest({ paymentId: 'pay_capture_1', reference: 'booking-4711' });
    const created = await paypal.createPayment(request);
    expect(created.providerReference).toMatch(/^[0-9A-Z]{17}$/);
    expect(created).toMatchObject({ status: 'created', providerStatus: 'CREATED', amountCaptured: 0, amountRefunded: 0 });
    expect(created.nextAction).toEqual({ type: 'redirect', url: `${apiBase}/checkoutnow?token=${created.providerReference}` });
    const orderId = created.providerReference;

    const wire = await rawOrder(orderId);
    expect(wire.intent).toBe('CAPTURE');
    expect(wire.purchase_units?.[0]).toMatchObject({
      reference_id: 'booking-4711',
      amount: { currency_code: 'SEK', value: '1250.00' },
      custom_id: 'pay_capture_1',
      invoice_id: 'booking-4711/pay_capture_1',
      description: 'Cabin 3, 2 nights',
    });
    expect((await paypal.getPayment(orderId)).status).toBe('created');

    const approved = await control<{ status: string }>('POST', `/payments/${orderId}/succeed`);
    expect(approved.body.status).toBe('APPROVED');
    await flush();
    const hint = receiver.acceptedFor(orderId);
    expect(hint.map((event) => [event.eventType, event.delivery])).toEqual([['CHECKOUT.ORDER.APPROVED', 'hint']]);
    expect(hint[0]).toMatchObject({ paymentId: 'pay_capture_1', adopt: { amount: { value: 125_000, currency: 'SEK' }, reference: 'booking-4711', captureMethod: 'automatic' } });

    const captured = await paypal.getPayment(orderId);
    expect(captured).toMatchObject({ status: 'succeeded', providerStatus: 'COMPLETED', amountCaptured: 125_000, amountRefunded: 0 });
    expect(captured.nextAction).toBeUndefined();
    expect((await paypal.getPayment(orderId)).status).toBe('succeeded');

    await flush();
    expect(receiver.typesFor(orderId)).toEqual(['CHECKOUT.ORDER.APPROVED', 'PAYMENT.CAPTURE.COMPLETED']);
    const completed = receiver.acceptedFor(orderId)[1]!;
    expect(completed).toMatchObject({ delivery: 'observation', paymentId: 'pay_capture_1' });
    expect(completed.observation).toMatchObject({ status: 'succeeded', amountCaptured: 125_000, providerReference: orderId, source: 'webhook' });
    const state = await control<{ counts: { capturesCreated: number; ordersApproved: number } }>('GET', '/state');
    expect(state.body.counts).toMatchObject({ capturesCreated: 1, ordersApproved: 1 });
    expect(receiver.deliveries.every((d) => d.status === 200)).toBe(true);
  });

  it('uses payment_source with return URLs: PAYER_ACTION_REQUIRED and the payer-action link', async () => {
    const client = createPayPalClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, connection, returnUrl: 'https://skerry.example/return', cancelUrl: 'https://skerry.example/cancel' });
    const created = await client.createPayment(paymentRequest({ amount: { value: 500, currency: 'JPY' } }));
    // Before the payer has approved, PAYER_ACTION_REQUIRED is where such an order starts: created, as a CREATED order is.
    expect(created).toMatchObject({ status: 'created', providerStatus: 'PAYER_ACTION_REQUIRED' });
    expect(created.nextAction).toEqual({ type: 'redirect', url: `${apiBase}/checkoutnow?token=${created.providerReference}` });
    expect((await rawOrder(created.providerReference)).purchase_units?.[0]?.amount).toEqual({ currency_code: 'JPY', value: '500' });
    await control('POST', `/payments/${created.providerReference}/succeed`);
    expect(await client.getPayment(created.providerReference)).toMatchObject({ status: 'succeeded', amountCaptured: 500 });
  });

  it('authorizes on approval, then captures part of the authorization', async () => {
    const created = await paypal.createPayment(paymentRequest({ paymentId: 'pay_auth_1', amount: { value: 10_000, currency: 'SEK' }, captureMethod: 'manual' }));
    const orderId = created.providerReference;
    expect((await rawOrder(orderId)).intent).toBe('AUTHORIZE');
    await control('POST', `/payments/${orderId}/succeed`);
    const authorized = await paypal.getPayment(orderId);
    expect(authorized).toMatchObject({ status: 'requires_capture', amountAuthorized: 10_000, amountCaptured: 0 });

    const tooMuch = await providerError(paypal.capturePayment({ providerReference: orderId, amount: 20_000, idempotencyKey: 'skerry-pay_auth_1-capture-0' }));
    expect(tooMuch).toMatchObject({ kind: 'validation', details: { httpStatus: 422, code: 'MAX_CAPTURE_AMOUNT_EXCEEDED' } });

    const captured = await paypal.capturePayment({ providerReference: orderId, amount: 6_000, idempotencyKey: 'skerry-pay_auth_1-capture-1' });
    expect(captured).toMatchObject({ status: 'succeeded', amountAuthorized: 10_000, amountCaptured: 6_000 });
    // A retried capture (same key) is the same capture.
    const again = await paypal.capturePayment({ providerReference: orderId, amount: 6_000, idempotencyKey: 'skerry-pay_auth_1-capture-1' });
    expect(again).toMatchObject({ status: 'succeeded', amountCaptured: 6_000 });
    const wire = await rawOrder(orderId);
    expect(wire.purchase_units?.[0]?.payments?.authorizations?.map((a) => a.status)).toEqual(['CAPTURED']);
    const authorizationId = wire.purchase_units![0]!.payments!.authorizations![0]!.id;
    const authorizationWire = (await connection.call<Record<string, unknown>>('get_authorization', () => connection.payments.getAuthorizedPayment({ authorizationId }))).body;
    expect(authorizationWire).toMatchObject({ id: authorizationId, status: 'CAPTURED', amount: { value: '100.00' }, custom_id: 'pay_auth_1' });
    expect(wire.purchase_units?.[0]?.payments?.captures?.map((c) => [c.status, c.amount?.value, c.final_capture])).toEqual([['COMPLETED', '60.00', true]]);

    await flush();
    expect(receiver.typesFor(orderId)).toEqual(['CHECKOUT.ORDER.APPROVED', 'PAYMENT.AUTHORIZATION.CREATED', 'PAYMENT.CAPTURE.COMPLETED']);
    const [, authorization, capture] = receiver.acceptedFor(orderId);
    expect(authorization!.observation).toMatchObject({ status: 'requires_capture', amountAuthorized: 10_000 });
    expect(capture!.observation).toMatchObject({ status: 'succeeded', amountCaptured: 6_000 });
    expect(capture!.paymentId).toBe('pay_auth_1');
  });

  it('cancels: voids an authorization; an unapproved order is left to expire', async () => {
    const held = await paypal.createPayment(paymentRequest({ amount: { value: 7_500, currency: 'EUR' }, captureMethod: 'manual' }));
    await control('POST', `/payments/${held.providerReference}/succeed`);
    expect((await paypal.getPayment(held.providerReference)).status).toBe('requires_capture');
    const canceled = await paypal.cancelPayment({ providerReference: held.providerReference, idempotencyKey: 'cancel-1', reason: 'requested' });
    expect(canceled).toMatchObject({ status: 'canceled', amountCaptured: 0 });
    expect((await rawOrder(held.providerReference)).purchase_units?.[0]?.payments?.authorizations?.[0]?.status).toBe('VOIDED');
    // Cancelling again is a no-op answered with the current state.
    expect((await paypal.cancelPayment({ providerReference: held.providerReference, idempotencyKey: 'cancel-2', reason: 'requested' })).status).toBe('canceled');
    await flush();
    expect(receiver.typesFor(held.providerReference)).toContain('PAYMENT.AUTHORIZATION.VOIDED');
    expect(receiver.acceptedFor(held.providerReference).at(-1)!.observation).toMatchObject({ status: 'canceled' });

    const open = await paypal.createPayment(paymentRequest());
    await control('POST', `/payments/${open.providerReference}/abandon`);
    const expired = await paypal.cancelPayment({ providerReference: open.providerReference, idempotencyKey: 'cancel-3', reason: 'expired' });
    expect(expired).toMatchObject({ status: 'expired', providerStatus: 'CREATED' });
    expect(expired.nextAction).toBeUndefined();
    const refusedApproval = await control('POST', `/payments/${open.providerReference}/succeed`);
    expect(refusedApproval.status).toBe(409);
  });

  it('refunds part, then the rest, idempotently', async () => {
    const created = await paypal.createPayment(paymentRequest({ paymentId: 'pay_refund_1', amount: { value: 10_000, currency: 'EUR' } }));
    const orderId = created.providerReference;
    await control('POST', `/payments/${orderId}/succeed`);
    expect((await paypal.getPayment(orderId)).status).toBe('succeeded');

    const partial = await paypal.refundPayment({ providerReference: orderId, amount: 2_500, currency: 'EUR', idempotencyKey: 'skerry-pay_refund_1-refund-1', reason: 'Late check-in' });
    expect(partial).toMatchObject({ amount: 2_500, status: 'succeeded' });
    expect(partial.refundId).toMatch(/^[0-9A-Z]{17}$/);
    const replay = await paypal.refundPayment({ providerReference: orderId, amount: 2_500, currency: 'EUR', idempotencyKey: 'skerry-pay_refund_1-refund-1', reason: 'Late check-in' });
    expect(replay).toEqual(partial);
    expect(await paypal.getPayment(orderId)).toMatchObject({ status: 'succeeded', amountCaptured: 10_000, amountRefunded: 2_500 });

    const rest = await paypal.refundPayment({ providerReference: orderId, amount: 7_500, currency: 'EUR', idempotencyKey: 'skerry-pay_refund_1-refund-2' });
    expect(rest).toMatchObject({ amount: 7_500, status: 'succeeded' });
    expect(await paypal.getPayment(orderId)).toMatchObject({ amountCaptured: 10_000, amountRefunded: 10_000 });
    const wire = await rawOrder(orderId);
    expect(wire.purchase_units?.[0]?.payments?.captures?.[0]?.status).toBe('REFUNDED');
    // The Payments v2 reads, through the SDK (its schemas check the sandbox's shapes).
    const captureId = wire.purchase_units![0]!.payments!.captures![0]!.id;
    const captureWire = (await connection.call<Record<string, unknown>>('get_capture', () => connection.payments.getCapturedPayment({ captureId }))).body;
    expect(captureWire).toMatchObject({ id: captureId, status: 'REFUNDED', custom_id: 'pay_refund_1', supplementary_data: { related_ids: { order_id: orderId } } });
    const refundWire = (await connection.call<Record<string, unknown>>('get_refund', () => connection.payments.getRefund({ refundId: rest.refundId }))).body;
    expect(refundWire).toMatchObject({ id: rest.refundId, status: 'COMPLETED', amount: { currency_code: 'EUR', value: '75.00' }, seller_payable_breakdown: { total_refunded_amount: { value: '100.00' } } });

    const over = await providerError(paypal.refundPayment({ providerReference: orderId, amount: 1, currency: 'EUR', idempotencyKey: 'skerry-pay_refund_1-refund-3' }));
    expect(over).toMatchObject({ kind: 'conflict', details: { httpStatus: 422, code: 'CAPTURE_FULLY_REFUNDED' } });

    await flush();
    const refunds = receiver.deliveries.filter((d) => d.event.event_type === 'PAYMENT.CAPTURE.REFUNDED').map((d) => d.verified!);
    expect(refunds.map((event) => [event.paymentId, event.observation?.refund?.amount, event.observation?.amountRefunded])).toEqual([
      ['pay_refund_1', 2_500, 2_500],
      ['pay_refund_1', 7_500, 10_000],
    ]);
    expect(refunds[0]!.observation?.refund).toEqual({ refundId: partial.refundId, amount: 2_500, status: 'succeeded' });
  });

  it('leaves a refund pending when asked, and completes it later', async () => {
    const created = await paypal.createPayment(paymentRequest({ amount: { value: 4_000, currency: 'USD' } }));
    await control('POST', `/payments/${created.providerReference}/succeed`);
    await paypal.getPayment(created.providerReference);
    await control('POST', '/faults', { refundPendingRate: 1, refundSettleMs: 600_000 });
    const pending = await paypal.refundPayment({ providerReference: created.providerReference, amount: 1_000, currency: 'USD', idempotencyKey: 'pending-refund-1' });
    expect(pending.status).toBe('pending');
    expect((await paypal.getPayment(created.providerReference)).amountRefunded).toBe(0);
    const settled = await control<{ status: string }>('POST', `/refunds/${pending.refundId}/settle`);
    expect(settled.body.status).toBe('COMPLETED');
    expect((await paypal.getPayment(created.providerReference)).amountRefunded).toBe(1_000);
    await flush();
    const refunded = receiver.deliveries.find((d) => d.event.event_type === 'PAYMENT.CAPTURE.REFUNDED')!;
    expect(refunded.verified?.observation?.refund).toEqual({ refundId: pending.refundId, amount: 1_000, status: 'succeeded' });
  });

  it('declines: INSTRUMENT_DECLINED on capture sends the payer back to approve, and a denied capture on a COMPLETED order', async () => {
    const declined = await paypal.createPayment(paymentRequest({ paymentId: 'pay_decline_1' }));
    const failed = await control<{ status: string; sandbox: { decline: string } }>('POST', `/payments/${declined.providerReference}/fail`);
    expect(failed.body).toMatchObject({ status: 'APPROVED', sandbox: { decline: 'instrument_declined' } });
    const snapshot = await paypal.getPayment(declined.providerReference);
    // The attempt failed, not the payment: the payer chooses another funding source.
    expect(snapshot).toMatchObject({ status: 'created', providerStatus: 'APPROVED', amountCaptured: 0 });
    expect(snapshot.failureReason).toMatch(/INSTRUMENT_DECLINED/);
    // The decline itself, as the API says it: 422 UNPROCESSABLE_ENTITY, classified as a decline.
    const direct = await connection
      .call('capture_order', () => connection.orders.captureOrder({ id: declined.providerReference, paypalRequestId: 'direct-capture' }))
      .then(
        () => undefined,
        (err: unknown) => classifyPayPalError('capture_order', err),
      );
    expect(direct).toMatchObject({ kind: 'decline', retryable: false, details: { httpStatus: 422, code: 'INSTRUMENT_DECLINED' } });

    const denied = await paypal.createPayment(paymentRequest({ paymentId: 'pay_denied_1' }));
    await control('POST', `/payments/${denied.providerReference}/fail`, { mode: 'capture_denied' });
    const deniedSnapshot = await paypal.getPayment(denied.providerReference);
    // COMPLETED does not mean captured.
    expect(deniedSnapshot).toMatchObject({ status: 'failed', providerStatus: 'COMPLETED', amountCaptured: 0 });
    expect(deniedSnapshot.failureReason).toBe('capture DECLINED: DECLINED_BY_RISK_FRAUD_FILTERS');
    await flush();
    expect(receiver.typesFor(denied.providerReference)).toEqual(['CHECKOUT.ORDER.APPROVED', 'PAYMENT.CAPTURE.DENIED']);
    expect(receiver.acceptedFor(denied.providerReference)[1]!.observation).toMatchObject({ status: 'failed', failureReason: 'capture DECLINED: DECLINED_BY_RISK_FRAUD_FILTERS' });
    expect(receiver.typesFor(declined.providerReference)).toEqual(['CHECKOUT.ORDER.APPROVED']);

    // The payer approves again with another funding source; the next read captures.
    await control('POST', `/payments/${declined.providerReference}/succeed`);
    expect(await paypal.getPayment(declined.providerReference)).toMatchObject({ status: 'succeeded', providerStatus: 'COMPLETED', amountCaptured: 125_000 });
  });

  it('creates once per PayPal-Request-Id, and replays the latest state of the order', async () => {
    const request = paymentRequest({ paymentId: 'pay_idem_1' });
    const first = await paypal.createPayment(request);
    const second = await paypal.createPayment(request);
    expect(second.providerReference).toBe(first.providerReference);
    await control('POST', `/payments/${first.providerReference}/succeed`);
    await paypal.getPayment(first.providerReference);
    // PayPal answers a repeated request id with the latest status of what the first request made.
    expect(await paypal.createPayment(request)).toMatchObject({ providerReference: first.providerReference, status: 'succeeded', amountCaptured: 125_000 });
    const state = await control<{ counts: { ordersCreated: number } }>('GET', '/state');
    expect(state.body.counts.ordersCreated).toBe(1);

    const reused = await providerError(paypal.createPayment({ ...request, amount: { value: 1, currency: 'SEK' } }));
    expect(reused).toMatchObject({ kind: 'conflict', details: { code: 'PAYPAL_REQUEST_ID_PREVIOUSLY_USED' } });
    const invalid = await providerError(paypal.createPayment(paymentRequest({ amount: { value: 100, currency: 'XTS' } })));
    expect(invalid.kind).toBe('validation');
  });

  it('answers minimal representations unless asked for the full one', async () => {
    const minimal = await connection.call<Record<string, unknown>>('create_order', () =>
      connection.orders.createOrder({ body: { intent: CheckoutPaymentIntent.Capture, purchaseUnits: [{ amount: { currencyCode: 'USD', value: '10.00' } }] } }),
    );
    expect(minimal.statusCode).toBe(201);
    expect(Object.keys(minimal.body).sort()).toEqual(['id', 'links', 'status']);
    expect(minimal.headers['paypal-debug-id']).toMatch(/^[0-9a-f]{13}$/);
    const full = await rawOrder(minimal.body.id as string);
    expect(full.purchase_units?.[0]).toMatchObject({ reference_id: 'default', amount: { currency_code: 'USD', value: '10.00' } });
  });

  it('answers 404 and PayPal error bodies for unknown resources', async () => {
    const missing = await providerError(paypal.getPayment('0AB12345CD678901E'));
    expect(missing).toMatchObject({ kind: 'not_found', details: { httpStatus: 404, code: 'INVALID_RESOURCE_ID' } });
    expect(missing.message).toMatch(/RESOURCE_NOT_FOUND/);
    expect(missing.message).toMatch(/debug_id [0-9a-f]{13}/);
    const unknownControl = await control('POST', '/payments/0AB12345CD678901E/succeed');
    expect(unknownControl.status).toBe(404);
  });
});

describe('PayPal sandbox: faults', () => {
  it('answers 429 with Retry-After, classified rate_limited with retryAfterMs', async () => {
    await paypal.createPayment(paymentRequest());
    expect((await control('POST', '/faults', { rateLimitRate: 1, retryAfterSeconds: 7, seed: 1 })).status).toBe(200);
    const limited = await providerError(paypal.createPayment(paymentRequest()));
    expect(limited).toMatchObject({ kind: 'rate_limited', retryable: true, details: { httpStatus: 429, retryAfterMs: 7_000, code: 'RATE_LIMIT_REACHED' } });
    // Control routes are never faulted.
    expect((await control('GET', '/state')).status).toBe(200);
    await control('DELETE', '/faults');
    expect((await paypal.createPayment(paymentRequest())).status).toBe('created');
  });

  it('does not keep an injected 500 under the PayPal-Request-Id: the retry runs', async () => {
    await paypal.createPayment(paymentRequest());
    await control('POST', '/faults', { errorRate: 1, seed: 3 });
    const request = paymentRequest({ paymentId: 'pay_500_1' });
    const failure = await providerError(paypal.createPayment(request));
    expect(failure).toMatchObject({ kind: 'unavailable', retryable: true, details: { httpStatus: 500 } });
    await control('DELETE', '/faults');
    const created = await paypal.createPayment(request);
    expect(created.status).toBe('created');
    const state = await control<{ counts: { ordersCreated: number } }>('GET', '/state');
    expect(state.body.counts.ordersCreated).toBe(2);
  });
});

describe('PayPal sandbox: webhooks', () => {
  async function approvedDelivery(): Promise<Delivery> {
    const created = await paypal.createPayment(paymentRequest());
    await control('POST', `/payments/${created.providerReference}/succeed`);
    await flush();
    const delivery = receiver.deliveries.find((d) => d.event.resource && (d.event.resource as { id?: string }).id === created.providerReference);
    expect(delivery?.status).toBe(200);
    return delivery!;
  }

  const verify = (raw: string, headers: Record<string, string>, verifier: WebhookVerifier = receiver.verifier) =>
    verifier.verify({ rawBody: Buffer.from(raw), headers, url: '/webhooks/paypal' });

  async function rejection(promise: Promise<unknown>): Promise<WebhookVerificationError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return error as WebhookVerificationError;
  }

  it('sends PayPal transmission headers that verify, and only for the exact event', async () => {
    const delivery = await approvedDelivery();
    expect(delivery.headers['paypal-auth-algo']).toBe('SHA256withRSA');
    expect(delivery.headers['paypal-cert-url']).toMatch(new RegExp(`^${apiBase}/v1/notifications/certs/CERT-`));
    expect(delivery.headers['paypal-transmission-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(delivery.headers['paypal-transmission-time']!)).not.toBeNaN();
    expect(delivery.event).toMatchObject({ event_version: '1.0', resource_type: 'checkout-order', resource_version: '2.0', event_type: 'CHECKOUT.ORDER.APPROVED' });
    expect(delivery.event.id).toMatch(/^WH-[0-9A-Z]{17}-[0-9A-Z]{17}$/);
    expect(delivery.raw).toBe(JSON.stringify(delivery.event));

    // The same transmission verifies again (a replay is deduplicated by event id downstream).
    expect((await verify(delivery.raw, delivery.headers))[0]!.eventId).toBe(delivery.event.id);

    // A changed event under the original headers.
    const tampered = JSON.stringify({ ...delivery.event, event_type: 'PAYMENT.CAPTURE.COMPLETED' });
    expect((await rejection(verify(tampered, delivery.headers))).reason).toBe('bad_signature');
    // Same content, different bytes: PayPal checks the CRC of what it signed.
    expect((await rejection(verify(JSON.stringify(delivery.event, null, 2), delivery.headers))).reason).toBe('bad_signature');
    // Forged transmission headers.
    const forged = { ...delivery.headers, 'paypal-transmission-id': '5a9d5e10-0000-11ef-8d2b-1b1b1b1b1b1b', 'paypal-transmission-sig': Buffer.from('forged').toString('base64') };
    expect((await rejection(verify(delivery.raw, forged))).reason).toBe('bad_signature');
    const resigned = { ...delivery.headers, 'paypal-transmission-sig': Buffer.from('x'.repeat(256)).toString('base64') };
    expect((await rejection(verify(delivery.raw, resigned))).reason).toBe('bad_signature');
    // Another webhook id (a verifier configured for another endpoint).
    const otherEndpoint = createPayPalWebhookVerifier({ webhookId: '9ZZ99999ZZ999999Z', connection });
    expect((await rejection(verify(delivery.raw, delivery.headers, otherEndpoint))).reason).toBe('bad_signature');
    // Missing headers never reach PayPal.
    const { 'paypal-transmission-sig': _sig, ...unsigned } = delivery.headers;
    expect((await rejection(verify(delivery.raw, unsigned))).reason).toBe('missing_signature');
    expect((await rejection(verify('not json', delivery.headers))).reason).toBe('malformed');
  });

  it('rejects a forged delivery at the receiver with 400, and PayPal is unavailable → not a verdict', async () => {
    const delivery = await approvedDelivery();
    const forgedEvent = { ...delivery.event, id: 'WH-FORGED000000000000-FORGED000000000000' };
    const response = await fetch(receiver.url, {
      method: 'POST',
      headers: { ...delivery.headers, 'content-length': String(Buffer.byteLength(JSON.stringify(forgedEvent))) },
      body: JSON.stringify(forgedEvent),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('bad_signature');

    await control('POST', '/faults', { errorRate: 1 });
    const outage = await verify(delivery.raw, delivery.headers).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(outage).toBeInstanceOf(ProviderError);
    expect((outage as ProviderError).kind).toBe('unavailable');
    await control('DELETE', '/faults');
  });

  it('retries a delivery the receiver failed, each attempt a new signed transmission', async () => {
    receiver.failures.set('CHECKOUT.ORDER.APPROVED', 1);
    const created = await paypal.createPayment(paymentRequest());
    await control('POST', `/payments/${created.providerReference}/succeed`);
    await flush();
    const attempts = receiver.deliveries.filter((d) => d.event.event_type === 'CHECKOUT.ORDER.APPROVED');
    expect(attempts.map((d) => d.status)).toEqual([500, 200]);
    expect(attempts[0]!.event.id).toBe(attempts[1]!.event.id);
    expect(attempts[0]!.raw).toBe(attempts[1]!.raw);
    expect(attempts[0]!.headers['paypal-transmission-id']).not.toBe(attempts[1]!.headers['paypal-transmission-id']);
    expect(attempts.every((d) => d.verified !== undefined)).toBe(true);
    const stats = await control<{ delivered: number; failures: number; pending: number }>('GET', '/webhooks');
    expect(stats.body).toMatchObject({ delivered: 1, failures: 1, pending: 0 });
  });

  it('gives up after the maximum number of attempts (PayPal: 25)', async () => {
    const queue = new WebhookQueue({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 });
    queue.enqueue({ id: 'WH-1', url: 'http://127.0.0.1:9/unreachable', body: '{}', headers: () => ({ 'content-type': 'application/json' }) });
    expect(await queue.flush({ timeoutMs: 10_000 })).toBe(true);
    expect(queue.stats()).toMatchObject({ delivered: 0, attempts: 3, failures: 3, gaveUp: 1, pending: 0 });
    queue.close();
  });
});

describe('PayPal sandbox: transaction search', () => {
  it('reports captures and refunds by date, paged, through the official SDK', async () => {
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    const created = await paypal.createPayment(paymentRequest({ paymentId: 'pay_report_1', amount: { value: 20_000, currency: 'SEK' } }));
    await control('POST', `/payments/${created.providerReference}/succeed`);
    await paypal.getPayment(created.providerReference);
    const refund = await paypal.refundPayment({ providerReference: created.providerReference, amount: 5_000, currency: 'SEK', idempotencyKey: 'report-refund-1' });
    const endedAt = new Date(Date.now() + 60_000).toISOString();

    const search = new TransactionSearchController(connection.sdk);
    const all = await search.searchTransactions({ startDate: startedAt, endDate: endedAt, fields: 'all' });
    expect(all.result.totalItems).toBe(2);
    const lines = (JSON.parse(all.body as string) as { transaction_details: { transaction_info: Record<string, unknown> }[] }).transaction_details.map((d) => d.transaction_info);
    expect(lines.map((line) => [line.transaction_event_code, (line.transaction_amount as { value: string }).value, line.transaction_status, line.custom_field])).toEqual([
      ['T0006', '200.00', 'S', 'pay_report_1'],
      ['T1107', '-50.00', 'S', 'pay_report_1'],
    ]);
    expect(lines[1]!.transaction_id).toBe(refund.refundId);
    expect(Number((lines[0]!.fee_amount as { value: string }).value)).toBeLessThan(0);

    const page1 = await search.searchTransactions({ startDate: startedAt, endDate: endedAt, pageSize: 1, page: 1 });
    const page2 = await search.searchTransactions({ startDate: startedAt, endDate: endedAt, pageSize: 1, page: 2 });
    expect([page1.result.totalPages, page1.result.page, page2.result.page]).toEqual([2, 1, 2]);
    expect(page1.result.transactionDetails?.[0]?.transactionInfo?.transactionId).not.toBe(page2.result.transactionDetails?.[0]?.transactionInfo?.transactionId);

    const tooWide = await search.searchTransactions({ startDate: '2030-01-01T00:00:00Z', endDate: '2030-03-01T00:00:00Z' }).then(
      () => undefined,
      (e: { statusCode?: number }) => e,
    );
    expect(tooWide?.statusCode).toBe(400);
  });
});
