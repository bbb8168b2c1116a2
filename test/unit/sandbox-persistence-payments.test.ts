// The Stripe, PayPal and MobilePay sandboxes remember across a restart as the providers do, driven
// through Skerry's production clients over HTTP: payments, refunds, PayPal's issued tokens and the
// MobilePay webhook registrations survive; what was in motion goes on after the restart (a pending
// refund settles, an abandoned payment expires, an undelivered Stripe event is delivered).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { createStripeClient } from '../../providers/stripe/client';
import { createPayPalClient } from '../../providers/paypal/client';
import { createMobilePayApi } from '../../providers/mobilepay/api';
import { createMobilePayClient } from '../../providers/mobilepay/client';
import { eventually } from '../support/harness';

const MOBILEPAY = { clientId: 'persist-client', clientSecret: 'persist-secret', subscriptionKey: 'persist-sub', merchantSerialNumber: '223366' };
const WEBHOOK_SECRET = 'whsec_persist_payments';

let root: string;
/** Where the Stripe sandbox delivers: refuses (500) until `accepting`, then records the event ids. */
const receiver = { accepting: false, received: [] as string[], url: '', close: async () => {} };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'skerry-sandbox-persistence-payments-'));
  const app = Fastify();
  app.post('/webhooks/stripe', async (request, reply) => {
    if (!receiver.accepting) return reply.code(500).send({ error: 'not yet' });
    receiver.received.push((request.body as { id: string }).id);
    return { received: true };
  });
  receiver.url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/webhooks/stripe`;
  receiver.close = () => app.close();
});
afterAll(async () => {
  await receiver.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function startOn(dataDir: string) {
  const app = await buildSandbox({
    stripe: { webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET, webhooks: { initialDelayMs: 50, maxDelayMs: 200 } },
    mobilepay: { credentials: [MOBILEPAY] },
    dataDir,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base, handles: sandboxHandles(app), stop: () => app.close() };
}

const post = (url: string, body: unknown = {}) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('payment sandboxes remember across restarts', () => {
  it('Stripe: the payment and its refund survive, the pending refund settles and undelivered events are delivered after the restart', async () => {
    const dataDir = join(root, 'stripe');
    const first = await startOn(dataDir);
    const stripe = createStripeClient({ secretKey: 'sk_test_persist', apiBase: `${first.base}/stripe` });
    const created = await stripe.createPayment({ paymentId: 'pay_persiststripe1', amount: { value: 50_000, currency: 'SEK' }, reference: 'booking-s', captureMethod: 'automatic', idempotencyKey: 'persist-stripe-create' });
    expect((await post(`${first.base}/stripe/_control/payments/${created.providerReference}/succeed`)).status).toBe(200);
    // Every refund stays pending, settling long after this sandbox is gone.
    expect((await post(`${first.base}/stripe/_control/faults`, { refundPendingRate: 1, refundSettleMs: 3_600_000 })).status).toBe(200);
    const refund = await stripe.refundPayment({ providerReference: created.providerReference, amount: 20_000, currency: 'SEK', idempotencyKey: 'persist-stripe-refund' });
    expect(refund.status).toBe('pending');
    const undelivered = [...first.handles.stripe.store.events.values()].filter((event) => event.pending_webhooks > 0).map((event) => event.id);
    expect(undelivered.length).toBeGreaterThan(0);
    await first.stop();

    receiver.accepting = true;
    const second = await startOn(dataDir);
    try {
      const after = createStripeClient({ secretKey: 'sk_test_persist', apiBase: `${second.base}/stripe` });
      expect(await after.getPayment(created.providerReference)).toMatchObject({ status: 'succeeded', amountCaptured: 50_000 });
      // The refund's settlement timer was armed again (with the default delay: faults start afresh).
      await eventually(() => second.handles.stripe.store.refunds.get(refund.refundId)?.status === 'succeeded', { what: 'the pending refund settled', timeoutMs: 10_000 });
      await eventually(() => undelivered.every((id) => receiver.received.includes(id)), { what: 'events undelivered before the restart delivered', timeoutMs: 10_000 });
      // New objects continue the listings after the restored ones.
      const page = await after.listTransactions!({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
      expect(page.transactions.map((txn) => txn.providerReference)).toContain(created.providerReference);
    } finally {
      await second.stop();
    }
  });

  it('PayPal: the order, its capture and refund, and the issued access token survive; the pending refund completes after the restart', async () => {
    const dataDir = join(root, 'paypal');
    const first = await startOn(dataDir);
    const paypalOptions = { clientId: 'persist-app', clientSecret: 'persist-app-secret', returnUrl: 'https://shop.example/payments/{paymentId}/return' };
    const paypal = createPayPalClient({ ...paypalOptions, apiBase: `${first.base}/paypal` });
    const created = await paypal.createPayment({ paymentId: 'pay_persistpaypal1', amount: { value: 12_000, currency: 'EUR' }, reference: 'booking-p', captureMethod: 'automatic', idempotencyKey: 'persist-paypal-create' });
    expect((await post(`${first.base}/paypal/_control/payments/${created.providerReference}/succeed`)).status).toBe(200);
    expect(await paypal.getPayment(created.providerReference)).toMatchObject({ status: 'succeeded', amountCaptured: 12_000 });
    expect((await post(`${first.base}/paypal/_control/faults`, { refundPendingRate: 1, refundSettleMs: 3_600_000 })).status).toBe(200);
    const refund = await paypal.refundPayment({ providerReference: created.providerReference, amount: 2_000, currency: 'EUR', idempotencyKey: 'persist-paypal-refund' });
    expect(refund.status).toBe('pending');
    const tokensIssued = first.handles.paypal.tokensIssued;
    await first.stop();

    const second = await startOn(dataDir);
    try {
      // The restarted sandbox listens on another port: a client for the new address.
      const after = createPayPalClient({ ...paypalOptions, apiBase: `${second.base}/paypal` });
      expect(await after.getPayment(created.providerReference)).toMatchObject({ status: 'succeeded', amountCaptured: 12_000 });
      const order = second.handles.paypal.store.getOrder(created.providerReference);
      expect(order.experience?.returnUrl).toBe('https://shop.example/payments/pay_persistpaypal1/return');
      await eventually(() => second.handles.paypal.store.refunds.get(refund.refundId)?.status === 'COMPLETED', { what: 'the PENDING refund completed', timeoutMs: 10_000 });
      expect(await after.getPayment(created.providerReference)).toMatchObject({ amountRefunded: 2_000 });
      // The tokens PayPal issued before are still valid: the new client's token is one more, and the old one works.
      expect(second.handles.paypal.tokensIssued).toBe(tokensIssued + 1);
      const oldToken = [...(second.handles.paypal.snapshot() as { tokens: [string, unknown][] }).tokens][0]![0];
      const read = await fetch(`${second.base}/paypal/v2/checkout/orders/${created.providerReference}`, { headers: { authorization: `Bearer ${oldToken}` } });
      expect(read.status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('MobilePay: webhook registrations survive with their secrets, and an abandoned payment still expires', async () => {
    const dataDir = join(root, 'mobilepay');
    const first = await startOn(dataDir);
    const api = createMobilePayApi({ ...MOBILEPAY, apiBase: `${first.base}/mobilepay`, returnUrl: 'https://shop.example/r/{paymentId}' });
    const registration = await api.registerWebhook({ url: 'https://shop.example/webhooks/mobilepay', events: ['epayments.payment.expired.v1'] });
    const client = createMobilePayClient({ ...MOBILEPAY, apiBase: `${first.base}/mobilepay`, returnUrl: 'https://shop.example/r/{paymentId}' });
    const created = await client.createPayment({ paymentId: 'pay_persistmobile1', amount: { value: 9_900, currency: 'NOK' }, reference: 'booking-m', captureMethod: 'manual', idempotencyKey: 'persist-mp-create' });
    expect((await post(`${first.base}/mobilepay/_control/payments/${created.providerReference}/abandon`, { afterMs: 1_500 })).status).toBe(200);
    await first.stop();

    const second = await startOn(dataDir);
    try {
      const apiAfter = createMobilePayApi({ ...MOBILEPAY, apiBase: `${second.base}/mobilepay`, returnUrl: 'https://shop.example/r/{paymentId}' });
      expect((await apiAfter.listWebhooks()).webhooks).toEqual([{ id: registration.id, url: 'https://shop.example/webhooks/mobilepay', events: ['epayments.payment.expired.v1'] }]);
      expect(second.handles.mobilepay.registrations.get(registration.id)?.secret).toBe(registration.secret);
      const clientAfter = createMobilePayClient({ ...MOBILEPAY, apiBase: `${second.base}/mobilepay`, returnUrl: 'https://shop.example/r/{paymentId}' });
      await eventually(async () => (await clientAfter.getPayment(created.providerReference)).status === 'expired', { what: 'the abandoned payment expired after the restart', timeoutMs: 10_000 });
    } finally {
      await second.stop();
    }
  });
});
