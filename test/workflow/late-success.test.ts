// Money a provider captures after Skerry closed the payment: a new run of the same workflow settles
// it by LATE_SUCCESS_POLICY. The scripted provider plays the race (it lets a closed payment succeed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import { startWorkerHarness, eventually, type WorkerHarness } from '../support/harness';
import { createScriptedProvider } from '../support/scripted-provider';
import { paymentEvents } from '../../db/schema';
import { paymentWorkflowId } from '../../domain/workflow-ids';
import { providerIdempotencyKey, type PaymentObservation, type PaymentState, type PaymentStatus } from '../../domain/payments';

const provider = createScriptedProvider();
const timing = { confirmWindowMs: 300, expiresAfterMs: 1_500, refundWindowMs: 3_000, authorizationHoldMs: 60_000 };
let refunding: WorkerHarness;
let reopening: WorkerHarness;

beforeAll(async () => {
  refunding = await startWorkerHarness({ providers: provider.registry, timing, lateSuccessPolicy: 'refund' });
  reopening = await startWorkerHarness({ providers: provider.registry, timing, lateSuccessPolicy: 'reopen' });
});
afterAll(async () => {
  await refunding?.close();
  await reopening?.close();
});

let n = 0;
const ref = () => `LATE-${Date.now()}-${++n}`;
const succeededWebhook = (eventId: string, providerReference: string, amountCaptured: number): PaymentObservation => ({
  eventId,
  source: 'webhook',
  providerEventType: 'payment_intent.succeeded',
  providerReference,
  status: 'succeeded',
  amountCaptured,
  occurredAt: new Date().toISOString(),
});

async function closedAs(h: WorkerHarness, paymentId: string, status: PaymentStatus): Promise<PaymentState> {
  const state = await h.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).result();
  expect(state.status).toBe(status);
  return state as PaymentState;
}

async function ledgerEvents(h: WorkerHarness, paymentId: string) {
  return h.database.db.select().from(paymentEvents).where(eq(paymentEvents.paymentId, paymentId)).orderBy(asc(paymentEvents.id));
}

const refundCalls = (key: string) => provider.calls.filter((call) => call.operation === 'refund' && call.key === key);

describe('late success after Skerry expired the payment', () => {
  it('refund: a new run records the captured money, refunds it once, and the payment ends refunded', async () => {
    const h = refunding;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 50_000, currency: 'SEK' }, reference: ref() });
    const closed = await closedAs(h, started.paymentId, 'expired');
    expect(closed.amountCaptured).toBe(0);

    // The customer's payment went through at the provider all the same.
    provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 50_000 });
    const late = succeededWebhook(`evt_late_${started.paymentId}`, started.providerReference!, 50_000);
    expect(await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: late })).toBe('reopened');

    const settled = await eventually(
      async () => {
        const state = await h.payments.getPayment(started.paymentId);
        return state.status === 'refunded' ? state : undefined;
      },
      { what: 'the late success refunded' },
    );
    expect(settled).toMatchObject({ amountCaptured: 50_000, amountRefunded: 50_000, lateSuccess: { policy: 'refund', closedAs: 'expired', amountCaptured: 50_000 } });
    const key = providerIdempotencyKey.lateSuccessRefund(started.paymentId);
    expect(refundCalls(key)).toHaveLength(1);

    // The same webhook again, and another event for the same money: nothing starts, nothing is refunded twice.
    await closedAs(h, started.paymentId, 'refunded');
    expect(await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: late })).toBe('closed');
    const charge = succeededWebhook(`evt_charge_${started.paymentId}`, started.providerReference!, 50_000);
    expect(await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: charge })).toBe('closed');
    expect(refundCalls(key)).toHaveLength(1);
    expect(provider.snapshot(started.providerReference!).amountRefunded).toBe(50_000);

    // The ledger shows the money captured, then refunded; each event once.
    const events = await ledgerEvents(h, started.paymentId);
    const ids = events.map((event) => event.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    const statuses = events.filter((event) => event.applied === 1).map((event) => event.statusAfter);
    expect(statuses.slice(-3)).toEqual(['expired', 'succeeded', 'refunded']);
  });

  it('reopen: the payment becomes succeeded with the captured money and is open for refunds; nothing is refunded', async () => {
    const h = reopening;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 30_000, currency: 'SEK' }, reference: ref() });
    await closedAs(h, started.paymentId, 'expired');
    provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 30_000 });
    const late = succeededWebhook(`evt_late_${started.paymentId}`, started.providerReference!, 30_000);
    expect(await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: late })).toBe('reopened');
    const reopened = await eventually(
      async () => {
        const state = await h.payments.getPayment(started.paymentId);
        return state.lateSuccess ? state : undefined;
      },
      { what: 'the payment reopened' },
    );
    expect(reopened).toMatchObject({ status: 'succeeded', amountCaptured: 30_000, amountRefunded: 0, lateSuccess: { policy: 'reopen', closedAs: 'expired' } });
    // A duplicate joins the running new run.
    expect(await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: late })).toBe('delivered');
    expect(refundCalls(providerIdempotencyKey.lateSuccessRefund(started.paymentId))).toHaveLength(0);
    const final = await closedAs(h, started.paymentId, 'succeeded');
    expect(final.amountCaptured).toBe(30_000);
    const ids = (await ledgerEvents(h, started.paymentId)).map((event) => event.eventId);
    expect(ids.filter((id) => id === late.eventId)).toHaveLength(1);
  });

  it('an event for a closed payment that moved no money starts nothing', async () => {
    const h = refunding;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 10_000, currency: 'SEK' }, reference: ref() });
    await closedAs(h, started.paymentId, 'expired');
    const canceled: PaymentObservation = { ...succeededWebhook(`evt_cancel_${started.paymentId}`, started.providerReference!, 0), status: 'canceled' };
    expect(await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: canceled })).toBe('closed');
    // A hint (an unsigned callback) asks the provider in a new run; it says canceled, so the payment stays expired.
    expect(await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'hint', hint: { eventId: 'cb_1', providerEventType: 'callback' } })).toBe('reopened');
    const after = await eventually(async () => {
      const description = await h.temporal.workflow.getHandle(paymentWorkflowId(started.paymentId)).describe();
      return description.status.name === 'COMPLETED' && description.runId !== undefined ? description : undefined;
    });
    expect(after.status.name).toBe('COMPLETED');
    const state = await closedAs(h, started.paymentId, 'expired');
    expect(state.lateSuccess).toBeUndefined();
  });
});

describe('a Stripe payment declined while processing', () => {
  it('expires once the provider says the payer has it again, cancelling it at the provider first', async () => {
    const h = refunding;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 20_000, currency: 'SEK' }, reference: ref() });
    provider.settle(started.providerReference!, { status: 'processing', providerStatus: 'processing' });
    const processing: PaymentObservation = { ...succeededWebhook(`evt_proc_${started.paymentId}`, started.providerReference!, 0), status: 'processing' };
    await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: processing });
    // The bank debit fails: Stripe hands the intent back (requires_payment_method with the error).
    provider.settle(started.providerReference!, { status: 'created', providerStatus: 'requires_payment_method', failureReason: 'card_declined: generic_decline' });
    const state = await closedAs(h, started.paymentId, 'expired');
    expect(state.amountCaptured).toBe(0);
    expect(provider.calls.filter((call) => call.operation === 'cancel' && call.key === providerIdempotencyKey.cancel(started.paymentId))).toHaveLength(1);
  });

  it('stays processing while the provider is still processing it, past its expiry', async () => {
    const h = refunding;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 20_000, currency: 'SEK' }, reference: ref() });
    provider.settle(started.providerReference!, { status: 'processing', providerStatus: 'processing' });
    const processing: PaymentObservation = { ...succeededWebhook(`evt_proc_${started.paymentId}`, started.providerReference!, 0), status: 'processing' };
    await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: processing });
    const createdAt = Date.parse(started.createdAt);
    // Polled past its expiry: still processing, never cancelled.
    await eventually(() => provider.calls.some((call) => call.operation === 'get' && call.at > createdAt + timing.expiresAfterMs + timing.confirmWindowMs), {
      what: 'a poll after the expiry',
    });
    expect((await h.payments.getPayment(started.paymentId)).status).toBe('processing');
    expect(provider.calls.filter((call) => call.operation === 'cancel' && call.key === providerIdempotencyKey.cancel(started.paymentId))).toHaveLength(0);
    provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 20_000 });
    await eventually(async () => (await h.payments.getPayment(started.paymentId)).status === 'succeeded', { what: 'succeeded by the next poll' });
  });
});
