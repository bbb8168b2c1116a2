// Contract: every Stripe call Skerry makes is validated by Stripe's official mock against Stripe's
// OpenAPI spec. A parameter Stripe does not know, or a wrong shape, fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBinary } from '../../stack/binaries';
import { startStripeMock, type StripeMock } from '../../stack/stripe-mock';
import { createStripeClient } from '../../providers/stripe/client';
import type { PaymentProviderClient } from '../../providers/types';

let mock: StripeMock;
let stripe: PaymentProviderClient;

beforeAll(async () => {
  const binPath = await ensureBinary('stripe-mock', { explicitPath: process.env.STRIPE_MOCK_PATH, log: (message) => console.log(message) });
  mock = await startStripeMock({ binPath });
  stripe = createStripeClient({ secretKey: 'sk_test_123', apiBase: mock.baseUrl });
});
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

  it('retrieves, captures, cancels and refunds with valid shapes', async () => {
    const reference = 'pi_contract123';
    await expect(stripe.getPayment(reference)).resolves.toMatchObject({ providerReference: expect.stringMatching(/^pi_/) });
    await expect(stripe.capturePayment({ providerReference: reference, amount: 1_000, idempotencyKey: `cap-${Date.now()}` })).resolves.toBeDefined();
    await expect(stripe.cancelPayment({ providerReference: reference, idempotencyKey: `can-${Date.now()}`, reason: 'expired' })).resolves.toBeDefined();
    await expect(stripe.cancelPayment({ providerReference: reference, idempotencyKey: `can2-${Date.now()}`, reason: 'requested' })).resolves.toBeDefined();
    const refund = await stripe.refundPayment({ providerReference: reference, amount: 500, currency: 'SEK', idempotencyKey: `ref-${Date.now()}`, reason: 'guest cancelled' });
    expect(refund.refundId).toMatch(/^re_/);
  });

  it('classifies stripe-mock’s refusal of a bad key as a non-retryable authentication error', async () => {
    const unauthorized = createStripeClient({ secretKey: 'sk_live_', apiBase: mock.baseUrl });
    await expect(unauthorized.getPayment('pi_123')).rejects.toMatchObject({ kind: 'authentication', retryable: false });
  });
});
