// Records the histories the replay test checks every workflow change against.
// Run after an intentional, compatible workflow change: RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts
import { writeFile } from 'node:fs/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startWorkerHarness, type WorkerHarness } from '../support/harness';
import { startStack } from '../support/stack';
import { createScriptedProvider } from '../support/scripted-provider';
import { paymentWorkflowId } from '../../workflows/payments/messages';

const provider = createScriptedProvider();
let h: WorkerHarness;
const HISTORIES = new URL('./histories/', import.meta.url);

async function save(name: string, paymentId: string) {
  const handle = h.temporal.workflow.getHandle(paymentWorkflowId(paymentId));
  await handle.result();
  const history = await handle.fetchHistory();
  // The same proto3 JSON `temporal workflow show --output json` writes.
  await writeFile(new URL(`${name}.json`, HISTORIES), historyToJSON(history));
}

describe.runIf(process.env.RECORD_HISTORIES)('record replay histories', () => {
  beforeAll(async () => {
    h = await startWorkerHarness({
      providers: provider.registry,
      timing: { confirmWindowMs: 300, expiresAfterMs: 1_500, refundWindowMs: 1_500, authorizationHoldMs: 60_000 },
    });
  });
  afterAll(async () => h?.close());

  it('stripe happy path: created → webhook succeeded → refund window closes', async () => {
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 25_000, currency: 'SEK' }, reference: 'REPLAY-1' });
    await h.payments.deliverObservation({
      paymentId: started.paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: {
        eventId: 'evt_replay_succeeded',
        source: 'webhook',
        providerEventType: 'payment_intent.succeeded',
        providerReference: started.providerReference,
        status: 'succeeded',
        amountCaptured: 25_000,
        occurredAt: new Date().toISOString(),
      },
    });
    provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 25_000 });
    await save('stripe-happy-path', started.paymentId);
  });

  it('manual capture, partial then full refund', async () => {
    const started = await h.payments.startPayment({
      provider: 'stripe',
      amount: { value: 10_000, currency: 'SEK' },
      reference: 'REPLAY-2',
      captureMethod: 'manual',
    });
    await h.payments.deliverObservation({
      paymentId: started.paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: {
        eventId: 'evt_replay_hold',
        source: 'webhook',
        providerEventType: 'payment_intent.amount_capturable_updated',
        status: 'requires_capture',
        amountAuthorized: 10_000,
        occurredAt: new Date().toISOString(),
      },
    });
    for (;;) if ((await h.payments.getPayment(started.paymentId)).status === 'requires_capture') break;
    await h.payments.capture(started.paymentId, { amount: 8_000 });
    await h.payments.refund(started.paymentId, { amount: 3_000 });
    const final = await h.payments.refund(started.paymentId);
    expect(final.status).toBe('refunded');
    await save('stripe-capture-refund', started.paymentId);
  });

  it('expiry of an abandoned payment', async () => {
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 500, currency: 'SEK' }, reference: 'REPLAY-3' });
    await save('stripe-expired', started.paymentId);
  });
});

describe.runIf(process.env.RECORD_HISTORIES)('record provider happy paths through the sandboxes', () => {
  it.each(['stripe', 'paypal', 'swish', 'mobilepay'])('%s: paid, then refunded in full', async (provider) => {
    const stack = await startStack();
    try {
      const created = await stack.http('POST', '/payments', {
        provider,
        amount: { value: 20_000, currency: provider === 'swish' ? 'SEK' : 'EUR' },
        reference: `replay-${provider}`,
      });
      await stack.control(`/${provider}/_control/payments/${encodeURIComponent(created.body.providerReference)}/succeed`);
      await eventually(async () => (await stack.http('GET', `/payments/${created.body.paymentId}`)).body.status === 'succeeded', { timeoutMs: 30_000 });
      await stack.http('POST', `/payments/${created.body.paymentId}/refunds`, {});
      const { Client, Connection } = await import('@temporalio/client');
      const connection = await Connection.connect({ address: stack.temporalAddress });
      try {
        const handle = new Client({ connection }).workflow.getHandle(paymentWorkflowId(created.body.paymentId));
        expect((await handle.result()).status).toBe('refunded');
        await writeFile(new URL(`${provider}-sandbox-happy-path.json`, HISTORIES), historyToJSON(await handle.fetchHistory()));
      } finally {
        await connection.close();
      }
    } finally {
      await stack.close();
    }
  });
});
