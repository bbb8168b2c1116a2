// Transaction reconciliation end to end: the production wiring (API, worker, sandboxes) against the
// run's Temporal and Postgres. Clean history and seeded drift are written straight into the ledger
// and the sandboxes' history (fast paths); the runs themselves go through the API, the workflow and
// the provider's own listing API over HTTP.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray } from 'drizzle-orm';
import { Client, Connection } from '@temporalio/client';
import { payments } from '../../db/schema';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { insertBookings, insertLedger, momentIn, randomPastDay, tag, type BookingSeed, type LedgerSeed } from '../support/reconciliation';
import { RECONCILIATION_SCHEDULE_ID, reconciliationWorkflowId } from '../../domain/workflow-ids';
import { type DiscrepancyKind, type ReconciliationState } from '../../domain/reconciliation';
import type { ReconciliationClient } from '../../client/reconciliation';

let stack: Stack;
let reconciliation: ReconciliationClient;

beforeAll(async () => {
  stack = await startStack({
    env: {
      // Payments wait an hour before asking the provider themselves: a lost webhook stays lost
      // until a reconciliation finds it.
      PAYMENT_CONFIRM_WINDOW_MS: '3600000',
      RECONCILIATION_SCHEDULE_HOUR: 'off',
    },
  });
  reconciliation = stack.api.reconciliation;
});
afterAll(async () => stack?.close());

interface Report {
  run: { counts: Record<string, unknown> };
  summary: { discrepancies: number; healed: number; forAPerson: number };
  discrepancies: Array<{ kind: DiscrepancyKind; paymentId: string | null; transactionId: string | null; reservationId: string | null; healable: boolean; healed: boolean; resolution: string }>;
}

async function runToCompletion(provider: string, from: string, extra: Record<string, unknown> = {}): Promise<ReconciliationState> {
  const started = await stack.http('POST', '/reconciliations', { provider, from, ...extra });
  expect(started.status).toBe(202);
  expect(started.body.id).toBe(reconciliationWorkflowId(provider as 'stripe', from));
  const state = await reconciliation.result(started.body.id);
  expect(state.error).toBeUndefined();
  expect(state.status).toBe('completed');
  return state;
}

function byKind(report: Report): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of report.discrepancies) (out[d.kind] ??= []).push(d.paymentId ?? d.transactionId ?? '?');
  for (const list of Object.values(out)) list.sort();
  return out;
}

describe('stripe: seeded drift over 10,000 clean rows', () => {
  it('finds each kind of drift exactly, no false positive, and heals the lost webhooks through the workflows', { timeout: 240_000 }, async () => {
    const day = randomPastDay();
    const t = tag();
    const { store } = stack.sandboxes.handles.stripe;
    const ledger: LedgerSeed[] = [];
    const bookings: BookingSeed[] = [];
    const seed = (i: number, name: string, options: { sandbox?: boolean; ledger?: Partial<LedgerSeed> | false; booking?: BookingSeed['status'] | false; amount?: number } = {}) => {
      const paymentId = `pay_${name}${t}${i}`;
      const reservationId = `res_${name}${t}${i}`;
      const amount = options.amount ?? 10_000 + (i % 500) * 10;
      const createdMs = momentIn(day, i);
      const pi =
        options.sandbox === false
          ? undefined
          : store.seedPayment({ amount, currency: 'SEK', createdMs, metadata: options.ledger === false ? {} : { skerry_payment_id: paymentId, skerry_reference: reservationId } });
      if (options.ledger !== false) {
        ledger.push({
          paymentId,
          provider: 'stripe',
          status: 'succeeded',
          reference: reservationId,
          currency: 'SEK',
          amount,
          amountCaptured: amount,
          providerReference: pi?.id ?? `pi_gone${t}${i}`,
          createdAt: new Date(createdMs),
          ...options.ledger,
        });
      }
      if (options.booking !== false && options.ledger !== false) bookings.push({ reservationId, paymentId, amount, currency: 'SEK', status: options.booking ?? 'confirmed' });
      return { paymentId, pi, createdMs, amount };
    };

    for (let i = 0; i < 10_000; i++) seed(i, 'c');
    // A lost payment webhook: Stripe captured, the ledger still waits (the booking is held).
    const lostPayment = seed(10_001, 'lp', { ledger: { status: 'processing', amountCaptured: 0 }, booking: 'held' });
    // A lost refund webhook: Stripe refunded part of it, the ledger never heard.
    const lostRefund = seed(10_002, 'lr');
    store.seedRefund({ paymentIntent: lostRefund.pi!.id, amount: 3_000, createdMs: lostRefund.createdMs + 3_600_000 });
    // Stripe captured another amount; settled in another currency.
    const amount = seed(10_003, 'am', { amount: 12_000 });
    store.driftAmount(amount.pi!.id, 11_000);
    const currency = seed(10_004, 'cu');
    store.driftCurrency(currency.pi!.id, 'eur');
    // A payment nobody's books know of.
    const orphan = seed(10_005, 'or', { ledger: false });
    const orphanTxn = store.chargeTransactionOf(orphan.pi!.id).id;
    // The ledger took money Stripe never saw.
    const missing = seed(10_006, 'mi', { sandbox: false });
    // Money for no booking; a paid booking whose funds Stripe holds back; money on a failed payment.
    const noBooking = seed(10_007, 'nb', { booking: false });
    const unsettled = seed(10_008, 'un');
    store.driftUnsettled(unsettled.pi!.id);
    const closed = seed(10_009, 'cl', { ledger: { status: 'failed', amountCaptured: 0 }, booking: false });

    await insertLedger(stack.database.db, ledger);
    await insertBookings(stack.database.db, bookings, day);

    const state = await runToCompletion('stripe', day);
    const report = (await stack.http('GET', `/reconciliations/${state.runId}/report`)).body as Report;

    expect(byKind(report)).toEqual({
      status_mismatch: [closed.paymentId, lostPayment.paymentId, lostRefund.paymentId].sort(),
      amount_mismatch: [amount.paymentId],
      currency_mismatch: [currency.paymentId],
      missing_in_ledger: [orphanTxn],
      missing_at_provider: [missing.paymentId],
      payment_without_booking: [noBooking.paymentId],
      booking_not_settled: [unsettled.paymentId],
    });
    // Money on a payment the ledger closed is healed too: as a late success (LATE_SUCCESS_POLICY, refund here).
    const healable = report.discrepancies.filter((d) => d.healable).map((d) => d.paymentId).sort();
    expect(healable).toEqual([closed.paymentId, lostPayment.paymentId, lostRefund.paymentId].sort());
    expect(report.discrepancies.find((d) => d.kind === 'booking_not_settled')?.reservationId).toBe(`res_un${t}10008`);

    // 10,000 clean + 8 drifted payments, + 1 refund; the clean rows and the payment without a booking match.
    expect(state.counts).toMatchObject({ transactions: 10_009, pages: 101, ledgerPayments: 10_006, matched: 10_002, discrepancies: 9, healable: 3, healed: 3 });
    expect(report.summary).toMatchObject({ discrepancies: 9, healed: 3, forAPerson: 6 });

    // Healed through the payments' workflows (signal-with-start adopted them): the ledger now says what Stripe says.
    const rows = await stack.database.db.select().from(payments).where(inArray(payments.id, [lostPayment.paymentId, lostRefund.paymentId]));
    const after = Object.fromEntries(rows.map((row) => [row.id, row]));
    expect(after[lostPayment.paymentId]).toMatchObject({ status: 'succeeded', amountCaptured: lostPayment.amount });
    expect(after[lostRefund.paymentId]).toMatchObject({ status: 'partially_refunded', amountRefunded: 3_000 });
    // Its workflow is gone (seeded straight into the ledger): the late-success run starts from the
    // ledger's state, and the policy refunds the money once.
    const closedRow = await eventually(async () => {
      const [row] = await stack.database.db.select().from(payments).where(eq(payments.id, closed.paymentId));
      return row?.status === 'refunded' ? row : undefined;
    }, { what: 'the closed payment refunded', timeoutMs: 30_000 });
    expect(closedRow).toMatchObject({ amountCaptured: closed.amount, amountRefunded: closed.amount });
    expect([...store.refunds.values()].filter((refund) => refund.payment_intent === closed.pi!.id)).toHaveLength(1);

    const csv = await fetch(`${stack.apiUrl}/reconciliations/${state.runId}/report?format=csv`, { headers: stack.authHeaders });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'id,kind,resolution,payment_id,transaction_id,reservation_id,provider_reference,ledger_status,provider_status,ledger_amount,provider_amount,currency,heal_result,explanation,resolved_by,resolved_at,resolution_note',
    );
    expect(lines).toHaveLength(10);
    expect(lines.filter((line) => line.includes(',healed,'))).toHaveLength(3);

    const view = (await stack.http('GET', `/reconciliations/${state.runId}`)).body;
    expect(view).toMatchObject({ id: state.runId, provider: 'stripe', from: day, to: day, status: 'completed', phase: 'done', trigger: 'manual' });
    expect(view.counts).toMatchObject({ transactions: 10_009, discrepancies: 9, healed: 3 });
  });
});

describe('paypal: seeded drift over clean rows', () => {
  it('finds each kind of drift exactly through the transaction search API', { timeout: 180_000 }, async () => {
    const day = randomPastDay();
    const t = tag();
    const { store } = stack.sandboxes.handles.paypal;
    const ledger: LedgerSeed[] = [];
    const bookings: BookingSeed[] = [];
    const seed = (i: number, name: string, options: { sandbox?: boolean; ledger?: Partial<LedgerSeed> | false; booking?: boolean; amount?: number } = {}) => {
      const paymentId = `pay_${name}${t}${i}`;
      const reservationId = `res_${name}${t}${i}`;
      const amount = options.amount ?? 5_000 + (i % 300) * 25;
      const createdMs = momentIn(day, i);
      const order =
        options.sandbox === false
          ? undefined
          : store.seedPayment({ amount: { minor: amount, currency: 'EUR' }, createdMs, customId: options.ledger === false ? undefined : paymentId });
      if (options.ledger !== false) {
        ledger.push({
          paymentId,
          provider: 'paypal',
          status: 'succeeded',
          reference: reservationId,
          currency: 'EUR',
          amount,
          amountCaptured: amount,
          providerReference: order?.id ?? `GONE${t}${i}`.toUpperCase(),
          createdAt: new Date(createdMs),
          ...options.ledger,
        });
        if (options.booking !== false) bookings.push({ reservationId, paymentId, amount, currency: 'EUR' });
      }
      return { paymentId, order, amount };
    };
    for (let i = 0; i < 2_000; i++) seed(i, 'c');
    const lost = seed(2_001, 'lp', { ledger: { status: 'created', amountCaptured: 0 } });
    const amount = seed(2_002, 'am');
    stack.sandboxes.handles.paypal.drift({ kind: 'amount_mismatch', orderId: amount.order!.id, amount: amount.amount - 100 });
    const orphan = stack.sandboxes.handles.paypal.drift({ kind: 'orphan', amount: { value: 4_200, currency: 'EUR' }, createdMs: momentIn(day, 2_003) });
    const missing = seed(2_004, 'mi', { sandbox: false });
    const noBooking = seed(2_005, 'nb', { booking: false });
    const unsettled = seed(2_006, 'un');
    stack.sandboxes.handles.paypal.drift({ kind: 'unsettled', orderId: unsettled.order!.id });

    await insertLedger(stack.database.db, ledger);
    await insertBookings(stack.database.db, bookings, day);

    const state = await runToCompletion('paypal', day, { pageSize: 500 });
    const report = (await stack.http('GET', `/reconciliations/${state.runId}/report`)).body as Report;
    expect(byKind(report)).toEqual({
      status_mismatch: [lost.paymentId],
      amount_mismatch: [amount.paymentId],
      missing_in_ledger: [orphan.transaction as string],
      missing_at_provider: [missing.paymentId],
      payment_without_booking: [noBooking.paymentId],
      booking_not_settled: [unsettled.paymentId],
    });
    expect(state.counts).toMatchObject({ transactions: 2_005, pages: 5, discrepancies: 6, healable: 1, healed: 1 });
    // The order was read at PayPal and signalled into an adopted payment workflow.
    const [row] = await stack.database.db.select().from(payments).where(eq(payments.id, lost.paymentId));
    expect(row).toMatchObject({ status: 'succeeded', amountCaptured: lost.amount });
  });
});

describe('swish and mobilepay: the bank settlement report and the Report API', () => {
  it('swish: matches the bank report on the order id, pairs payments in time order, finds the drift', { timeout: 120_000 }, async () => {
    const day = randomPastDay();
    const t = tag();
    const swish = stack.sandboxes.handles.swish;
    const ledger: LedgerSeed[] = [];
    const bookings: BookingSeed[] = [];
    const seed = (i: number, name: string, options: { sandbox?: boolean; booking?: boolean } = {}) => {
      const paymentId = `pay_${name}${t}${i}`;
      const reservationId = `res_${name}${t}${i}`;
      const id = randomBytes(16).toString('hex').toUpperCase();
      const amount = 30_000 + (i % 100) * 100;
      const createdMs = momentIn(day, i);
      if (options.sandbox !== false) {
        swish.store.seedPaidPayment({ id, payeeAlias: swish.payeeAlias, amountMinor: amount, payeePaymentReference: reservationId.replace(/[^a-zA-Z0-9]/g, ''), paidMs: createdMs + 30_000 });
      }
      ledger.push({ paymentId, provider: 'swish', status: 'succeeded', reference: reservationId, currency: 'SEK', amount, amountCaptured: amount, providerReference: id, createdAt: new Date(createdMs) });
      if (options.booking !== false) bookings.push({ reservationId, paymentId, amount, currency: 'SEK' });
      return { paymentId, id, amount };
    };
    for (let i = 0; i < 300; i++) seed(i, 'c');
    const amount = seed(301, 'am');
    swish.drift({ kind: 'amount_mismatch', id: amount.id, amount: amount.amount - 1_000 });
    const orphan = swish.drift({ kind: 'orphan', amount: 9_900, orderId: `nobody${t}`, createdMs: momentIn(day, 302) });
    const missing = seed(303, 'mi', { sandbox: false });
    await insertLedger(stack.database.db, ledger);
    await insertBookings(stack.database.db, bookings, day);

    const state = await runToCompletion('swish', day, { pageSize: 100 });
    const report = (await stack.http('GET', `/reconciliations/${state.runId}/report`)).body as Report;
    expect(byKind(report)).toEqual({
      amount_mismatch: [amount.paymentId],
      missing_in_ledger: [orphan.paymentReference as string],
      missing_at_provider: [missing.paymentId],
    });
    expect(state.counts).toMatchObject({ transactions: 302, ledgerPayments: 302, matched: 300, discrepancies: 3 });
  });

  it('mobilepay: pages the Report API funds ledger by day and cursor, finds the drift', { timeout: 120_000 }, async () => {
    const day = randomPastDay();
    const t = tag();
    const mobilepay = stack.sandboxes.handles.mobilepay;
    const msn = stack.config.mobilepay.merchantSerialNumber;
    const ledger: LedgerSeed[] = [];
    const bookings: BookingSeed[] = [];
    const seed = (i: number, name: string, options: { sandbox?: boolean } = {}) => {
      const paymentId = `pay_${name}${t}${i}`;
      const reservationId = `res_${name}${t}${i}`;
      const reference = `pay-${name}${t}${i}`;
      const amount = 15_000 + (i % 50) * 100;
      const createdMs = momentIn(day, i);
      if (options.sandbox !== false) mobilepay.store.seedCapturedPayment({ msn, reference, amount: { value: amount, currency: 'NOK' }, createdMs });
      ledger.push({ paymentId, provider: 'mobilepay', status: 'succeeded', reference: reservationId, currency: 'NOK', amount, amountCaptured: amount, providerReference: reference, createdAt: new Date(createdMs) });
      bookings.push({ reservationId, paymentId, amount, currency: 'NOK' });
      return { paymentId, reference, amount };
    };
    for (let i = 0; i < 400; i++) seed(i, 'c');
    const amount = seed(401, 'am');
    mobilepay.drift({ kind: 'amount_mismatch', reference: amount.reference, amount: amount.amount + 700 });
    const orphan = mobilepay.drift({ kind: 'orphan', msn, amount: { value: 12_300, currency: 'NOK' }, createdMs: momentIn(day, 402) });
    const missing = seed(403, 'mi', { sandbox: false });
    await insertLedger(stack.database.db, ledger);
    await insertBookings(stack.database.db, bookings, day);

    const state = await runToCompletion('mobilepay', day, { pageSize: 150 });
    const report = (await stack.http('GET', `/reconciliations/${state.runId}/report`)).body as Report;
    expect(byKind(report)).toEqual({
      amount_mismatch: [amount.paymentId],
      missing_in_ledger: [orphan.pspReference as string],
      missing_at_provider: [missing.paymentId],
    });
    expect(state.counts).toMatchObject({ transactions: 402, ledgerPayments: 402, matched: 400, discrepancies: 3 });
  });
});

describe('a live payment whose webhooks are lost', () => {
  it('is healed by an on-demand run: the ledger then shows what Stripe says, first the capture, then a refund', { timeout: 120_000 }, async () => {
    const created = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 42_000, currency: 'SEK' }, reference: `res_live${tag()}` });
    expect(created.status).toBe(201);
    const { paymentId, providerReference } = created.body as { paymentId: string; providerReference: string };
    const drifted = await stack.control('/stripe/_control/drift', { kind: 'lost_webhook', paymentIntent: providerReference });
    expect(drifted, JSON.stringify({ drifted, created: created.body })).toMatchObject({ status: 200 });
    // Stripe says succeeded; nothing reached Skerry.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await stack.http('GET', `/payments/${paymentId}`)).body.status).toBe('created');

    const today = new Date().toISOString().slice(0, 10);
    const first = await runToCompletion('stripe', today);
    // This payment has no booking: once the ledger knows it took money, that is reported too.
    const mine = (report: Report) => report.discrepancies.filter((d) => d.paymentId === paymentId && d.kind !== 'payment_without_booking');
    const firstReport = (await stack.http('GET', `/reconciliations/${first.runId}/report`)).body as Report;
    expect(mine(firstReport)).toMatchObject([{ kind: 'status_mismatch', healable: true, healed: true, resolution: 'healed' }]);
    expect((await stack.http('GET', `/payments/${paymentId}`)).body).toMatchObject({ status: 'succeeded', amountCaptured: 42_000 });

    // The merchant refunds in Stripe's dashboard and that webhook is lost too; the same day reconciled again.
    await stack.control('/stripe/_control/drift', { kind: 'lost_webhook', paymentIntent: providerReference, outcome: 'refunded' });
    const second = await runToCompletion('stripe', today);
    expect(second.runId).toBe(first.runId);
    const secondReport = (await stack.http('GET', `/reconciliations/${second.runId}/report`)).body as Report;
    expect(mine(secondReport)).toMatchObject([{ kind: 'status_mismatch', healable: true, healed: true }]);
    expect(secondReport.discrepancies.filter((d) => d.paymentId === paymentId).map((d) => d.kind).sort()).toEqual(['payment_without_booking', 'status_mismatch']);
    expect((await stack.http('GET', `/payments/${paymentId}`)).body).toMatchObject({ status: 'refunded', amountRefunded: 42_000 });
  });
});

describe('the API and the schedule', () => {
  it('validates requests and answers 404 for an unknown run', async () => {
    expect((await stack.http('POST', '/reconciliations', { provider: 'stripe', from: '2020-02-30x' })).status).toBe(400);
    expect((await stack.http('POST', '/reconciliations', { provider: 'stripe', from: '2020-03-10', to: '2020-03-01' })).status).toBe(400);
    expect((await stack.http('POST', '/reconciliations', { provider: 'stripe', from: '2099-01-01' })).status).toBe(400);
    expect((await stack.http('GET', '/reconciliations/reconciliation-stripe-1999-01-01')).status).toBe(404);
    expect((await stack.http('GET', '/reconciliations/nope/report')).status).toBe(404);
  });

  it('a second POST while the run is going returns the same run; GET shows it running', async () => {
    const day = randomPastDay();
    const first = await stack.http('POST', '/reconciliations', { provider: 'stripe', from: day });
    const second = await stack.http('POST', '/reconciliations', { provider: 'stripe', from: day });
    expect(first.body).toMatchObject({ id: `reconciliation-stripe-${day}`, started: true });
    expect(second.body.id).toBe(first.body.id);
    const live = await stack.http('GET', `/reconciliations/${first.body.id}`);
    expect(live.status).toBe(200);
    expect(['running', 'completed']).toContain(live.body.status);
    await reconciliation.result(first.body.id);
    const list = await stack.http('GET', '/reconciliations?provider=stripe');
    expect(list.body.runs.map((run: { id: string }) => run.id)).toContain(first.body.id);
  });

  it('the nightly Schedule reconciles the previous day under the same deterministic id', { timeout: 60_000 }, async () => {
    const outcome = await reconciliation.ensureSchedule({ hour: 4, providers: ['stripe'] });
    expect(['created', 'updated']).toContain(outcome);
    // Idempotent: a second start only brings it up to date.
    expect(await reconciliation.ensureSchedule({ hour: 4, providers: ['stripe'] })).toBe('updated');
    const connection = await Connection.connect({ address: stack.temporalAddress });
    const temporal = new Client({ connection, dataConverter: stack.dataConverter });
    try {
      const handle = temporal.schedule.getHandle(RECONCILIATION_SCHEDULE_ID);
      const described = await handle.describe();
      expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 4, end: 4, step: 1 }] });
      await handle.trigger();
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const runId = reconciliationWorkflowId('stripe', yesterday);
      const run = await eventually(async () => {
        const view = await reconciliation.get(runId).catch(() => undefined);
        return view?.trigger === 'schedule' && view.status === 'completed' ? view : undefined;
      }, { timeoutMs: 45_000, what: 'the scheduled run' });
      expect(run).toMatchObject({ provider: 'stripe', from: yesterday, trigger: 'schedule', status: 'completed' });
    } finally {
      await reconciliation.ensureSchedule({ hour: undefined, providers: [] });
      await connection.close();
    }
  });
});
