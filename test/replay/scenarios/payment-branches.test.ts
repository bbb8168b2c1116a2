// Records the payment workflow's branches beyond the happy paths, one history each (the table in
// test/replay/README.md). The scripted provider plays each provider's part; the workflow code is the
// same for all four, and where a provider takes its own branch (MobilePay and PayPal authorize
// first, so Skerry captures an automatic payment itself) the scenario names it.
//   RECORD_HISTORIES=1 npx vitest run test/replay/scenarios/payment-branches.test.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { eventually, startWorkerHarness, type WorkerHarness } from '../../support/harness';
import { createScriptedProvider } from '../../support/scripted-provider';
import { paymentWorkflowId } from '../../../domain/workflow-ids';
import type { PaymentObservation, ProviderName } from '../../../domain/payments';
import { ProviderError } from '../../../providers/errors';
import { ensureBinary } from '../../../stack/binaries';
import { startTemporalDevServer, type TemporalDevServer } from '../../../stack/temporal-dev-server';
import { freePort } from '../../../stack/ports';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../../domain/search-attributes';
import { recording, saveHistory, wanted } from './recorder';

const TIMING = { confirmWindowMs: 300, expiresAfterMs: 1_500, refundWindowMs: 1_000, authorizationHoldMs: 1_500 };

async function recordOnly(context: TestContext, name: string) {
  if (!(await wanted(name))) context.skip(`kept: ${name}`);
}

const webhook = (eventId: string, change: Omit<PaymentObservation, 'eventId' | 'source' | 'occurredAt'>): PaymentObservation => ({
  eventId,
  source: 'webhook',
  occurredAt: new Date().toISOString(),
  ...change,
});

describe.runIf(recording)('record payment branches', () => {
  const provider = createScriptedProvider();
  let h: WorkerHarness;
  beforeAll(async () => {
    h = await startWorkerHarness({ providers: provider.registry, timing: TIMING });
  });
  afterAll(async () => h?.close());

  const start = (name: ProviderName, extra: { captureMethod?: 'automatic' | 'manual' } = {}) =>
    h.payments.startPayment({ provider: name, amount: { value: 12_000, currency: name === 'swish' ? 'SEK' : 'DKK' }, reference: `replay-${Date.now()}`, ...extra });
  const deliver = (paymentId: string, name: ProviderName, observation: PaymentObservation) =>
    h.payments.deliverObservation({ paymentId, provider: name, kind: 'observation', observation });
  const save = async (name: string, paymentId: string) => {
    const handle = h.temporal.workflow.getHandle(paymentWorkflowId(paymentId));
    const final = await handle.result();
    await saveHistory(name, handle);
    return final;
  };

  it('a final decline (Swish DECLINED): failed', async (context) => {
    await recordOnly(context, 'payment-declined');
    const started = await start('swish');
    provider.settle(started.providerReference!, { status: 'failed', providerStatus: 'DECLINED' });
    await deliver(started.paymentId, 'swish', webhook('cb_replay_declined', { providerEventType: 'DECLINED', status: 'failed', failureReason: 'RF07: declined by the payer' }));
    expect((await save('payment-declined', started.paymentId)).status).toBe('failed');
  });

  it('cancelled by the merchant before the payer paid', async (context) => {
    await recordOnly(context, 'payment-cancelled');
    const started = await start('stripe');
    await h.payments.cancel(started.paymentId);
    expect((await save('payment-cancelled', started.paymentId)).status).toBe('canceled');
  });

  it('a manual hold released by the merchant', async (context) => {
    await recordOnly(context, 'payment-hold-cancelled');
    const started = await start('paypal', { captureMethod: 'manual' });
    provider.settle(started.providerReference!, { status: 'requires_capture', providerStatus: 'APPROVED', amountAuthorized: 12_000 });
    await deliver(started.paymentId, 'paypal', webhook('WH-replay-hold', { providerEventType: 'PAYMENT.AUTHORIZATION.CREATED', status: 'requires_capture', amountAuthorized: 12_000 }));
    await eventually(async () => (await h.payments.getPayment(started.paymentId)).status === 'requires_capture', { what: 'the hold' });
    await h.payments.cancel(started.paymentId);
    expect((await save('payment-hold-cancelled', started.paymentId)).status).toBe('canceled');
  });

  it('MobilePay authorizes an automatic payment first: Skerry captures it', async (context) => {
    await recordOnly(context, 'payment-auto-capture');
    const started = await start('mobilepay');
    provider.settle(started.providerReference!, { status: 'requires_capture', providerStatus: 'AUTHORIZED', amountAuthorized: 12_000 });
    await deliver(started.paymentId, 'mobilepay', webhook('mp_replay_authorized', { providerEventType: 'AUTHORIZED', status: 'requires_capture', amountAuthorized: 12_000 }));
    const final = await save('payment-auto-capture', started.paymentId);
    expect(final).toMatchObject({ status: 'succeeded', amountCaptured: 12_000 });
  });

  it('the automatic capture is refused: the hold is left to expire', async (context) => {
    await recordOnly(context, 'payment-auto-capture-failed');
    const started = await start('mobilepay');
    provider.failNext('capture', new ProviderError('mobilepay', 'capture_payment', 'conflict', 'the authorization was withdrawn'));
    provider.settle(started.providerReference!, { status: 'requires_capture', providerStatus: 'AUTHORIZED', amountAuthorized: 12_000 });
    await deliver(started.paymentId, 'mobilepay', webhook('mp_replay_authorized_refused', { providerEventType: 'AUTHORIZED', status: 'requires_capture', amountAuthorized: 12_000 }));
    const final = await save('payment-auto-capture-failed', started.paymentId);
    expect(final.status).toBe('expired');
    // The branch taken: the capture activity failed for good before the hold expired.
    const history = await h.temporal.workflow.getHandle(paymentWorkflowId(started.paymentId)).fetchHistory();
    expect(history.events?.some((event) => event.activityTaskFailedEventAttributes?.failure?.message?.includes('withdrawn'))).toBe(true);
  });

  it('the provider refuses the create: failed without a provider payment', async (context) => {
    await recordOnly(context, 'payment-creation-failed');
    provider.failNext('create', new ProviderError('stripe', 'create_payment', 'validation', 'Amount must be at least 3.00 sek'));
    const started = await start('stripe');
    const final = await save('payment-creation-failed', started.paymentId);
    expect(final.status).toBe('failed');
    expect(final.creationError?.message).toMatch(/at least/);
  });

  it('a webhook for a payment made outside Skerry adopts it (signal-with-start)', async (context) => {
    await recordOnly(context, 'payment-adopted');
    const outside = await provider.client.createPayment({
      paymentId: 'outside',
      amount: { value: 9_900, currency: 'SEK' },
      reference: 'made-elsewhere',
      captureMethod: 'automatic',
      idempotencyKey: `outside-${Date.now()}`,
    });
    provider.settle(outside.providerReference, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 9_900 });
    const paymentId = `pay_adopt${Date.now().toString(36)}`;
    await h.payments.deliverObservation({
      paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: webhook('evt_replay_adopt', { providerEventType: 'payment_intent.succeeded', providerReference: outside.providerReference, status: 'succeeded', amountCaptured: 9_900 }),
      adopt: { amount: { value: 9_900, currency: 'SEK' }, reference: 'made-elsewhere', captureMethod: 'automatic', providerReference: outside.providerReference },
    });
    const final = await save('payment-adopted', paymentId);
    expect(final).toMatchObject({ status: 'succeeded', providerReference: outside.providerReference });
  });
});

// Continue-as-new: a server that suggests it after a few dozen events (production: thousands), so a
// payment waiting for its payer, signalled often, continues as new and its first run is recorded.
describe.runIf(recording)('record payment continue-as-new', () => {
  const provider = createScriptedProvider();
  let h: WorkerHarness;
  let server: TemporalDevServer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skerry-can-'));
    server = await startTemporalDevServer({
      cliPath: await ensureBinary('temporal', { log: () => {} }),
      port: await freePort(),
      headless: true,
      dbFile: join(dir, 'temporal.db'),
      namespace: 'default',
      searchAttributes: SKERRY_SEARCH_ATTRIBUTES,
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
    });
    h = await startWorkerHarness({ providers: provider.registry, temporalAddress: server.address, timing: { ...TIMING, expiresAfterMs: 60_000, confirmWindowMs: 60_000 } });
  });
  afterAll(async () => {
    await h?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a long wait for the payer continues as new, carrying the state', async (context) => {
    await recordOnly(context, 'payment-continued-as-new');
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 4_000, currency: 'SEK' }, reference: `replay-can-${Date.now()}` });
    const id = paymentWorkflowId(started.paymentId);
    const firstRun = (await h.temporal.workflow.getHandle(id).describe()).runId;
    // Each signal is an observation the fold applies (the payer's attempts), so each makes a task.
    for (let n = 0; (await h.temporal.workflow.getHandle(id).describe()).runId === firstRun; n++) {
      await h.payments.deliverObservation({
        paymentId: started.paymentId,
        provider: 'stripe',
        kind: 'observation',
        observation: webhook(`evt_replay_attempt_${n}`, { providerEventType: 'payment_intent.requires_action', status: n % 2 ? 'requires_action' : 'created' }),
      });
      if (n > 200) throw new Error('the server never suggested continue-as-new');
    }
    const first = h.temporal.workflow.getHandle(id, firstRun);
    await saveHistory('payment-continued-as-new', first);
    // The next run finishes the payment with the state it carried.
    provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 4_000 });
    await h.payments.deliverObservation({
      paymentId: started.paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: webhook('evt_replay_can_paid', { providerEventType: 'payment_intent.succeeded', status: 'succeeded', amountCaptured: 4_000 }),
    });
    const final = await h.temporal.workflow.getHandle(id).result();
    expect(final).toMatchObject({ paymentId: started.paymentId, status: 'succeeded' });
  });
});
