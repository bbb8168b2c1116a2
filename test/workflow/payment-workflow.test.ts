import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { startWorkerHarness, eventually, type WorkerHarness } from '../support/harness';
import { createScriptedProvider } from '../support/scripted-provider';
import { ProviderError } from '../../providers/errors';
import { PaymentConflictError } from '../../client/payments';
import { paymentEvents, payments as paymentsTable } from '../../db/schema';
import { paymentWorkflowId } from '../../domain/workflow-ids';
import { type PaymentObservation } from '../../domain/payments';

const provider = createScriptedProvider();
let h: WorkerHarness;

beforeAll(async () => {
  h = await startWorkerHarness({
    providers: provider.registry,
    timing: { confirmWindowMs: 400, expiresAfterMs: 2_500, refundWindowMs: 3_000, authorizationHoldMs: 60_000 },
  });
});
afterAll(async () => h?.close());

let n = 0;
const ref = () => `WF-${Date.now()}-${++n}`;
const webhook = (eventId: string, change: Partial<PaymentObservation>): PaymentObservation => ({
  eventId,
  source: 'webhook',
  providerEventType: 'test.event',
  occurredAt: new Date().toISOString(),
  ...change,
});

async function ledgerRow(paymentId: string) {
  const [row] = await h.database.db.select().from(paymentsTable).where(eq(paymentsTable.id, paymentId));
  return row;
}

describe('payment workflow', () => {
  it('creates the provider payment, applies a webhook, writes the ledger and search attributes', async () => {
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 12_500, currency: 'sek' }, reference: ref() });
    expect(started.status).toBe('created');
    expect(started.providerReference).toMatch(/^sp_/);
    expect(started.nextAction).toEqual({ type: 'stripe_client_secret', clientSecret: `${started.providerReference}_secret` });
    expect(started.amount.currency).toBe('SEK');

    provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 12_500 });
    const observation = webhook(`evt_${started.paymentId}`, { status: 'succeeded', amountCaptured: 12_500, providerReference: started.providerReference });
    const outcome = await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation });
    expect(outcome).toBe('delivered');
    // The same event again changes nothing.
    await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation });

    const row = await eventually(async () => {
      const current = await ledgerRow(started.paymentId);
      return current?.status === 'succeeded' ? current : undefined;
    }, { what: 'ledger row succeeded' });
    expect(row).toMatchObject({ amountCaptured: 12_500, provider: 'stripe', providerReference: started.providerReference });
    const events = await h.database.db.select().from(paymentEvents).where(eq(paymentEvents.paymentId, started.paymentId));
    expect(events.filter((event) => event.eventId === observation.eventId)).toHaveLength(1);

    // The ledger row is written by a local activity inside the workflow task; the search attributes
    // change when that task completes, a moment later.
    const described = await eventually(async () => {
      const current = await h.temporal.workflow.getHandle(paymentWorkflowId(started.paymentId)).describe();
      return current.searchAttributes.PaymentStatus?.[0] === 'succeeded' ? current : undefined;
    }, { what: 'PaymentStatus succeeded' });
    expect(described.searchAttributes.PaymentProvider).toEqual(['stripe']);
    expect(described.searchAttributes.PaymentId).toEqual([started.paymentId]);
  });

  it('asks the provider when no webhook comes within the confirm window', async () => {
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 900, currency: 'EUR' }, reference: ref() });
    provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 900 });
    const state = await eventually(async () => {
      const current = await h.payments.getPayment(started.paymentId);
      return current.status === 'succeeded' ? current : undefined;
    }, { what: 'poll to find success' });
    expect(state.events.some((event) => event.source === 'poll' && event.statusAfter === 'succeeded')).toBe(true);
  });

  it('expires a payment the payer never completes, cancelling it at the provider', async () => {
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 500, currency: 'SEK' }, reference: ref() });
    const result = await h.temporal.workflow.getHandle(paymentWorkflowId(started.paymentId)).result();
    expect(result.status).toBe('expired');
    expect(provider.snapshot(started.providerReference!).status).toBe('expired');
    expect((await ledgerRow(started.paymentId))?.status).toBe('expired');
  });

  it('captures part of a hold, refunds in two steps, and refuses a refund beyond what was captured', async () => {
    const started = await h.payments.startPayment({
      provider: 'stripe',
      amount: { value: 10_000, currency: 'SEK' },
      reference: ref(),
      captureMethod: 'manual',
    });
    await expect(h.payments.capture(started.paymentId, { amount: 1 })).rejects.toThrow(PaymentConflictError);
    await h.payments.deliverObservation({
      paymentId: started.paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: webhook(`evt_hold_${started.paymentId}`, { status: 'requires_capture', amountAuthorized: 10_000 }),
    });
    await eventually(async () => (await h.payments.getPayment(started.paymentId)).status === 'requires_capture');
    const captured = await h.payments.capture(started.paymentId, { amount: 7_000 });
    expect(captured).toMatchObject({ status: 'succeeded', amountCaptured: 7_000 });

    await expect(h.payments.refund(started.paymentId, { amount: 7_001 })).rejects.toThrow(/between 1 and 7000/);
    const partial = await h.payments.refund(started.paymentId, { amount: 2_000 }, { updateId: `refund-1-${started.paymentId}` });
    expect(partial).toMatchObject({ status: 'partially_refunded', amountRefunded: 2_000 });
    // The same update id is answered once: no second refund at the provider.
    const again = await h.payments.refund(started.paymentId, { amount: 2_000 }, { updateId: `refund-1-${started.paymentId}` });
    expect(again.amountRefunded).toBe(2_000);
    const full = await h.payments.refund(started.paymentId);
    expect(full).toMatchObject({ status: 'refunded', amountRefunded: 7_000 });
    const refundCalls = provider.calls.filter((call) => call.operation === 'refund' && call.key?.includes(started.paymentId));
    expect(refundCalls.map((call) => call.key)).toEqual([`skerry-${started.paymentId}-refund-1`, `skerry-${started.paymentId}-refund-2`]);
    await h.temporal.workflow.getHandle(paymentWorkflowId(started.paymentId)).result();
  });

  it('cancels a payment on request and refuses commands afterwards', async () => {
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 4_000, currency: 'SEK' }, reference: ref() });
    const canceled = await h.payments.cancel(started.paymentId);
    expect(canceled.status).toBe('canceled');
    await h.temporal.workflow.getHandle(paymentWorkflowId(started.paymentId)).result();
    await expect(h.payments.refund(started.paymentId)).rejects.toThrow(PaymentConflictError);
  });

  it('returns the same payment for a repeated idempotency key and refuses one reused with other parameters', async () => {
    const key = `idem-${Date.now()}-${Math.random()}`;
    const request = { provider: 'stripe' as const, amount: { value: 3_000, currency: 'SEK' }, reference: ref() };
    const first = await h.payments.startPayment(request, { idempotencyKey: key });
    const second = await h.payments.startPayment(request, { idempotencyKey: key });
    expect(second.paymentId).toBe(first.paymentId);
    expect(second.providerReference).toBe(first.providerReference);
    expect(provider.calls.filter((call) => call.key === `skerry-${first.paymentId}-create`)).toHaveLength(1);
    await expect(h.payments.startPayment({ ...request, amount: { value: 3_001, currency: 'SEK' } }, { idempotencyKey: key })).rejects.toThrow(
      /different parameters/,
    );
  });

  it('fails the payment with the reason when the provider refuses to create it, without retrying', async () => {
    provider.failNext('create', new ProviderError('stripe', 'create', 'validation', 'Invalid currency: xyz', { httpStatus: 400 }));
    const before = provider.calls.filter((call) => call.operation === 'create').length;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 100, currency: 'XYZ' }, reference: ref() });
    expect(started.status).toBe('failed');
    expect(started.creationError?.type).toBe('ProviderError.validation');
    expect(started.failureReason).toMatch(/Invalid currency/);
    expect(provider.calls.filter((call) => call.operation === 'create').length - before).toBe(1);
  });

  it('waits exactly the Retry-After of a 429 before the next attempt', async () => {
    provider.failNext('create', new ProviderError('stripe', 'create', 'rate_limited', 'Too many requests', { httpStatus: 429, retryAfterMs: 1_500 }));
    const before = provider.calls.length;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 100, currency: 'SEK' }, reference: ref() });
    expect(started.providerReference).toBeDefined();
    const attempts = provider.calls.slice(before).filter((call) => call.operation === 'create');
    expect(attempts).toHaveLength(2);
    const gap = attempts[1]!.at - attempts[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(1_500);
    expect(gap).toBeLessThan(1_500 + 1_000);
  });

  it('signal-with-start adopts a provider payment whose workflow does not exist, and runs a closed one again only to ask about a success', async () => {
    const existing = await provider.client.createPayment({
      paymentId: 'pay_adopted',
      amount: { value: 777, currency: 'SEK' },
      reference: 'outside',
      captureMethod: 'automatic',
      idempotencyKey: `outside-${Date.now()}`,
    });
    provider.settle(existing.providerReference, { status: 'failed', providerStatus: 'requires_payment_method', failureReason: 'card_declined' });
    const paymentId = `pay_adopt${Date.now()}`;
    const outcome = await h.payments.deliverObservation({
      paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: webhook(`evt_adopt_${paymentId}`, { status: 'failed', failureReason: 'card_declined', providerReference: existing.providerReference }),
      adopt: { amount: { value: 777, currency: 'SEK' }, reference: 'outside', captureMethod: 'automatic', providerReference: existing.providerReference },
    });
    expect(outcome).toBe('delivered');
    const handle = h.temporal.workflow.getHandle(paymentWorkflowId(paymentId));
    const result = await handle.result();
    expect(result.status).toBe('failed');
    expect(result.providerReference).toBe(existing.providerReference);

    const late = await h.payments.deliverObservation({
      paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: webhook(`evt_late_${paymentId}`, { status: 'succeeded' }),
      adopt: { amount: { value: 777, currency: 'SEK' }, reference: 'outside', captureMethod: 'automatic', providerReference: existing.providerReference },
    });
    // A success for a closed payment is never dropped (#17): a second run asks the provider, which
    // captured nothing, so the payment stays failed and nothing else happens.
    expect(late).toBe('reopened');
    await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', { what: 'the second run closed' });
    expect(await handle.result()).toMatchObject({ status: 'failed', amountCaptured: 0 });
    expect((await handle.result()).lateSuccess).toBeUndefined();
    const runs = [];
    for await (const run of h.temporal.workflow.list({ query: `WorkflowId = '${paymentWorkflowId(paymentId)}'` })) runs.push(run);
    expect(runs).toHaveLength(2);
  });
});
