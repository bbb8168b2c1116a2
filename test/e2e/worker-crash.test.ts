// A worker killed with SIGKILL while it is creating the PaymentIntent: the activity is retried on
// the restarted worker with the same idempotency key, so Stripe sees one PaymentIntent, and the
// ledger holds each event once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { exited, spawnWorkerProcess } from '../support/worker-process';
import { paymentEvents, payments } from '../../db/schema';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ startWorker: false });
});
afterAll(async () => stack?.close());

describe('worker crash mid-activity', () => {
  it('completes the payment after a SIGKILL with one PaymentIntent and no duplicate ledger rows', async () => {
    await stack.control('/stripe/_control/faults', { latencyMs: 3_000 });
    const first = spawnWorkerProcess(stack.config);
    const reference = `crash-${Date.now()}`;
    const creating = stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 50_000, currency: 'SEK' }, reference });

    // The create call is at the sandbox, held by the injected latency: kill the worker now.
    await eventually(() => (stack.stripeSandbox.state().counts.faultsInjected.latency ?? 0) >= 1, { timeoutMs: 60_000, what: 'create call in flight' });
    first.kill('SIGKILL');
    await exited(first);
    await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });

    const restarted = spawnWorkerProcess(stack.config);
    try {
      const accepted = await creating;
      expect(accepted.status).toBe(201);
      const paymentId: string = accepted.body.paymentId;
      const withIntent = await eventually(async () => {
        const payment = (await stack.http('GET', `/payments/${paymentId}`)).body;
        return payment.providerReference ? payment : undefined;
      }, { timeoutMs: 60_000, what: 'the retried create on the restarted worker' });

      await stack.control(`/stripe/_control/payments/${withIntent.providerReference}/succeed`);
      await eventually(async () => (await stack.http('GET', `/payments/${paymentId}`)).body.status === 'succeeded', { timeoutMs: 30_000 });

      const intents = stack.stripeSandbox.state().paymentIntents.filter((intent: { metadata?: Record<string, string> }) => intent.metadata?.skerry_payment_id === paymentId);
      expect(intents).toHaveLength(1);
      // The create really was sent again after the crash; the idempotency key made it the same one.
      expect(stack.stripeSandbox.state().counts.requestsByRoute['POST /v1/payment_intents']).toBeGreaterThanOrEqual(2);
      const rows = await stack.database.db.select().from(payments).where(eq(payments.reference, reference));
      expect(rows).toHaveLength(1);
      const duplicates = await stack.database.db
        .select({ eventId: paymentEvents.eventId, count: sql<number>`count(*)::int` })
        .from(paymentEvents)
        .where(eq(paymentEvents.paymentId, paymentId))
        .groupBy(paymentEvents.eventId)
        .having(sql`count(*) > 1`);
      expect(duplicates).toEqual([]);
      console.log(`[F1] one PaymentIntent (${withIntent.providerReference}) after SIGKILL; ledger rows: ${rows.length}`);
    } finally {
      restarted.kill('SIGTERM');
      await exited(restarted);
    }
  });
});
