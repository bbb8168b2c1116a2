// Drives payments the way a business would: create through the API, let the customer pay in the
// sandbox, wait for the workflow to say succeeded. Shared by the fault tests.
import { eq, inArray, sql } from 'drizzle-orm';
import { eventually } from '../support/harness';
import type { Stack } from '../support/stack';
import { paymentEvents, payments } from '../../db/schema';
import { CURRENCY, type FaultProvider, providerIntegrity } from './provider-objects';

export interface CreatedPayment {
  paymentId: string;
  reference: string;
  provider: FaultProvider;
  amount: number;
}

export async function createPayments(
  stack: Stack,
  count: number,
  prefix: string,
  options: { provider?: FaultProvider; captureMethod?: 'automatic' | 'manual' } = {},
): Promise<CreatedPayment[]> {
  const provider = options.provider ?? 'stripe';
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const reference = `${prefix}-${Date.now()}-${index}`;
      const amount = 10_000 + index;
      const body = { provider, amount: { value: amount, currency: CURRENCY[provider] }, reference, ...(options.captureMethod ? { captureMethod: options.captureMethod } : {}) };
      // The same Idempotency-Key on every try: a create whose answer was lost is not made twice.
      const response = await eventually(async () => {
        const answer = await stack.http('POST', '/payments', body, { 'idempotency-key': reference });
        if (answer.status === 201) return answer;
        if (answer.status < 500) throw new Error(`create refused: ${answer.status} ${JSON.stringify(answer.body)}`);
        return undefined;
      }, { timeoutMs: 120_000, everyMs: 500, what: `${reference} to be created` });
      return { paymentId: response.body.paymentId as string, reference, provider, amount };
    }),
  );
}

/** Waits for the payment's provider object to exist (the view answers null until then). */
export async function providerReferenceOf(stack: Stack, paymentId: string, timeoutMs = 120_000): Promise<string> {
  return eventually(async () => {
    const payment = (await stack.http('GET', `/payments/${paymentId}`)).body;
    return (payment?.providerReference as string | null | undefined) ?? undefined;
  }, { timeoutMs, everyMs: 200, what: `${paymentId} to exist at its provider` });
}

/** The payer approves at the provider (the sandbox's control plays them). */
export async function approve(stack: Stack, payment: CreatedPayment, timeoutMs = 120_000): Promise<void> {
  const reference = await providerReferenceOf(stack, payment.paymentId, timeoutMs);
  await eventually(async () => {
    const answer = await stack.control(`/${payment.provider}/_control/payments/${encodeURIComponent(reference)}/succeed`);
    // 409: already approved by an earlier attempt whose answer was lost.
    return answer.status === 200 || answer.status === 409;
  }, { timeoutMs, everyMs: 200, what: `the payer to approve ${payment.paymentId}` });
}

/** Waits until the API's view of the payment has `status`. */
export async function viewStatus(stack: Stack, paymentId: string, status: string, timeoutMs = 120_000) {
  return eventually(async () => {
    const payment = (await stack.http('GET', `/payments/${paymentId}`)).body;
    return payment?.status === status ? payment : undefined;
  }, { timeoutMs, everyMs: 200, what: `${paymentId} to be ${status}` });
}

/**
 * A merchant command (capture, refund) sent as a careful client sends it: the same Idempotency-Key
 * on every try, retried while the answer is an outage (5xx) or missing.
 */
export async function command(stack: Stack, path: string, body: unknown, idempotencyKey: string, timeoutMs = 120_000) {
  const answer = await eventually(async () => {
    const response = await stack.http('POST', path, body, { 'idempotency-key': idempotencyKey }).catch(() => undefined);
    return !response || response.status >= 500 ? undefined : response;
  }, { timeoutMs, everyMs: 500, what: `${path} to be answered` });
  // A refusal is an answer: no point asking again.
  if (answer.status !== 200) throw new Error(`${path} refused: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Plays the customer for every payment once its PaymentIntent exists, then waits for success. */
export async function payAndAwait(stack: Stack, created: CreatedPayment[], timeoutMs = 120_000): Promise<void> {
  await Promise.all(
    created.map(async (payment) => {
      const { paymentId } = payment;
      await approve(stack, payment, timeoutMs);
      // The ledger row is the durable record; the workflow's query can be a moment ahead of it.
      await eventually(async () => (await ledgerStatus(stack, paymentId)) === 'succeeded', {
        timeoutMs,
        everyMs: 200,
        what: `${paymentId} to succeed in the ledger`,
      });
    }),
  );
}

/**
 * The invariants every fault test checks: one payment object at the provider per payment (a
 * PaymentIntent, order, payment request or ePayment), no duplicate ledger rows. `status` is the
 * ledger status every payment must have reached.
 */
export async function integrity(stack: Stack, created: CreatedPayment[], status = 'succeeded') {
  const ids = created.map((payment) => payment.paymentId);
  const provider = created[0]?.provider ?? 'stripe';
  const atProvider = await providerIntegrity(stack, provider, created, { creates: 1 });
  const ledger = await stack.database.db.select().from(payments).where(inArray(payments.id, ids));
  const duplicateEvents = await stack.database.db
    .select({ paymentId: paymentEvents.paymentId, eventId: paymentEvents.eventId, count: sql<number>`count(*)::int` })
    .from(paymentEvents)
    .where(inArray(paymentEvents.paymentId, ids))
    .groupBy(paymentEvents.paymentId, paymentEvents.eventId)
    .having(sql`count(*) > 1`);
  const reached = ledger.filter((row) => row.status === status).length;
  return {
    payments: ids.length,
    succeeded: reached,
    lost: ids.length - reached,
    paymentIntents: atProvider.providerCreates,
    paymentsWithMoreThanOneIntent: atProvider.paymentsWithWrongCreates,
    ledgerRows: ledger.length,
    duplicateLedgerEvents: duplicateEvents.length,
  };
}

export async function ledgerStatus(stack: Stack, paymentId: string) {
  const [row] = await stack.database.db.select().from(payments).where(eq(payments.id, paymentId));
  return row?.status;
}
