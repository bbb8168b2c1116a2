// Contract: Skerry's Stripe sandbox answers every call Skerry makes with objects shaped as Stripe's.
// The same calls go to stripe-mock (Stripe's own OpenAPI-driven mock) and to the sandbox; every field
// stripe-mock returns must be in the sandbox's object with the same type, nested objects and list
// elements included. The sandbox then cannot drift from Stripe's API without this failing.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBinary } from '../../stack/binaries';
import { startStripeMock, type StripeMock } from '../../stack/stripe-mock';
import { createStripeSdk } from '../../providers/stripe/client';
import { buildSandbox } from '../../sandbox/server';

const API_KEY = 'sk_test_shape_contract';

let mock: StripeMock;
let sandbox: FastifyInstance;
let fromMock: Stripe;
let fromSandbox: Stripe;
let sandboxBase = '';

beforeAll(async () => {
  const binPath = await ensureBinary('stripe-mock', { explicitPath: process.env.STRIPE_MOCK_PATH, log: (message) => console.log(message) });
  mock = await startStripeMock({ binPath });
  fromMock = createStripeSdk({ secretKey: 'sk_test_123', apiBase: mock.baseUrl });
  sandbox = await buildSandbox({ logger: false, stripe: { webhookUrl: '', webhookSecret: 'whsec_shape_contract', apiKeys: [API_KEY], seed: 7 } });
  await sandbox.listen({ host: '127.0.0.1', port: 0 });
  sandboxBase = `http://127.0.0.1:${(sandbox.server.address() as AddressInfo).port}/stripe`;
  fromSandbox = createStripeSdk({ secretKey: API_KEY, apiBase: sandboxBase });
});
afterAll(async () => {
  await sandbox?.close();
  await mock?.stop();
});

const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/**
 * Where the sandbox's object differs from Stripe's. A null in Stripe's answer says the field is
 * nullable, so any value fits; a field Stripe fills must be there with the same type (or null, which
 * Stripe itself answers for the nullable fields stripe-mock's fixtures happen to fill).
 */
function drift(stripe: unknown, ours: unknown, path: string): string[] {
  if (stripe === null) return [];
  if (ours === null) return NULLABLE.has(path.replace(/\[\]/g, '')) ? [] : [`${path}: ${kindOf(stripe)} expected, got null`];
  if (kindOf(stripe) !== kindOf(ours)) return [`${path}: ${kindOf(stripe)} expected, got ${kindOf(ours)}`];
  if (Array.isArray(stripe)) {
    const sample = stripe[0];
    return sample === undefined ? [] : (ours as unknown[]).flatMap((element) => drift(sample, element, `${path}[]`));
  }
  if (typeof stripe !== 'object') return [];
  const object = ours as Record<string, unknown>;
  // A polymorphic field (a balance transaction's expanded `source`) holds different resources; only
  // resources of the same kind have the same shape.
  const resource = (stripe as Record<string, unknown>).object;
  if (typeof resource === 'string' && typeof object.object === 'string' && resource !== object.object) return [];
  return Object.entries(stripe as Record<string, unknown>).flatMap(([key, value]) =>
    key in object ? drift(value, object[key], `${path}.${key}`) : [`${path}.${key}: missing`],
  );
}

/**
 * Fields Stripe's API reference marks nullable that stripe-mock's fixtures fill in: the sandbox
 * answers null where Stripe does for an intent in that state (no error yet, no next action, not
 * canceled, no shipping or Connect transfer).
 */
const NULLABLE = new Set<string>([
  'payment_intent.canceled_at',
  'payment_intent.last_payment_error',
  'payment_intent.next_action',
  'payment_intent.payment_method_configuration_details',
  'payment_intent.processing',
  'payment_intent.shipping',
  'payment_intent.transfer_data',
]);

async function both<T>(call: (stripe: Stripe, side: 'mock' | 'sandbox') => Promise<T>): Promise<{ stripe: T; ours: T }> {
  return { stripe: await call(fromMock, 'mock'), ours: await call(fromSandbox, 'sandbox') };
}

async function control(path: string): Promise<void> {
  const response = await fetch(`${sandboxBase}/_control${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(response.status, await response.clone().text()).toBe(200);
}

const intentParams = (captureMethod: 'manual' | 'automatic'): Stripe.PaymentIntentCreateParams => ({
  amount: 12_500,
  currency: 'sek',
  capture_method: captureMethod,
  description: 'shape contract',
  automatic_payment_methods: { enabled: true },
  metadata: { skerry_payment_id: 'pay_shape', skerry_reference: 'booking-shape' },
});

describe('the Stripe sandbox’s objects against stripe-mock’s, field by field', () => {
  // stripe-mock keeps no state (any id answers); the sandbox's intents are made and paid here.
  const paid = { mock: 'pi_mock', sandbox: '' };
  beforeAll(async () => {
    paid.sandbox = (await fromSandbox.paymentIntents.create(intentParams('automatic'))).id;
    await control(`/payments/${paid.sandbox}/succeed`);
  });

  it('paymentIntents.create', async () => {
    const { stripe, ours } = await both((client, side) => client.paymentIntents.create(intentParams('manual'), { idempotencyKey: `shape-create-${side}-${Date.now()}` }));
    expect(drift(stripe, ours, 'payment_intent')).toEqual([]);
  });

  it('paymentIntents.retrieve', async () => {
    const { stripe, ours } = await both((client, side) => client.paymentIntents.retrieve(side === 'mock' ? paid.mock : paid.sandbox));
    expect(drift(stripe, ours, 'payment_intent')).toEqual([]);
  });

  it('paymentIntents.capture', async () => {
    const held = { mock: 'pi_mock', sandbox: (await fromSandbox.paymentIntents.create(intentParams('manual'))).id };
    await control(`/payments/${held.sandbox}/succeed`);
    const { stripe, ours } = await both((client, side) =>
      client.paymentIntents.capture(side === 'mock' ? held.mock : held.sandbox, { amount_to_capture: 10_000 }, { idempotencyKey: `shape-capture-${side}-${Date.now()}` }),
    );
    expect(drift(stripe, ours, 'payment_intent')).toEqual([]);
  });

  it('paymentIntents.cancel', async () => {
    const open = await fromSandbox.paymentIntents.create(intentParams('automatic'));
    const { stripe, ours } = await both((client, side) =>
      client.paymentIntents.cancel(side === 'mock' ? 'pi_mock' : open.id, { cancellation_reason: 'abandoned' }, { idempotencyKey: `shape-cancel-${side}-${Date.now()}` }),
    );
    expect(drift(stripe, ours, 'payment_intent')).toEqual([]);
  });

  it('refunds.create and refunds.list', async () => {
    const created = await both((client, side) =>
      client.refunds.create(
        { payment_intent: side === 'mock' ? paid.mock : paid.sandbox, amount: 2_500, reason: 'requested_by_customer', metadata: { skerry_reason: 'shape' } },
        { idempotencyKey: `shape-refund-${side}-${Date.now()}` },
      ),
    );
    expect(drift(created.stripe, created.ours, 'refund')).toEqual([]);
    const listed = await both((client, side) => client.refunds.list({ payment_intent: side === 'mock' ? paid.mock : paid.sandbox, limit: 100 }));
    expect(listed.ours.data.length).toBeGreaterThan(0);
    expect(drift(listed.stripe, listed.ours, 'refunds')).toEqual([]);
  });

  it('balanceTransactions.list with data.source expanded', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const { stripe, ours } = await both((client) =>
      client.balanceTransactions.list({ created: { gte: nowSeconds - 3_600, lt: nowSeconds + 3_600 }, limit: 100, expand: ['data.source'] }),
    );
    expect(ours.data.length).toBeGreaterThan(0);
    expect(drift(stripe, ours, 'balance_transactions')).toEqual([]);
  });

  it('balance.retrieve', async () => {
    const { stripe, ours } = await both((client) => client.balance.retrieve());
    expect(drift(stripe, ours, 'balance')).toEqual([]);
  });
});
