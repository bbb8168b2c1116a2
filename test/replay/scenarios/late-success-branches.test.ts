// Records the payment workflow's late-success runs (patched 'late-success') and the expiry of a
// payment declined while processing (patched 'processing-expiry'), one history each. A late
// success's history is the new run's: the one the patch changed.
//   RECORD_HISTORIES=1 npx vitest run test/replay/scenarios/late-success-branches.test.ts
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { eventually, startWorkerHarness, type WorkerHarness } from '../../support/harness';
import { createScriptedProvider } from '../../support/scripted-provider';
import { paymentWorkflowId } from '../../../domain/workflow-ids';
import type { LateSuccessPolicy, PaymentObservation, PaymentState } from '../../../domain/payments';
import { recording, saveHistory, wanted } from './recorder';

const TIMING = { confirmWindowMs: 300, expiresAfterMs: 1_500, refundWindowMs: 1_000, authorizationHoldMs: 60_000 };

async function recordOnly(context: TestContext, name: string) {
  if (!(await wanted(name))) context.skip(`kept: ${name}`);
}

const webhook = (eventId: string, change: Omit<PaymentObservation, 'eventId' | 'source' | 'occurredAt'>): PaymentObservation => ({
  eventId,
  source: 'webhook',
  occurredAt: new Date().toISOString(),
  ...change,
});

describe.runIf(recording)('record late-success branches', () => {
  const provider = createScriptedProvider();
  const harnesses: Partial<Record<LateSuccessPolicy, WorkerHarness>> = {};
  beforeAll(async () => {
    harnesses.refund = await startWorkerHarness({ providers: provider.registry, timing: TIMING, lateSuccessPolicy: 'refund' });
    harnesses.reopen = await startWorkerHarness({ providers: provider.registry, timing: TIMING, lateSuccessPolicy: 'reopen' });
  });
  afterAll(async () => {
    await harnesses.refund?.close();
    await harnesses.reopen?.close();
  });

  const result = (h: WorkerHarness, paymentId: string) => h.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).result() as Promise<PaymentState>;

  for (const policy of ['refund', 'reopen'] as const) {
    it(`a success after Skerry expired the payment, policy ${policy}`, async (context) => {
      const name = `payment-late-success-${policy}`;
      await recordOnly(context, name);
      const h = harnesses[policy]!;
      const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 12_000, currency: 'SEK' }, reference: `replay-${Date.now()}` });
      expect((await result(h, started.paymentId)).status).toBe('expired');
      provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 12_000 });
      const late = webhook(`evt_replay_late_${policy}`, { providerEventType: 'payment_intent.succeeded', providerReference: started.providerReference, status: 'succeeded', amountCaptured: 12_000 });
      expect(await h.payments.deliverObservation({ paymentId: started.paymentId, provider: 'stripe', kind: 'observation', observation: late })).toBe('reopened');
      const handle = h.temporal.workflow.getHandle(paymentWorkflowId(started.paymentId));
      const final = await eventually(async () => {
        const state = (await handle.result()) as PaymentState;
        return state.lateSuccess ? state : undefined;
      });
      expect(final.status).toBe(policy === 'refund' ? 'refunded' : 'succeeded');
      await saveHistory(name, handle);
    });
  }

  it('a payment declined while processing expires', async (context) => {
    await recordOnly(context, 'payment-processing-declined-expired');
    const h = harnesses.refund!;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 12_000, currency: 'SEK' }, reference: `replay-${Date.now()}` });
    provider.settle(started.providerReference!, { status: 'processing', providerStatus: 'processing' });
    await h.payments.deliverObservation({
      paymentId: started.paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: webhook('evt_replay_processing', { providerEventType: 'payment_intent.processing', providerReference: started.providerReference, status: 'processing' }),
    });
    provider.settle(started.providerReference!, { status: 'created', providerStatus: 'requires_payment_method', failureReason: 'card_declined: generic_decline' });
    expect((await result(h, started.paymentId)).status).toBe('expired');
    await saveHistory('payment-processing-declined-expired', h.temporal.workflow.getHandle(paymentWorkflowId(started.paymentId)));
  });
});
