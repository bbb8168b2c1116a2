// Idempotency-Key on the requests that move money (issue 15): required (400 without), remembered per
// API key in Postgres (so a retry gets the first answer even when the workflow has moved on), and
// refused with 422 when the same key comes with another request — as Stripe does.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { addDays } from '../../domain/dates';

let stack: Stack;
let connection: Connection;
beforeAll(async () => {
  stack = await startStack({ env: { CHANNEL_RESYNC_HOUR: 'off', RECONCILIATION_SCHEDULE_HOUR: 'off' } });
  connection = await Connection.connect({ address: stack.temporalAddress });
});
afterAll(async () => {
  await connection?.close();
  await stack?.close();
});

/** A POST exactly as given: the stack's key, JSON, and an Idempotency-Key only when the test passes one. */
async function post(path: string, body: unknown, options: { idempotencyKey?: string; key?: string } = {}) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.key ?? stack.apiKey}`,
      'content-type': 'application/json',
      ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined, replayed: response.headers.get('idempotent-replayed') };
}

const refundsOf = (providerReference: string) =>
  stack.stripeSandbox.state().refunds.filter((refund: { payment_intent: string }) => refund.payment_intent === providerReference);

async function paidStripePayment(value = 50_000) {
  const created = await post('/payments', { provider: 'stripe', amount: { value, currency: 'SEK' }, reference: `idem-${randomUUID().slice(0, 8)}` }, { idempotencyKey: randomUUID() });
  expect(created.status, created.text).toBe(201);
  await stack.control(`/stripe/_control/payments/${created.body.providerReference}/succeed`);
  return eventually(async () => {
    const payment = (await stack.http('GET', `/payments/${created.body.paymentId}`)).body;
    return payment.status === 'succeeded' ? (payment as { paymentId: string; providerReference: string }) : undefined;
  }, { what: 'the payment succeeded' });
}

describe('Idempotency-Key on payments', () => {
  it('is required to create, capture and refund (400, and nothing happens)', async () => {
    const reference = `idem-none-${randomUUID().slice(0, 8)}`;
    const created = await post('/payments', { provider: 'stripe', amount: { value: 1_000, currency: 'SEK' }, reference });
    expect(created.status).toBe(400);
    expect(created.body).toMatchObject({ error: 'idempotency_key_required' });
    expect(stack.stripeSandbox.state().paymentIntents.filter((intent: { metadata?: Record<string, string> }) => intent.metadata?.skerry_reference === reference)).toHaveLength(0);

    const payment = await paidStripePayment();
    expect((await post(`/payments/${payment.paymentId}/capture`, {})).status).toBe(400);
    const refund = await post(`/payments/${payment.paymentId}/refunds`, { amount: 1_000 });
    expect(refund.status).toBe(400);
    expect(refund.body.message).toMatch(/Idempotency-Key/);
    expect(refundsOf(payment.providerReference)).toHaveLength(0);
    expect((await stack.http('GET', `/payments/${payment.paymentId}`)).body.amountRefunded).toBe(0);
  });

  it('answers a retried refund with the first answer and refunds once; another amount under the same key is 422', async () => {
    const payment = await paidStripePayment();
    const key = `refund-${randomUUID()}`;
    const first = await post(`/payments/${payment.paymentId}/refunds`, { amount: 10_000, reason: 'early checkout' }, { idempotencyKey: key });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ status: 'partially_refunded', amountRefunded: 10_000 });
    expect(first.replayed).toBeNull();

    const otherAmount = await post(`/payments/${payment.paymentId}/refunds`, { amount: 20_000, reason: 'early checkout' }, { idempotencyKey: key });
    expect(otherAmount.status).toBe(422);
    expect(otherAmount.body).toMatchObject({ error: 'idempotency_key_reused' });

    const retried = await post(`/payments/${payment.paymentId}/refunds`, { reason: 'early checkout', amount: 10_000 }, { idempotencyKey: key });
    expect(retried.status).toBe(200);
    expect(retried.replayed).toBe('true');
    expect(retried.text).toBe(first.text);
    expect(refundsOf(payment.providerReference).map((refund: { amount: number }) => refund.amount)).toEqual([10_000]);
    expect((await stack.http('GET', `/payments/${payment.paymentId}`)).body.amountRefunded).toBe(10_000);

    // The answer lives in Postgres, not in the workflow: it is the same once the workflow is gone
    // (as after continue-as-new, which forgets update ids).
    await new Client({ connection, namespace: 'default', dataConverter: stack.dataConverter }).workflow.getHandle(`payment-${payment.paymentId}`).terminate('idempotency test');
    const afterWorkflow = await post(`/payments/${payment.paymentId}/refunds`, { amount: 10_000, reason: 'early checkout' }, { idempotencyKey: key });
    expect(afterWorkflow.status).toBe(200);
    expect(afterWorkflow.text).toBe(first.text);
    expect(refundsOf(payment.providerReference)).toHaveLength(1);
  });

  it('keeps each API key’s Idempotency-Keys apart', async () => {
    const payment = await paidStripePayment();
    const key = `shared-${randomUUID()}`;
    const mine = await post(`/payments/${payment.paymentId}/refunds`, { amount: 5_000 }, { idempotencyKey: key });
    expect(mine.status).toBe(200);
    const { key: otherApiKey } = await stack.api.keys.create({ name: 'other integration', scopes: ['refunds:write'] });
    // Another API key's request with the same Idempotency-Key and another body is its own request, not a 422.
    const theirs = await post(`/payments/${payment.paymentId}/refunds`, { amount: 7_000 }, { idempotencyKey: key, key: otherApiKey });
    expect(theirs.status).not.toBe(422);
  });
});

describe('cancelling a paid booking', () => {
  it('needs an Idempotency-Key and refunds:write, and refunds once', async () => {
    const from = addDays('2028-03-01', Math.floor(Math.random() * 300));
    const property = (await stack.http('POST', '/properties', { name: `Idem ${randomUUID().slice(0, 6)}`, currency: 'SEK' })).body;
    const unit = (await stack.http('POST', `/properties/${property.id}/units`, { name: 'Cabin', count: 1 })).body;
    expect((await stack.http('PUT', `/units/${unit.id}/calendar`, { ranges: [{ from, to: addDays(from, 3), available: 1, price: { value: 100_000, currency: 'SEK' } }] })).status).toBe(200);

    const bookingBody = { unitId: unit.id, checkIn: from, checkOut: addDays(from, 2), guest: { name: 'Guest' }, payment: { provider: 'stripe' } };
    const { key: inventoryOnly } = await stack.api.keys.create({ name: 'front desk', scopes: ['inventory:write', 'read'] });
    // Taking a payment needs payments:write too.
    expect((await post('/bookings', bookingBody, { key: inventoryOnly })).status).toBe(403);
    const booked = await post('/bookings', bookingBody, { idempotencyKey: randomUUID() });
    expect(booked.status, booked.text).toBe(201);
    await stack.control(`/stripe/_control/payments/${booked.body.payment.providerReference}/succeed`);
    await eventually(async () => (await stack.http('GET', `/bookings/${booked.body.bookingId}`)).body.status === 'confirmed', { what: 'the booking confirmed', timeoutMs: 30_000 });

    const path = `/bookings/${booked.body.bookingId}/cancel`;
    expect((await post(path, { reason: 'plans changed' })).status).toBe(400);
    expect((await post(path, { reason: 'plans changed' }, { key: inventoryOnly, idempotencyKey: randomUUID() })).status).toBe(403);
    expect(refundsOf(booked.body.payment.providerReference)).toHaveLength(0);

    const key = `cancel-${randomUUID()}`;
    const cancelled = await post(path, { reason: 'plans changed' }, { idempotencyKey: key });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', payment: { status: 'refunded', amountRefunded: 200_000 } });
    const again = await post(path, { reason: 'plans changed' }, { idempotencyKey: key });
    expect(again.status).toBe(200);
    expect(again.text).toBe(cancelled.text);
    expect(refundsOf(booked.body.payment.providerReference)).toHaveLength(1);
  });
});
