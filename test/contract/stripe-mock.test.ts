// Contract: every Stripe call Skerry makes is validated by Stripe's official mock against Stripe's
// OpenAPI spec. A parameter Stripe does not know, or a wrong shape, fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBinary } from '../../stack/binaries';
import { startStripeMock, type StripeMock } from '../../stack/stripe-mock';
import type Stripe from 'stripe';
import { createStripeClient, createStripeSdk, refundObservation, snapshotFromIntent } from '../../providers/stripe/client';
import type { PaymentProviderClient } from '../../providers/types';

let mock: StripeMock;
let stripe: PaymentProviderClient;
let sdk: Stripe;

beforeAll(async () => {
  const binPath = await ensureBinary('stripe-mock', { explicitPath: process.env.STRIPE_MOCK_PATH, log: (message) => console.log(message) });
  mock = await startStripeMock({ binPath });
  stripe = createStripeClient({ secretKey: 'sk_test_123', apiBase: mock.baseUrl });
  sdk = createStripeSdk({ secretKey: 'sk_test_123', apiBase: mock.baseUrl });
});

const INTENT_STATUSES = ['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'requires_capture', 'canceled', 'succeeded'];

/** Every field of a PaymentIntent that snapshotFromIntent reads, with its type. */
function expectIntent(intent: Stripe.PaymentIntent): void {
  expect(intent).toMatchObject({
    object: 'payment_intent',
    id: expect.stringMatching(/^pi_/),
    amount: expect.any(Number),
    amount_capturable: expect.any(Number),
    amount_received: expect.any(Number),
    currency: expect.stringMatching(/^[a-z]{3}$/),
    capture_method: expect.stringMatching(/^(automatic|automatic_async|manual)$/),
    client_secret: expect.stringMatching(/_secret_/),
    metadata: expect.any(Object),
  });
  expect(INTENT_STATUSES).toContain(intent.status);
  // Nullable: null, or a decline with its type; null, or why it was canceled.
  if (intent.last_payment_error !== null) expect(intent.last_payment_error).toMatchObject({ type: expect.any(String) });
  if (intent.cancellation_reason !== null) expect(intent.cancellation_reason).toEqual(expect.any(String));
}

function expectRefund(refund: Stripe.Refund): void {
  expect(refund).toMatchObject({ object: 'refund', id: expect.stringMatching(/^re_/), amount: expect.any(Number), currency: expect.stringMatching(/^[a-z]{3}$/) });
  expect(['pending', 'requires_action', 'succeeded', 'failed', 'canceled']).toContain(refund.status);
  if (refund.payment_intent !== null) expect(refund.payment_intent).toEqual(expect.any(String));
}
afterAll(async () => mock?.stop());

describe('Skerry’s Stripe calls against stripe-mock', () => {
  it('creates a PaymentIntent with the parameters Skerry sends', async () => {
    const snapshot = await stripe.createPayment({
      paymentId: 'pay_contract',
      amount: { value: 12_500, currency: 'SEK' },
      reference: 'booking-1',
      description: 'contract',
      captureMethod: 'manual',
      idempotencyKey: `contract-${Date.now()}`,
    });
    expect(snapshot.providerReference).toMatch(/^pi_/);
  });

  it('retrieves, captures and cancels: every answer is a PaymentIntent, read field by field into the snapshot', async () => {
    const reference = 'pi_contract123';
    const retrieved = await sdk.paymentIntents.retrieve(reference);
    expectIntent(retrieved);
    const read = await stripe.getPayment(reference);
    // A retrieve also lists the refunds of a succeeded intent (refunds.list), counted in the snapshot.
    const refunded = retrieved.status === 'succeeded' ? (await sdk.refunds.list({ payment_intent: retrieved.id, limit: 100 })).data.filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amount, 0) : 0;
    expect(read).toEqual(snapshotFromIntent(retrieved, refunded));

    const captured = await sdk.paymentIntents.capture(reference, { amount_to_capture: 1_000 }, { idempotencyKey: `cap-raw-${Date.now()}` });
    expectIntent(captured);
    expect(await stripe.capturePayment({ providerReference: reference, amount: 1_000, idempotencyKey: `cap-${Date.now()}` })).toEqual(snapshotFromIntent(captured));

    for (const [reason, cancellationReason] of [['expired', 'abandoned'], ['requested', 'requested_by_customer']] as const) {
      const canceled = await sdk.paymentIntents.cancel(reference, { cancellation_reason: cancellationReason }, { idempotencyKey: `can-raw-${reason}-${Date.now()}` });
      expectIntent(canceled);
      expect(await stripe.cancelPayment({ providerReference: reference, idempotencyKey: `can-${reason}-${Date.now()}`, reason })).toEqual(snapshotFromIntent(canceled));
    }
  });

  it('refunds and lists refunds: Refund objects, and a list of them', async () => {
    const raw = await sdk.refunds.create(
      { payment_intent: 'pi_contract123', amount: 500, reason: 'requested_by_customer', metadata: { skerry_reason: 'guest cancelled' } },
      { idempotencyKey: `ref-raw-${Date.now()}` },
    );
    expectRefund(raw);
    const refund = await stripe.refundPayment({ providerReference: 'pi_contract123', amount: 500, currency: 'SEK', idempotencyKey: `ref-${Date.now()}`, reason: 'guest cancelled' });
    // stripe-mock makes a new id per refund; everything else is read from the same fixture.
    expect(refund).toEqual({ ...refundObservation(raw), refundId: expect.stringMatching(/^re_/) });

    const listed = await sdk.refunds.list({ payment_intent: 'pi_contract123', limit: 100 });
    expect(listed).toMatchObject({ object: 'list', url: '/v1/refunds', has_more: expect.any(Boolean), data: expect.any(Array) });
    expect(listed.data.length).toBeGreaterThan(0);
    listed.data.forEach(expectRefund);
  });

  it('lists balance transactions with their source expanded, as the reconciler reads them', async () => {
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const to = new Date().toISOString();
    const listed = await sdk.balanceTransactions.list({ created: { gte: Math.floor(Date.parse(from) / 1000), lt: Math.floor(Date.parse(to) / 1000) }, limit: 100, expand: ['data.source'] });
    expect(listed).toMatchObject({ object: 'list', url: '/v1/balance_transactions', has_more: expect.any(Boolean), data: expect.any(Array) });
    expect(listed.data.length).toBeGreaterThan(0);
    for (const txn of listed.data) {
      expect(txn).toMatchObject({
        object: 'balance_transaction',
        id: expect.stringMatching(/^txn_/),
        amount: expect.any(Number),
        fee: expect.any(Number),
        net: expect.any(Number),
        currency: expect.stringMatching(/^[a-z]{3}$/),
        type: expect.any(String),
        status: expect.any(String),
        available_on: expect.any(Number),
        created: expect.any(Number),
      });
      // Expanded: the source is an object with its id, not the bare id.
      expect(txn.source).toMatchObject({ id: expect.any(String), object: expect.any(String) });
    }
    const page = await stripe.listTransactions!({ from, to, pageSize: 100 });
    expect(page.transactions).toHaveLength(listed.data.length);
    expect(page.transactions.map((t) => t.evidence?.balanceTransaction)).toEqual(listed.data.map((txn) => txn.id));
  });

  it('retrieves the balance, the circuit breaker’s health check', async () => {
    const balance = await sdk.balance.retrieve();
    expect(balance).toMatchObject({ object: 'balance', livemode: expect.any(Boolean), available: expect.any(Array), pending: expect.any(Array) });
    for (const amount of [...balance.available, ...balance.pending]) expect(amount).toMatchObject({ amount: expect.any(Number), currency: expect.stringMatching(/^[a-z]{3}$/) });
    await expect(stripe.healthCheck!()).resolves.toMatchObject({ object: 'balance' });
  });

  it('classifies stripe-mock’s refusal of a bad key as a non-retryable authentication error', async () => {
    const unauthorized = createStripeClient({ secretKey: 'sk_live_', apiBase: mock.baseUrl });
    await expect(unauthorized.getPayment('pi_123')).rejects.toMatchObject({ kind: 'authentication', retryable: false });
  });
});
