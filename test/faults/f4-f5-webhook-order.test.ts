// F4: a webhook before its workflow exists, and one after it completed → no orphan runs.
// F5: shuffled and duplicated events → no state regression.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { asc, eq, inArray } from 'drizzle-orm';
import Stripe from 'stripe';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { createStripeSdk } from '../../providers/stripe/client';
import { DELIVERABLE_INBOX_STATUSES, paymentEvents, webhookInbox } from '../../db/schema';
import { paymentWorkflowId } from '../../domain/workflow-ids';
import { type PaymentStatus } from '../../domain/payments';
import { lifecycleOf } from '../../workflows/payments/state';
import { createPayments, integrity, payAndAwait } from './load';

let stack: Stack;
let stripe: Stripe;
beforeAll(async () => {
  stack = await startStack({ env: { API_CREATE_WAIT_MS: '2000' } });
  stripe = createStripeSdk({ secretKey: 'sk_test_f4', apiBase: `${stack.sandboxUrl}/stripe` });
});
afterAll(async () => stack?.close());

it('F4: a webhook for a payment whose workflow does not exist starts it (adopting the PaymentIntent); a late one never restarts it', async () => {
  const paymentId = `pay_f4${Date.now().toString(16)}`;
  const intent = await stripe.paymentIntents.create({
    amount: 30_000,
    currency: 'sek',
    metadata: { skerry_payment_id: paymentId, skerry_reference: 'walk-in-42' },
  });
  await stack.control(`/stripe/_control/payments/${intent.id}/fail`);
  // A declined card is an attempt: the adopted payment stays open for another one, with the reason.
  const declined = await eventually(async () => {
    const response = await stack.http('GET', `/payments/${paymentId}`);
    return response.status === 200 && response.body.failureReason ? response.body : undefined;
  }, { what: 'the adopted payment to observe the decline' });
  expect(declined).toMatchObject({ status: 'created', providerReference: intent.id, reference: 'walk-in-42', amount: { value: 30_000, currency: 'SEK' } });

  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const temporal = new Client({ connection, dataConverter: stack.dataConverter });
  try {
    expect((await stack.http('POST', `/payments/${paymentId}/cancel`)).status).toBe(200);
    const handle = temporal.workflow.getHandle(paymentWorkflowId(paymentId));
    expect((await handle.result()).status).toBe('canceled');
    // Skerry canceled at Stripe before closing the payment, so no later card can succeed on it.
    expect((await stack.control(`/stripe/_control/payments/${intent.id}/succeed`)).status).toBe(409);
    // The cancellation's own webhook may come after the workflow closed: it is settled, never a second run.
    const late = await eventually(async () => {
      const rows = await stack.database.db.select().from(webhookInbox).where(eq(webhookInbox.providerReference, intent.id));
      const canceled = rows.find((row) => row.eventType === 'payment_intent.canceled');
      return canceled && canceled.status !== 'pending' ? canceled : undefined;
    }, { what: 'the cancellation webhook to be settled' });
    const runs = [];
    for await (const run of temporal.workflow.list({ query: `WorkflowId = '${paymentWorkflowId(paymentId)}'` })) runs.push(run);
    console.log(`[F4] adopted ${intent.id}; runs for ${paymentWorkflowId(paymentId)}: ${runs.length}; cancellation event: ${late.status}`);
    expect(runs).toHaveLength(1);
  } finally {
    await connection.close();
  }
});

const RANK: Record<string, number> = { created: 0, requires_action: 1, processing: 2, requires_capture: 3, failed: 4, canceled: 5, expired: 6, succeeded: 7 };

it('F5: shuffled and duplicated webhooks never move a payment backwards', async () => {
  await stack.control('/stripe/_control/faults', { duplicateWebhooks: 0.6, reorderWebhooks: true, seed: 5 });
  try {
    const created = await createPayments(stack, 20, 'f5');
    // Through processing, so each payment has several lifecycle events to shuffle.
    await Promise.all(
      created.map(async ({ paymentId }) => {
        const payment = await eventually(async () => {
          const body = (await stack.http('GET', `/payments/${paymentId}`)).body;
          return body?.providerReference ? body : undefined;
        });
        await stack.control(`/stripe/_control/payments/${payment.providerReference}/require_action`);
      }),
    );
    await payAndAwait(stack, created);
    await stack.control('/stripe/_control/webhooks/flush', { timeoutMs: 20_000, expedite: true });
    const ids = created.map((payment) => payment.paymentId);
    await eventually(async () => {
      const pending = await stack.database.db.select().from(webhookInbox).where(inArray(webhookInbox.status, [...DELIVERABLE_INBOX_STATUSES]));
      return pending.length === 0;
    }, { what: 'the inbox to drain' });
    const events = await stack.database.db.select().from(paymentEvents).where(inArray(paymentEvents.paymentId, ids)).orderBy(asc(paymentEvents.id));
    let regressions = 0;
    const last = new Map<string, number>();
    for (const event of events) {
      const rank = RANK[lifecycleOf(event.statusAfter as PaymentStatus)]!;
      if (rank < (last.get(event.paymentId) ?? 0)) regressions += 1;
      last.set(event.paymentId, Math.max(rank, last.get(event.paymentId) ?? 0));
    }
    const duplicates = (await stack.database.db.select().from(webhookInbox).where(inArray(webhookInbox.paymentId, ids))).reduce((sum, row) => sum + row.duplicates, 0);
    const figures = await integrity(stack, created);
    console.log(`[F5] ${JSON.stringify({ ...figures, events: events.length, duplicateDeliveries: duplicates, regressions })}`);
    expect(regressions).toBe(0);
    expect(duplicates).toBeGreaterThan(0);
    expect(figures).toMatchObject({ lost: 0, duplicateLedgerEvents: 0, paymentsWithMoreThanOneIntent: 0 });
  } finally {
    await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
  }
});
