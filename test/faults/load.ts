// Drives payments the way a business would: create through the API, let the customer pay in the
// sandbox, wait for the workflow to say succeeded. Shared by the fault tests.
import { eq, inArray, sql } from 'drizzle-orm';
import { eventually } from '../support/harness';
import type { Stack } from '../support/stack';
import { paymentEvents, payments } from '../../db/schema';

export interface CreatedPayment {
  paymentId: string;
  reference: string;
}

export async function createPayments(stack: Stack, count: number, prefix: string): Promise<CreatedPayment[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const reference = `${prefix}-${Date.now()}-${index}`;
      const response = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 10_000 + index, currency: 'SEK' }, reference }, {
        'idempotency-key': reference,
      });
      if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(response.body)}`);
      return { paymentId: response.body.paymentId as string, reference };
    }),
  );
}

/** Plays the customer for every payment once its PaymentIntent exists, then waits for success. */
export async function payAndAwait(stack: Stack, created: CreatedPayment[], timeoutMs = 120_000): Promise<void> {
  await Promise.all(
    created.map(async ({ paymentId }) => {
      const withIntent = await eventually(async () => {
        const payment = (await stack.http('GET', `/payments/${paymentId}`)).body;
        return payment?.providerReference ? payment : undefined;
      }, { timeoutMs, everyMs: 200, what: `${paymentId} to have a PaymentIntent` });
      await eventually(async () => {
        const answer = await stack.control(`/stripe/_control/payments/${withIntent.providerReference}/succeed`);
        // 409: already succeeded by an earlier attempt whose answer was lost.
        return answer.status === 200 || answer.status === 409;
      }, { timeoutMs, everyMs: 200, what: `the customer to pay ${paymentId}` });
      // The ledger row is the durable record; the workflow's query can be a moment ahead of it.
      await eventually(async () => (await ledgerStatus(stack, paymentId)) === 'succeeded', {
        timeoutMs,
        everyMs: 200,
        what: `${paymentId} to succeed in the ledger`,
      });
    }),
  );
}

/** The invariants every fault test checks: one PaymentIntent per payment, no duplicate ledger rows. */
export async function integrity(stack: Stack, created: CreatedPayment[]) {
  const ids = created.map((payment) => payment.paymentId);
  const intents = stack.stripeSandbox
    .state()
    .paymentIntents.filter((intent: { metadata?: Record<string, string> }) => ids.includes(intent.metadata?.skerry_payment_id ?? ''));
  const intentsPerPayment = new Map<string, number>();
  for (const intent of intents as Array<{ metadata: Record<string, string> }>) {
    intentsPerPayment.set(intent.metadata.skerry_payment_id!, (intentsPerPayment.get(intent.metadata.skerry_payment_id!) ?? 0) + 1);
  }
  const ledger = await stack.database.db.select().from(payments).where(inArray(payments.id, ids));
  const duplicateEvents = await stack.database.db
    .select({ paymentId: paymentEvents.paymentId, eventId: paymentEvents.eventId, count: sql<number>`count(*)::int` })
    .from(paymentEvents)
    .where(inArray(paymentEvents.paymentId, ids))
    .groupBy(paymentEvents.paymentId, paymentEvents.eventId)
    .having(sql`count(*) > 1`);
  const succeeded = ledger.filter((row) => row.status === 'succeeded').length;
  return {
    payments: ids.length,
    succeeded,
    lost: ids.length - succeeded,
    paymentIntents: intents.length,
    paymentsWithMoreThanOneIntent: [...intentsPerPayment.values()].filter((count) => count > 1).length,
    ledgerRows: ledger.length,
    duplicateLedgerEvents: duplicateEvents.length,
  };
}

export async function ledgerStatus(stack: Stack, paymentId: string) {
  const [row] = await stack.database.db.select().from(payments).where(eq(payments.id, paymentId));
  return row?.status;
}
