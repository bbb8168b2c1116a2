// Conditional GETs through the production clients against the sandboxes: a read that has not
// changed is answered 304 and served from the cache (in process, or Redis shared by processes); a
// change at the provider is read in full; a webhook's invalidation forces a full read.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox } from '../../sandbox/server';
import type { LoggedRequest } from '../../sandbox/shared/faults';
import { createStripeClient } from '../../providers/stripe/client';
import { createMobilePayClient } from '../../providers/mobilepay/client';
import { createProviderGate } from '../../providers/resilience/gate';
import { createMemoryResponseCache, createRedisResponseCache } from '../../providers/resilience/response-cache';
import { registerWebhookRoutes } from '../../api/webhooks/routes';
import type { WebhookInbox } from '../../store/webhook-inbox';
import type { WebhookDelivery } from '../../api/webhooks/delivery';
import type { CreateProviderPaymentRequest } from '../../providers/types';

const MOBILEPAY = { clientId: 'cg-client', clientSecret: 'cg-secret', subscriptionKey: 'cg-subscription', merchantSerialNumber: '223344' };
let sandbox: FastifyInstance;
let base = '';
let redis: Redis;

beforeAll(async () => {
  sandbox = await buildSandbox({
    stripe: { webhookUrl: '', webhookSecret: 'whsec_conditional_get' },
    mobilepay: { webhookUrl: '', webhookSecret: 'cg-webhook', credentials: [MOBILEPAY] },
  });
  await sandbox.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(sandbox.server.address() as AddressInfo).port}`;
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await sandbox?.close();
  await redis?.quit();
});

const log = async (provider: string) => ((await (await fetch(`${base}/${provider}/_control/request-log`)).json()) as { requests: LoggedRequest[] }).requests;
const clearLog = (provider: string) => fetch(`${base}/${provider}/_control/request-log`, { method: 'DELETE' });
const request = (): CreateProviderPaymentRequest => {
  const paymentId = `pay_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  return { paymentId, amount: { value: 12_500, currency: 'SEK' }, reference: 'cabin-3', captureMethod: 'manual', idempotencyKey: `skerry-${paymentId}-create` };
};

describe('conditional GETs against the sandboxes', () => {
  it('Stripe: a 304 is served from the cache, a change is read in full, an invalidation forces a full read', async () => {
    const cache = createMemoryResponseCache();
    const gate = createProviderGate('stripe', { cache });
    const stripe = createStripeClient({ secretKey: 'sk_test_conditional_get', apiBase: `${base}/stripe`, gate });
    const created = await stripe.createPayment(request());
    await clearLog('stripe');

    const first = await stripe.getPayment(created.providerReference);
    const second = await stripe.getPayment(created.providerReference);
    expect(second).toEqual(first);
    let reads = (await log('stripe')).filter((entry) => entry.method === 'GET');
    expect(reads.map((entry) => [entry.conditional, entry.status])).toEqual([
      [false, 200],
      [true, 304],
    ]);
    expect(gate.stats.notModified).toBe(1);

    // The payer pays: the ETag changes, so the conditional GET is answered in full.
    await fetch(`${base}/stripe/_control/payments/${created.providerReference}/succeed`, { method: 'POST' });
    expect((await stripe.getPayment(created.providerReference)).status).toBe('requires_capture');

    // A webhook about the payment drops its cached reads: the next read is unconditional.
    expect(await cache.invalidate('stripe', created.providerReference)).toBeGreaterThan(0);
    await stripe.getPayment(created.providerReference);
    reads = (await log('stripe')).filter((entry) => entry.method === 'GET');
    expect(reads.map((entry) => [entry.conditional, entry.status])).toEqual([
      [false, 200],
      [true, 304],
      [true, 200],
      [false, 200],
    ]);
  });

  it('MobilePay with the cache in Redis: a second process gets the 304 from the shared cache', async () => {
    const prefix = `skerry-test:${randomUUID()}`;
    const client = () =>
      createMobilePayClient({
        ...MOBILEPAY,
        apiBase: `${base}/mobilepay`,
        returnUrl: 'https://shop.example/return/{paymentId}',
        gate: createProviderGate('mobilepay', { cache: createRedisResponseCache(redis, { prefix }), cacheScope: MOBILEPAY.merchantSerialNumber }),
      });
    // Two clients with their own gates: two worker processes sharing one Redis.
    const first = client();
    const second = client();
    const payment = request();
    const created = await first.createPayment({ ...payment, amount: { value: 1_000, currency: 'NOK' } });
    await clearLog('mobilepay');
    const read = await first.getPayment(created.providerReference);
    expect(await second.getPayment(created.providerReference)).toEqual(read);
    const reads = (await log('mobilepay')).filter((entry) => entry.method === 'GET');
    expect(reads.map((entry) => [entry.conditional, entry.status])).toEqual([
      [false, 200],
      [true, 304],
    ]);
    await redis.del(...(await redis.keys(`${prefix}:*`)));
  });
});

describe('webhook path', () => {
  it('drops the cached reads of the payment a verified webhook names, before the event is recorded', async () => {
    const order: string[] = [];
    const app = Fastify();
    registerWebhookRoutes(app, {
      inbox: {
        record: async () => {
          order.push('record');
          return { inserted: [], duplicates: 0 };
        },
      } as unknown as WebhookInbox,
      delivery: { deliverNow: () => undefined, saturated: () => false } as unknown as WebhookDelivery,
      verifiers: [
        {
          provider: 'stripe',
          verify: async () => [
            { provider: 'stripe', eventId: 'evt_1', eventType: 'payment_intent.succeeded', providerReference: 'pi_123456', delivery: 'observation', payload: {} },
          ],
        },
      ],
      invalidate: async (provider, reference) => {
        order.push(`invalidate ${provider} ${reference}`);
      },
    });
    const response = await app.inject({ method: 'POST', url: '/stripe', payload: '{}', headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(200);
    expect(order).toEqual(['invalidate stripe pi_123456', 'record']);
    await app.close();
  });
});
