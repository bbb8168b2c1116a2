// Operations through the real stack: GET /metrics after real payments and webhooks, the gauges read
// from Postgres at scrape time, the inbox list/replay routes the CLI uses, and a worker process
// (`npm run worker`'s entry point) serving its own metrics and the Temporal SDK's.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import Stripe from 'stripe';
import { startStack, type Stack } from '../support/stack';
import { eventually, metricSample as sample } from '../support/harness';
import { exited, spawnWorkerProcess } from '../support/worker-process';
import { freePort } from '../../stack/ports';
import { channelMessages } from '../../db/schema';

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  return response.text();
}

async function payAndSucceed(stack: Stack, overrides: Record<string, unknown> = {}) {
  const created = await stack.http('POST', '/payments', {
    provider: 'stripe',
    amount: { value: 42_000, currency: 'SEK' },
    reference: `ops-${randomUUID().slice(0, 8)}`,
    ...overrides,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await eventually(async () => (await stack.http('GET', `/payments/${created.body.paymentId}`)).body.providerReference, { what: 'provider payment' });
  const payment = (await stack.http('GET', `/payments/${created.body.paymentId}`)).body;
  await stack.control(`/stripe/_control/payments/${payment.providerReference}/succeed`);
  return payment as { paymentId: string; providerReference: string; workflowId: string };
}

describe('API metrics and inbox operations', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  it('exposes provider calls, webhooks, delivery lag and the ledger gauges on GET /metrics', async () => {
    const payment = await payAndSucceed(stack);
    await eventually(async () => (await stack.http('GET', `/payments/${payment.paymentId}`)).body.status === 'succeeded', { what: 'succeeded' });
    const manual = await payAndSucceed(stack, { captureMethod: 'manual' });
    await eventually(async () => (await stack.http('GET', `/payments/${manual.paymentId}`)).body.status === 'requires_capture', { what: 'requires_capture' });

    // A forged webhook is rejected and counted.
    const forged = await fetch(`${stack.publicUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': new Stripe('sk_test_x').webhooks.generateTestHeaderString({ payload: '{}', secret: 'whsec_attacker' }) },
      body: '{}',
    });
    expect(forged.status).toBe(400);

    // A reservation message a channel has waited 25 minutes for us to acknowledge.
    const channel = `ops_test_${randomUUID().slice(0, 8)}`;
    await stack.database.db.insert(channelMessages).values({
      channel,
      messageId: 'm-1',
      kind: 'new',
      channelReservationId: 'r-1',
      reservationId: 'res_ops_test',
      payload: {},
      receivedAt: new Date(Date.now() - 25 * 60_000),
    });
    try {
      const text = await eventually(async () => {
        const body = await scrape(`${stack.apiUrl}/metrics`, stack.authHeaders);
        return (sample(body, 'skerry_webhook_delivery_lag_seconds_count', { provider: 'stripe' }) ?? 0) >= 1 ? body : undefined;
      }, { what: 'a delivery lag sample' });
      expect(sample(text, 'skerry_provider_calls_total', { provider: 'stripe', operation: 'createPayment', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'skerry_provider_call_duration_seconds_count', { provider: 'stripe', operation: 'createPayment' })).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'skerry_webhooks_received_total', { provider: 'stripe', outcome: 'accepted' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'skerry_webhooks_received_total', { provider: 'stripe', outcome: 'rejected' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'skerry_open_payments', { status: 'requires_capture' })).toBeGreaterThanOrEqual(1);
      // Final statuses are not "open"; every open status is reported, zero or not.
      expect(sample(text, 'skerry_open_payments', { status: 'refunded' })).toBeUndefined();
      expect(sample(text, 'skerry_open_payments', { status: 'requires_action' })).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'skerry_webhook_inbox_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'skerry_unacknowledged_reservation_age_seconds', { channel })).toBeGreaterThanOrEqual(1500);
    } finally {
      await stack.database.db.delete(channelMessages).where(eq(channelMessages.channel, channel));
    }
  });

  it('lists the inbox and replays one event, a range, and refuses an unbounded replay', async () => {
    const payment = await payAndSucceed(stack);
    await eventually(async () => (await stack.http('GET', `/payments/${payment.paymentId}`)).body.status === 'succeeded', { what: 'succeeded' });
    const rows = await eventually(async () => {
      const list = await stack.http('GET', '/webhooks?provider=stripe&limit=1000');
      const mine = (list.body.items as Array<{ id: number; paymentId: string | null; providerReference: string | null; status: string }>).filter(
        (row) => row.providerReference === payment.providerReference && row.status !== 'ignored',
      );
      return mine.length > 0 && mine.every((row) => row.status !== 'received' && row.status !== 'pending') ? mine : undefined;
    }, { what: 'the payment webhooks delivered' });

    const one = await stack.http('POST', '/webhooks/replay', { ids: [rows[0]!.id] });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body.requeued).toBe(1);
    expect(one.body.items).toHaveLength(1);
    // Delivered again to the same workflow, which ignores the event id it has already applied.
    const settled = await eventually(async () => {
      const [row] = (await stack.http('GET', `/webhooks?fromId=${rows[0]!.id}&toId=${rows[0]!.id}`)).body.items;
      return row.status === 'delivered' ? row : undefined;
    }, { what: 'the replayed row delivered' });
    expect(settled.attempts).toBeGreaterThanOrEqual(2);
    const after = (await stack.http('GET', `/payments/${payment.paymentId}`)).body;
    expect(after.status).toBe('succeeded');
    expect(after.amountCaptured).toBe(42_000);

    const ids = rows.map((row) => row.id);
    const range = await stack.http('POST', '/webhooks/replay', { fromId: Math.min(...ids), toId: Math.max(...ids), provider: 'stripe' });
    expect(range.status).toBe(200);
    expect(range.body.requeued).toBeGreaterThanOrEqual(ids.length);

    expect((await stack.http('POST', '/webhooks/replay', {})).status).toBe(400);
    expect((await stack.http('POST', '/webhooks/replay', { fromId: 9, toId: 3 })).status).toBe(400);
    expect((await stack.http('POST', '/webhooks/replay', { ids: [2_000_000_000] })).status).toBe(404);
    expect((await stack.http('GET', '/webhooks?status=nope')).status).toBe(400);
  });
});

describe('worker process metrics', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ startWorker: false });
  });
  afterAll(async () => stack?.close());

  it("serves Skerry's worker metrics and the Temporal SDK's on their own ports, connected through envconfig", async () => {
    const [metricsPort, temporalPort] = [await freePort(), await freePort()];
    const worker = spawnWorkerProcess(stack.config, {
      WORKER_METRICS_PORT: String(metricsPort),
      WORKER_TEMPORAL_METRICS_PORT: String(temporalPort),
      // Exercises the @temporalio/envconfig path (API key, TLS explicitly off for the dev server).
      TEMPORAL_API_KEY: 'skerry-test-api-key',
      TEMPORAL_TLS: 'false',
    });
    try {
      // The worker serves its metrics once it polls: until then nothing answers the payment's queries,
      // and the API's deadlines turn a payment started meanwhile into a 503.
      await eventually(async () => (await scrape(`http://127.0.0.1:${metricsPort}/metrics`)).length > 0, { what: 'the worker process polling', timeoutMs: 60_000 });
      const payment = await payAndSucceed(stack);
      await eventually(async () => (await stack.http('GET', `/payments/${payment.paymentId}`)).body.status === 'succeeded', { what: 'succeeded', timeoutMs: 30_000 });

      const own = await eventually(async () => {
        const text = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
        return sample(text, 'skerry_provider_calls_total', { provider: 'stripe', operation: 'createPayment', outcome: 'ok' }) === 1 ? text : undefined;
      }, { what: 'worker provider-call metrics' });
      expect(own).toContain('skerry_provider_call_duration_seconds_bucket');
      expect(own).toContain('nodejs_heap_size_used_bytes');
      expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);

      const sdk = await eventually(async () => {
        const text = await scrape(`http://127.0.0.1:${temporalPort}/metrics`);
        return /^temporal_activity_execution_latency_count\{/m.test(text) ? text : undefined;
      }, { what: 'Temporal SDK metrics' });
      expect(sdk).toMatch(/^temporal_workflow_task_execution_latency_bucket\{/m);
      expect(sdk).toMatch(/^temporal_worker_task_slots_available\{/m);
      expect(sdk).toMatch(new RegExp(`task_queue="${stack.config.temporal.taskQueue}"`));
      expect(sdk).toContain('service="skerry-worker"');
    } finally {
      worker.kill('SIGTERM');
      await exited(worker);
    }
    if (worker.exitCode !== 0) console.log(worker.output.join(''));
  });
});
