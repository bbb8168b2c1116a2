// Stripe payments end to end: HTTP API → workflow → official stripe SDK → sandbox → signed webhook
// → inbox → signal → ledger. Only the customer's actions are played through the sandbox controls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import Stripe from 'stripe';
import { startStack, TEST_WEBHOOK_SECRET, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { paymentEvents, payments, webhookInbox } from '../../db/schema';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.close());

let n = 0;
const newPayment = (overrides: Record<string, unknown> = {}) => ({
  provider: 'stripe',
  amount: { value: 125_000, currency: 'SEK' },
  reference: `booking-${Date.now()}-${++n}`,
  description: 'Cabin 3, two nights',
  ...overrides,
});

async function create(overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const response = await stack.http('POST', '/payments', newPayment(overrides), headers);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

const statusOf = async (paymentId: string) => (await stack.http('GET', `/payments/${paymentId}`)).body;
const waitForStatus = (paymentId: string, status: string) =>
  eventually(async () => {
    const payment = await statusOf(paymentId);
    return payment.status === status ? payment : undefined;
  }, { what: `payment ${paymentId} to be ${status}` });

describe('Stripe payments through the API and the sandbox', () => {
  it('completes a payment once the customer succeeds, with the ledger and the inbox in step', async () => {
    const created = await create();
    expect(created).toMatchObject({ status: 'created', provider: 'stripe', workflowId: `payment-${created.paymentId}` });
    expect(created.providerReference).toMatch(/^pi_/);
    expect(created.nextAction).toMatchObject({ type: 'stripe_client_secret' });
    expect(created.nextAction.clientSecret).toMatch(new RegExp(`^${created.providerReference}_secret_`));

    expect((await stack.control(`/stripe/_control/payments/${created.providerReference}/succeed`)).status).toBe(200);
    const paid = await waitForStatus(created.paymentId, 'succeeded');
    expect(paid.amountCaptured).toBe(125_000);
    // charge.succeeded and payment_intent.succeeded may arrive in either order; both are recorded.
    await eventually(async () =>
      (await statusOf(created.paymentId)).events.some(
        (event: { source: string; providerEventType: string }) => event.source === 'webhook' && event.providerEventType === 'payment_intent.succeeded',
      ),
    );

    const [row] = await eventually(async () => {
      const rows = await stack.database.db.select().from(payments).where(eq(payments.id, created.paymentId));
      return rows[0]?.status === 'succeeded' ? rows : undefined;
    });
    expect(row).toMatchObject({ amountCaptured: 125_000, providerReference: created.providerReference });
    const inbox = await stack.database.db.select().from(webhookInbox).where(eq(webhookInbox.providerReference, created.providerReference));
    expect(inbox.length).toBeGreaterThan(0);
    expect(inbox.filter((entry) => entry.status === 'received' || entry.status === 'pending')).toHaveLength(0);
    const intents = stack.stripeSandbox.state().paymentIntents.filter((intent: { metadata?: Record<string, string> }) => intent.metadata?.skerry_payment_id === created.paymentId);
    expect(intents).toHaveLength(1);
  });

  it('keeps a declined payment open with the decline reason, and succeeds when the customer pays with another card', async () => {
    const created = await create();
    await stack.control(`/stripe/_control/payments/${created.providerReference}/fail`, { decline_code: 'insufficient_funds' });
    const declined = await eventually(async () => {
      const payment = await statusOf(created.paymentId);
      return payment.failureReason ? payment : undefined;
    }, { what: `the decline of ${created.paymentId} to be observed` });
    // A decline is an attempt: Stripe's intent is back in requires_payment_method, and so is Skerry's payment.
    expect(declined).toMatchObject({ status: 'created', amountCaptured: 0, nextAction: { type: 'stripe_client_secret' } });
    expect(declined.failureReason).toContain('insufficient_funds');

    expect((await stack.control(`/stripe/_control/payments/${created.providerReference}/succeed`)).status).toBe(200);
    const paid = await waitForStatus(created.paymentId, 'succeeded');
    expect(paid.amountCaptured).toBe(125_000);
    const [row] = await eventually(async () => {
      const rows = await stack.database.db.select().from(payments).where(eq(payments.id, created.paymentId));
      return rows[0]?.status === 'succeeded' ? rows : undefined;
    });
    expect(row).toMatchObject({ amountCaptured: 125_000 });
  });

  it('passes through requires_action (3-D Secure) and then succeeds', async () => {
    const created = await create();
    await stack.control(`/stripe/_control/payments/${created.providerReference}/require_action`);
    await waitForStatus(created.paymentId, 'requires_action');
    await stack.control(`/stripe/_control/payments/${created.providerReference}/succeed`);
    await waitForStatus(created.paymentId, 'succeeded');
  });

  it('holds with manual capture, captures part, refunds part then the rest, and refuses impossible requests with 409', async () => {
    const created = await create({ captureMethod: 'manual', amount: { value: 80_000, currency: 'SEK' } });
    const early = await stack.http('POST', `/payments/${created.paymentId}/capture`, {});
    expect(early.status).toBe(409);
    expect(early.body.message).toMatch(/requires_capture/);

    await stack.control(`/stripe/_control/payments/${created.providerReference}/succeed`);
    await waitForStatus(created.paymentId, 'requires_capture');
    const captured = await stack.http('POST', `/payments/${created.paymentId}/capture`, { amount: 60_000 });
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toMatchObject({ status: 'succeeded', amountCaptured: 60_000 });

    const tooMuch = await stack.http('POST', `/payments/${created.paymentId}/refunds`, { amount: 60_001 });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.message).toMatch(/between 1 and 60000/);

    const partial = await stack.http('POST', `/payments/${created.paymentId}/refunds`, { amount: 20_000 });
    expect(partial.body).toMatchObject({ status: 'partially_refunded', amountRefunded: 20_000 });
    const rest = await stack.http('POST', `/payments/${created.paymentId}/refunds`, {});
    expect(rest.body).toMatchObject({ status: 'refunded', amountRefunded: 60_000 });
    const refunds = stack.stripeSandbox.state().refunds.filter((refund: { payment_intent: string }) => refund.payment_intent === created.providerReference);
    expect(refunds.map((refund: { amount: number }) => refund.amount).sort()).toEqual([20_000, 40_000]);
  });

  it('cancels a payment that has not been paid, and then refuses a capture', async () => {
    const created = await create();
    const canceled = await stack.http('POST', `/payments/${created.paymentId}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe('canceled');
    const intent = stack.stripeSandbox.state().paymentIntents.find((candidate: { id: string }) => candidate.id === created.providerReference);
    expect(intent?.status).toBe('canceled');
    expect((await stack.http('POST', `/payments/${created.paymentId}/capture`, {})).status).toBe(409);
  });

  it('returns the same payment for a repeated Idempotency-Key and refuses the key with other parameters', async () => {
    const key = `order-${Date.now()}`;
    const body = newPayment();
    const first = await stack.http('POST', '/payments', body, { 'idempotency-key': key });
    const second = await stack.http('POST', '/payments', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(second.body.paymentId).toBe(first.body.paymentId);
    expect(second.body.providerReference).toBe(first.body.providerReference);
    const intents = stack.stripeSandbox.state().paymentIntents.filter((intent: { metadata?: Record<string, string> }) => intent.metadata?.skerry_payment_id === first.body.paymentId);
    expect(intents).toHaveLength(1);
    const reused = await stack.http('POST', '/payments', { ...body, amount: { value: 1_000, currency: 'SEK' } }, { 'idempotency-key': key });
    // As Stripe answers it: the same key with other parameters is refused with 422 (issue 15).
    expect(reused.status).toBe(422);
    expect(reused.body.message).toMatch(/Idempotency-Key/);
  });

  it('answers 400 naming the field for malformed input, and 404 for an unknown payment', async () => {
    const bad = await stack.http('POST', '/payments', newPayment({ amount: { value: '12', currency: 'SEK' } }));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('body.amount.value');
    const badProvider = await stack.http('POST', '/payments', newPayment({ provider: 'bitcoin' }));
    expect(badProvider.status).toBe(400);
    expect(badProvider.body.message).toContain('body.provider');
    expect((await stack.http('GET', '/payments/pay_000000000000000000000000')).status).toBe(404);
    expect((await stack.http('GET', '/payments/not-an-id')).status).toBe(400);
    expect((await stack.http('POST', '/payments/pay_000000000000000000000000/refunds', {})).status).toBe(404);
  });

  it('refuses forged and stale webhooks with 400 and records nothing', async () => {
    const sdk = new Stripe('sk_test_x');
    const payload = JSON.stringify({ id: `evt_forged_${Date.now()}`, object: 'event', type: 'payment_intent.succeeded', created: 1, data: { object: { id: 'pi_x', object: 'payment_intent' } } });
    const post = (signature: string) =>
      fetch(`${stack.publicUrl}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });
    const forged = await post(sdk.webhooks.generateTestHeaderString({ payload, secret: 'whsec_attacker' }));
    expect(forged.status).toBe(400);
    const stale = await post(sdk.webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 600 }));
    expect(stale.status).toBe(400);
    expect(((await stale.json()) as { reason: string }).reason).toBe('stale');
    const rows = await stack.database.db.select().from(webhookInbox).where(eq(webhookInbox.eventId, JSON.parse(payload).id));
    expect(rows).toHaveLength(0);
  });

  it('applies duplicated and reordered webhooks once, without moving backwards', async () => {
    await stack.control('/stripe/_control/faults', { duplicateWebhooks: 1, reorderWebhooks: true, seed: 7 });
    try {
      const created = await create();
      await stack.control(`/stripe/_control/payments/${created.providerReference}/succeed`, { via: 'processing' });
      await waitForStatus(created.paymentId, 'succeeded');
      await stack.control('/stripe/_control/webhooks/flush', { timeoutMs: 10_000, expedite: true });
      const rows = await stack.database.db.select().from(webhookInbox).where(eq(webhookInbox.providerReference, created.providerReference));
      expect(rows.some((row) => row.duplicates > 0)).toBe(true);
      const events = await stack.database.db.select().from(paymentEvents).where(eq(paymentEvents.paymentId, created.paymentId));
      const succeededTransitions = events.filter((event) => event.statusAfter === 'succeeded' && event.statusBefore !== 'succeeded');
      expect(succeededTransitions).toHaveLength(1);
      expect((await statusOf(created.paymentId)).status).toBe('succeeded');
    } finally {
      await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
    }
  });
});
