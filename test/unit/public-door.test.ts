// The public door's abuse limits without a stack: a rate per provider route and source address, a
// body limit per provider, PayPal's verification budget (bounded queue, timeout, share of the rate),
// and the payment return page that shows a status and nothing else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildPublicApp } from '../../api/app';
import { createDatabase } from '../../db/client';
import { createWebhookInbox } from '../../store/webhook-inbox';
import { createStripeWebhookVerifier } from '../../providers/stripe/webhooks';
import { createSwishWebhookVerifier } from '../../providers/swish/webhooks';
import { createVerifyBudget, WebhookBudgetError } from '../../providers/paypal/webhooks';
import { PaymentNotFoundError, type PaymentsClient } from '../../client/payments';
import type { WebhookDelivery } from '../../api/webhooks/delivery';
import type { PaymentState } from '../../domain/payments';
import { eventually } from '../support/harness';

const database = createDatabase(inject('databaseUrl'), { max: 2 });
let app: FastifyInstance;

beforeAll(async () => {
  const payments: Pick<PaymentsClient, 'getPayment'> = {
    async getPayment(id) {
      if (id !== 'pay_known123456') throw new PaymentNotFoundError(id);
      return { paymentId: id, status: 'processing', amount: { value: 12_345, currency: 'SEK' }, reference: 'booking-secret-ref' } as PaymentState;
    },
  };
  app = await buildPublicApp({
    payments,
    inbox: createWebhookInbox(database.db),
    delivery: {} as WebhookDelivery,
    verifiers: [
      createStripeWebhookVerifier({ secrets: () => ['whsec_public_door_test'], toleranceSeconds: 300 }),
      createSwishWebhookVerifier({ isKnownPaymentRequest: async () => false }),
    ],
    limits: { webhookRatePerMinute: 3, pageRatePerMinute: 5 },
  });
});
afterAll(async () => {
  await app?.close();
  await database.close();
});

const forgedStripe = (remoteAddress: string, payload = '{"id":"evt_forged","object":"event"}') =>
  app.inject({ method: 'POST', url: '/webhooks/stripe', remoteAddress, headers: { 'content-type': 'application/json', 'stripe-signature': `t=1,v1=${'0'.repeat(64)}` }, payload });

describe('public door limits', () => {
  it('limits each provider route per source address (429), without touching other addresses or providers', async () => {
    for (let i = 0; i < 3; i += 1) expect((await forgedStripe('203.0.113.7')).statusCode).toBe(400);
    const limited = await forgedStripe('203.0.113.7');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await forgedStripe('198.51.100.9')).statusCode).toBe(400);
    const swish = await app.inject({ method: 'POST', url: '/webhooks/swish', remoteAddress: '203.0.113.7', headers: { 'content-type': 'application/json' }, payload: '{"nope":' });
    expect(swish.statusCode).toBe(400);
  });

  it('refuses bodies above the provider’s size (413)', async () => {
    const swishBody = JSON.stringify({ id: 'A'.repeat(32), status: 'PAID', padding: 'x'.repeat(9 * 1024) });
    const swish = await app.inject({ method: 'POST', url: '/webhooks/swish', remoteAddress: '192.0.2.1', headers: { 'content-type': 'application/json' }, payload: swishBody });
    expect(swish.statusCode).toBe(413);
    const big = await forgedStripe('192.0.2.2', JSON.stringify({ id: 'evt_big', padding: 'x'.repeat(600 * 1024) }));
    expect(big.statusCode).toBe(413);
    expect((await forgedStripe('192.0.2.3', JSON.stringify({ id: 'evt_ok', padding: 'x'.repeat(100 * 1024) }))).statusCode).toBe(400);
  });

  it('answers a Swish callback about an id the ledger does not know with 200 and keeps nothing', async () => {
    const id = 'D'.repeat(32);
    const response = await app.inject({ method: 'POST', url: `/webhooks/swish?payment=${id}`, remoteAddress: '192.0.2.10', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ id, status: 'PAID' }) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: 0, duplicates: 0 });
    expect(await database.sql`select 1 from webhook_inbox where provider = 'swish' and event_id like ${`${id}:%`}`).toHaveLength(0);
  });

  it('shows the payer a status page with no amount, reference or payer data, and limits it per address', async () => {
    const page = await app.inject({ method: 'GET', url: '/payments/pay_known123456/return', remoteAddress: '192.0.2.20' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('being processed');
    expect(page.body).not.toContain('12345');
    expect(page.body).not.toContain('booking-secret-ref');
    expect((await app.inject({ method: 'GET', url: '/payments/pay_unknown12345/return', remoteAddress: '192.0.2.20' })).statusCode).toBe(404);
    for (let i = 0; i < 3; i += 1) await app.inject({ method: 'GET', url: '/payments/pay_known123456/return', remoteAddress: '192.0.2.20' });
    expect((await app.inject({ method: 'GET', url: '/payments/pay_known123456/return', remoteAddress: '192.0.2.20' })).statusCode).toBe(429);
  });
});

describe('PayPal verification budget', () => {
  const deferred = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    return { promise, resolve };
  };

  it('runs a few at a time, queues a bounded number and refuses the rest at once with 429', async () => {
    const budget = createVerifyBudget({ concurrency: 2, queueSize: 3, timeoutMs: 10_000, ratePerSecond: 1_000 });
    const gate = deferred();
    const runs = Array.from({ length: 8 }, () => budget.run(() => gate.promise).then(() => 'ok', (err: unknown) => err));
    expect(budget.stats()).toMatchObject({ inFlight: 2, queued: 3, refusedQueueFull: 3 });
    gate.resolve();
    const outcomes = await Promise.all(runs);
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(5);
    const refused = outcomes.filter((outcome) => outcome instanceof WebhookBudgetError) as WebhookBudgetError[];
    expect(refused.map((err) => err.status)).toEqual([429, 429, 429]);
    expect(budget.stats()).toMatchObject({ inFlight: 0, queued: 0, peakQueued: 3, peakInFlight: 2 });
  });

  it('keeps to its share of the rate: what cannot get a slot in time is answered 503', async () => {
    const budget = createVerifyBudget({ concurrency: 10, queueSize: 10, timeoutMs: 200, ratePerSecond: 1 });
    const outcomes = await Promise.all(Array.from({ length: 3 }, () => budget.run(async () => 'verified').catch((err: unknown) => err)));
    expect(outcomes[0]).toBe('verified');
    expect(outcomes.slice(1).map((outcome) => (outcome as WebhookBudgetError).status)).toEqual([503, 503]);
    expect(budget.stats()).toMatchObject({ admitted: 1, timedOut: 2, queued: 0 });
  });

  it('answers 503 when PayPal does not answer in time, and holds the slot until it does', async () => {
    const budget = createVerifyBudget({ concurrency: 1, queueSize: 0, timeoutMs: 50, ratePerSecond: 100 });
    const slow = deferred();
    const outcome = await budget.run(() => slow.promise).catch((err: unknown) => err);
    expect((outcome as WebhookBudgetError).status).toBe(503);
    expect(budget.stats().inFlight).toBe(1);
    expect(((await budget.run(async () => 'x').catch((err: unknown) => err)) as WebhookBudgetError).status).toBe(429);
    slow.resolve();
    await eventually(() => budget.stats().inFlight === 0, { what: 'the slot given back' });
  });
});
