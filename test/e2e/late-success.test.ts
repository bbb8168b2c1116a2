// Money that arrives after Skerry gave up, end to end against the sandboxes, per LATE_SUCCESS_POLICY:
// - Stripe: Skerry's create gets no answer (the sandbox made the PaymentIntent; its answer is lost)
//   and Skerry fails the payment; the customer then pays that PaymentIntent.
// - PayPal: Skerry expires the payment (PayPal has no call that cancels an unapproved order); the
//   payer approves the order afterwards, and reading it captures it.
// The signed webhooks reach the closed payment through the inbox; a new run settles the money.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { paymentEvents, webhookInbox } from '../../db/schema';
import type { LateSuccessPolicy } from '../../domain/payments';
import { insertLedger, momentIn, randomPastDay, tag } from '../support/reconciliation';

interface PaymentView {
  paymentId: string;
  status: string;
  providerReference: string | null;
  amountCaptured: number;
  amountRefunded: number;
  lateSuccess: { policy: string; closedAs: string; amountCaptured: number } | null;
}

/** The part of a sandbox's `/_control/state` these tests read. */
interface SandboxState {
  paymentIntents: Array<{ id: string; metadata?: Record<string, string> }>;
  refunds: Array<{ payment_intent?: string; orderId?: string; amount: unknown; status: string }>;
}
const sandboxState = async (stack: Stack, provider: 'stripe' | 'paypal') => (await (await fetch(`${stack.sandboxUrl}/${provider}/_control/state`)).json()) as SandboxState;

async function waitFor(stack: Stack, paymentId: string, done: (payment: PaymentView) => boolean, what: string): Promise<PaymentView> {
  return eventually(
    async () => {
      const payment = (await stack.http('GET', `/payments/${paymentId}`)).body as PaymentView;
      return done(payment) ? payment : undefined;
    },
    { what, timeoutMs: 45_000, everyMs: 200 },
  );
}

async function ledgerEvents(stack: Stack, paymentId: string) {
  return stack.database.db.select().from(paymentEvents).where(eq(paymentEvents.paymentId, paymentId)).orderBy(asc(paymentEvents.id));
}

/** Each ledger event once, and the money's way through the statuses in order. */
async function expectLedger(stack: Stack, paymentId: string, closedAs: string, ending: string[]) {
  const events = await ledgerEvents(stack, paymentId);
  const ids = events.map((event) => event.eventId);
  expect(new Set(ids).size).toBe(ids.length);
  // A refund's webhook and Skerry's own refund answer may each move the status; the way is the same.
  const applied = events.filter((event) => event.applied === 1).map((event) => event.statusAfter);
  const way = applied.filter((status, index) => status !== applied[index - 1]);
  expect(way.slice(way.indexOf(closedAs))).toEqual([closedAs, ...ending]);
}

/** Stripe: the create's answer is lost until Skerry gives up; the PaymentIntent exists all the same. */
async function stripeFailedButCreated(stack: Stack) {
  expect((await stack.control('/stripe/_control/faults', { timeoutRate: 1, timeoutPhase: 'after', timeoutMs: 5_000 })).status).toBe(200);
  const created = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 50_000, currency: 'SEK' }, reference: `late-${Date.now()}` });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const paymentId = created.body.paymentId as string;
  const failed = await waitFor(stack, paymentId, (payment) => payment.status === 'failed', 'Skerry to fail the payment');
  expect(failed.amountCaptured).toBe(0);
  expect((await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' })).status).toBe(200);
  const intents = (await sandboxState(stack, 'stripe')).paymentIntents.filter((intent) => intent.metadata?.skerry_payment_id === paymentId);
  expect(intents).toHaveLength(1);
  return { paymentId, pi: intents[0]!.id };
}

/** PayPal: Skerry expires the payment; the order stays approvable at PayPal. */
async function paypalExpired(stack: Stack) {
  const created = await stack.http('POST', '/payments', { provider: 'paypal', amount: { value: 4_000, currency: 'EUR' }, reference: `late-${Date.now()}` });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const paymentId = created.body.paymentId as string;
  const expired = await waitFor(stack, paymentId, (payment) => payment.status === 'expired', 'Skerry to expire the payment');
  return { paymentId, order: expired.providerReference! };
}

const stripeRefunds = async (stack: Stack, pi: string) =>
  (await sandboxState(stack, 'stripe')).refunds.filter((refund) => refund.payment_intent === pi);
const paypalRefunds = async (stack: Stack, order: string) => (await sandboxState(stack, 'paypal')).refunds.filter((refund) => refund.orderId === order);

function stackWith(policy: LateSuccessPolicy) {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        LATE_SUCCESS_POLICY: policy,
        PAYMENT_EXPIRES_AFTER_MS: '3000',
        PAYMENT_CONFIRM_WINDOW_MS: '1000',
        API_CREATE_WAIT_MS: '1000',
        RECONCILIATION_SCHEDULE_HOUR: 'off',
        CHANNEL_RESYNC_HOUR: 'off',
      },
    });
  });
  afterAll(async () => stack?.close());
  return () => stack;
}

describe('LATE_SUCCESS_POLICY=refund', () => {
  const stack = stackWith('refund');

  it('Stripe: the money the customer paid after Skerry failed the payment is refunded once', async () => {
    const { paymentId, pi } = await stripeFailedButCreated(stack());
    expect((await stack().control(`/stripe/_control/payments/${pi}/succeed`)).status).toBe(200);
    const refunded = await waitFor(stack(), paymentId, (payment) => payment.status === 'refunded', 'the late success refunded');
    expect(refunded).toMatchObject({ amountCaptured: 50_000, amountRefunded: 50_000, providerReference: pi, lateSuccess: { policy: 'refund', closedAs: 'failed', amountCaptured: 50_000 } });
    const refunds = await stripeRefunds(stack(), pi);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ amount: 50_000, status: 'succeeded' });
    // Every webhook of it settled as delivered (none left pending, none dropped as closed before the refund).
    await eventually(async () => {
      const rows = await stack().database.db.select().from(webhookInbox).where(eq(webhookInbox.providerReference, pi));
      return rows.length > 0 && rows.every((row) => row.status !== 'received' && row.status !== 'pending');
    });
    await expectLedger(stack(), paymentId, 'failed', ['succeeded', 'refunded']);
    // Stripe's later events for the same money (the refund's, a duplicate) change nothing.
    expect(await stripeRefunds(stack(), pi)).toHaveLength(1);
  });

  it('PayPal: the order the payer approved after Skerry expired it is captured and refunded once', async () => {
    const { paymentId, order } = await paypalExpired(stack());
    expect((await stack().control(`/paypal/_control/payments/${order}/succeed`)).status).toBe(200);
    const settled = await waitFor(stack(), paymentId, (payment) => payment.lateSuccess !== null && payment.amountRefunded > 0, 'the late success refunded');
    expect(settled).toMatchObject({ amountCaptured: 4_000, amountRefunded: 4_000, lateSuccess: { policy: 'refund', closedAs: 'expired', amountCaptured: 4_000 } });
    expect(settled.status).toBe('refunded');
    expect(await paypalRefunds(stack(), order)).toHaveLength(1);
    await expectLedger(stack(), paymentId, 'expired', ['succeeded', 'refunded']);
  });
});

describe('LATE_SUCCESS_POLICY=refund, healed by reconciliation', () => {
  const stack = stackWith('refund');

  it('heals "provider captured, ledger expired" (its webhooks lost) through the same late-success path', { timeout: 120_000 }, async () => {
    const { paymentId, order } = await paypalExpired(stack());
    // The payer approves and PayPal captures, and none of it reaches Skerry.
    expect((await stack().control('/paypal/_control/drift', { kind: 'lost_webhook', orderId: order })).status).toBe(200);
    expect((await stack().http('GET', `/payments/${paymentId}`)).body).toMatchObject({ status: 'expired', amountCaptured: 0 });

    const today = new Date().toISOString().slice(0, 10);
    const started = await stack().http('POST', '/reconciliations', { provider: 'paypal', from: today });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const run = await stack().api.reconciliation.result(started.body.id);
    expect(run.status).toBe('completed');
    const report = (await stack().http('GET', `/reconciliations/${run.runId}/report`)).body as {
      discrepancies: Array<{ kind: string; paymentId: string | null; healable: boolean; healed: boolean }>;
    };
    const mine = report.discrepancies.filter((d) => d.paymentId === paymentId && d.kind !== 'payment_without_booking');
    expect(mine).toMatchObject([{ kind: 'status_mismatch', healable: true, healed: true }]);

    const healed = await waitFor(stack(), paymentId, (payment) => payment.status === 'refunded', 'the healed late success refunded');
    expect(healed).toMatchObject({ amountCaptured: 4_000, amountRefunded: 4_000, lateSuccess: { policy: 'refund', closedAs: 'expired', amountCaptured: 4_000 } });
    expect(await paypalRefunds(stack(), order)).toHaveLength(1);
    await expectLedger(stack(), paymentId, 'expired', ['succeeded', 'refunded']);
  });
});

describe('LATE_SUCCESS_POLICY=refund, healed by reconciliation when the workflow is gone', () => {
  const stack = stackWith('refund');

  it('starts the late-success run from the ledger: a failed payment Stripe captured (seeded) is refunded once', { timeout: 120_000 }, async () => {
    const day = randomPastDay();
    const paymentId = `pay_gone${tag()}`;
    const createdMs = momentIn(day, 1);
    const { store } = stack().sandboxes.handles.stripe;
    const pi = store.seedPayment({ amount: 21_000, currency: 'SEK', createdMs, metadata: { skerry_payment_id: paymentId, skerry_reference: `res_${paymentId}` } });
    // As a payment workflow long past retention left it: failed, nothing captured.
    await insertLedger(stack().database.db, [
      { paymentId, provider: 'stripe', status: 'failed', reference: `res_${paymentId}`, currency: 'SEK', amount: 21_000, amountCaptured: 0, providerReference: pi.id, createdAt: new Date(createdMs) },
    ]);
    const started = await stack().http('POST', '/reconciliations', { provider: 'stripe', from: day });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const run = await stack().api.reconciliation.result(started.body.id);
    expect(run.counts).toMatchObject({ healable: 1, healed: 1 });
    const healed = await waitFor(stack(), paymentId, (payment) => payment.status === 'refunded', 'the late success refunded');
    expect(healed).toMatchObject({ amountCaptured: 21_000, amountRefunded: 21_000, lateSuccess: { policy: 'refund', closedAs: 'failed' } });
    expect([...store.refunds.values()].filter((refund) => refund.payment_intent === pi.id)).toHaveLength(1);
  });
});

describe('LATE_SUCCESS_POLICY=reopen', () => {
  const stack = stackWith('reopen');

  it('Stripe: the payment Skerry failed becomes succeeded with the money, and nothing is refunded', async () => {
    const { paymentId, pi } = await stripeFailedButCreated(stack());
    expect((await stack().control(`/stripe/_control/payments/${pi}/succeed`)).status).toBe(200);
    const reopened = await waitFor(stack(), paymentId, (payment) => payment.lateSuccess !== null, 'the payment reopened');
    expect(reopened).toMatchObject({ status: 'succeeded', amountCaptured: 50_000, amountRefunded: 0, lateSuccess: { policy: 'reopen', closedAs: 'failed' } });
    await expectLedger(stack(), paymentId, 'failed', ['succeeded']);
    expect(await stripeRefunds(stack(), pi)).toHaveLength(0);
    // Reopened means open for what a succeeded payment takes: a refund by the operator works.
    const refund = await stack().http('POST', `/payments/${paymentId}/refunds`, { amount: 10_000 }, { 'idempotency-key': `late-refund-${paymentId}` });
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body).toMatchObject({ status: 'partially_refunded', amountRefunded: 10_000 });
  });

  it('PayPal: the order approved after Skerry expired it is captured and kept', async () => {
    const { paymentId, order } = await paypalExpired(stack());
    expect((await stack().control(`/paypal/_control/payments/${order}/succeed`)).status).toBe(200);
    const reopened = await waitFor(stack(), paymentId, (payment) => payment.lateSuccess !== null, 'the payment reopened');
    expect(reopened).toMatchObject({ status: 'succeeded', amountCaptured: 4_000, amountRefunded: 0, lateSuccess: { policy: 'reopen', closedAs: 'expired' } });
    expect(await paypalRefunds(stack(), order)).toHaveLength(0);
    await expectLedger(stack(), paymentId, 'expired', ['succeeded']);
  });
});
