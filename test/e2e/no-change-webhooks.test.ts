// A webhook that says again what a payment already records (#20): the inbox records it, the
// payment's timeline shows it received and ignored, and its workflow is not signalled — no new
// event in the workflow's history, so no workflow task.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import Stripe from 'stripe';
import { Client, Connection } from '@temporalio/client';
import { startStack, TEST_WEBHOOK_SECRET, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { payments, webhookInbox } from '../../db/schema';
import { paymentStateQuery } from '../../workflows/payments/messages';

let stack: Stack;
let temporal: Client;
let connection: Connection;
beforeAll(async () => {
  stack = await startStack();
  connection = await Connection.connect({ address: stack.temporalAddress });
  temporal = new Client({ connection, dataConverter: stack.dataConverter });
});
afterAll(async () => {
  await connection?.close();
  await stack?.close();
});

const sdk = new Stripe('sk_test_e2e', { telemetry: false });

/** A Stripe event signed as Stripe signs it, posted to the public door. */
async function postStripeEvent(type: string, object: Record<string, unknown>): Promise<string> {
  const eventId = `evt_${randomUUID().replaceAll('-', '')}`;
  const payload = JSON.stringify({ id: eventId, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object } });
  const response = await fetch(`${stack.publicUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET }) },
    body: payload,
  });
  expect(response.status).toBeLessThan(300);
  return eventId;
}

const historyLength = async (workflowId: string) => (await temporal.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;

/**
 * The history's length once the workflow has nothing left to do: no workflow task pending, the
 * ledger written at the workflow's revision, and the history the same length before and after.
 */
const quietHistoryLength = (workflowId: string, paymentId: string) =>
  eventually(async () => {
    const handle = temporal.workflow.getHandle(workflowId);
    const before = await historyLength(workflowId);
    if ((await handle.describe()).raw.pendingWorkflowTask) return undefined;
    const state = await handle.query(paymentStateQuery);
    const [row] = await stack.database.db.select({ revision: payments.revision }).from(payments).where(eq(payments.id, paymentId));
    if (row?.revision !== state.revision) return undefined;
    return (await historyLength(workflowId)) === before ? before : undefined;
  }, { what: `workflow ${workflowId} to have nothing left to do` });

/** Inbox states of a row still on its way to its workflow. */
const UNSETTLED: string[] = ['pending', 'received'];

/** Every inbox row of the payment has been settled: nothing is on its way to the workflow. */
const inboxSettled = (providerReference: string) =>
  eventually(async () => {
    const rows = await stack.database.db.select({ status: webhookInbox.status, lastError: webhookInbox.lastError, eventType: webhookInbox.eventType }).from(webhookInbox).where(eq(webhookInbox.providerReference, providerReference));
    return rows.length > 0 && rows.every((row) => !UNSETTLED.includes(row.status)) ? rows : undefined;
  }, { what: `the inbox rows of ${providerReference} to settle` });

describe('webhooks that change nothing', () => {
  it('are recorded and shown as ignored, and cost the workflow nothing', async () => {
    const created = (await stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 125_000, currency: 'SEK' }, reference: `no-change-${Date.now()}` })).body;
    expect(created.providerReference).toMatch(/^pi_/);
    await inboxSettled(created.providerReference);
    const whileCreated = await quietHistoryLength(created.workflowId, created.paymentId);

    expect((await stack.control(`/stripe/_control/payments/${created.providerReference}/succeed`)).status).toBe(200);
    await eventually(async () => {
      const [row] = await stack.database.db.select().from(payments).where(eq(payments.id, created.paymentId));
      return row?.status === 'succeeded' ? row : undefined;
    }, { what: 'the ledger to say succeeded' });
    const sandboxRows = await inboxSettled(created.providerReference);
    const settled = await quietHistoryLength(created.workflowId, created.paymentId);
    const judgedNoChange = sandboxRows.filter((row) => row.lastError?.startsWith('no change')).map((row) => row.eventType);
    console.log(`[no-change] history: ${whileCreated} events while created, ${settled} once succeeded; of the sandbox's ${sandboxRows.length} webhooks recorded as no change: ${judgedNoChange.join(', ') || 'none'}`);
    // The count moves when a change is signalled: the success reached the workflow as signals.
    expect(settled).toBeGreaterThan(whileCreated);

    // Stripe sends the same fact again under a new event id (a charge.succeeded for the charge it reported).
    const eventId = await postStripeEvent('charge.succeeded', {
      id: `ch_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
      object: 'charge',
      payment_intent: created.providerReference,
      captured: true,
      amount: 125_000,
      amount_captured: 125_000,
      amount_refunded: 0,
      metadata: {},
    });
    const [row] = await eventually(async () => {
      const rows = await stack.database.db.select().from(webhookInbox).where(eq(webhookInbox.eventId, eventId));
      return rows.length && !UNSETTLED.includes(rows[0]!.status) ? rows : undefined;
    }, { what: `the inbox row of ${eventId} to settle` });
    expect(row).toMatchObject({ status: 'delivered', paymentId: created.paymentId });
    expect(row!.lastError).toMatch(/no change/);

    // Delivery settles a row only after its signal was accepted, so a signal would be in the history by now.
    expect(await historyLength(created.workflowId)).toBe(settled);

    const timeline = (await stack.http('GET', `/payments/${created.paymentId}/timeline`)).body.items as Array<{ eventId: string; applied: boolean; statusBefore: string; statusAfter: string; providerEventType: string }>;
    expect(timeline.find((event) => event.eventId === eventId)).toMatchObject({ applied: false, statusBefore: 'succeeded', statusAfter: 'succeeded', providerEventType: 'charge.succeeded' });
    const view = (await stack.http('GET', `/payments/${created.paymentId}`)).body;
    expect(view.status).toBe('succeeded');
    expect(view.events.filter((event: { eventId: string }) => event.eventId === eventId)).toEqual([expect.objectContaining({ applied: false, source: 'webhook' })]);
  });
});
