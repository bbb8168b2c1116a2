// A flood of forged PayPal webhooks on the public door (issue 15). Each one would cost a call to
// PayPal's verify API; the verification budget (a few at a time, a bounded queue, a share of PayPal's
// rate, a deadline) turns the excess away with 429/503, so refunds issued during the flood — which
// need PayPal too — complete, the queue never passes its bound and memory stays flat. The flood is
// bounded (it stops by itself), loopback only, and its refund latency is printed beside the latency
// of the same refunds without it. Swish's unsigned callbacks are checked on the same stack.
import { randomBytes, randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, like } from 'drizzle-orm';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { webhookInbox } from '../../db/schema';

const FLOOD = { requests: 3_000, concurrency: 48 };
const BUDGET = { concurrency: 4, queueSize: 16 };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      // The per-address limit would stop a one-address flood first; here the verification budget must hold on its own.
      WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000',
      PAYPAL_VERIFY_CONCURRENCY: String(BUDGET.concurrency),
      PAYPAL_VERIFY_QUEUE_SIZE: String(BUDGET.queueSize),
      PAYPAL_VERIFY_TIMEOUT_MS: '2000',
      CHANNEL_RESYNC_HOUR: 'off',
      RECONCILIATION_SCHEDULE_HOUR: 'off',
    },
  });
});
afterAll(async () => stack?.close());

async function paidPayPalPayment(index: number) {
  const created = await stack.http('POST', '/payments', { provider: 'paypal', amount: { value: 20_000, currency: 'EUR' }, reference: `flood-${index}-${randomUUID().slice(0, 6)}` });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  // On a loaded machine the create may outlast the API's create wait: the order's id comes later.
  const providerReference = await eventually(async () => (await stack.http('GET', `/payments/${created.body.paymentId}`)).body.providerReference as string | undefined, {
    timeoutMs: 60_000,
    what: `payment ${index}'s PayPal order`,
  });
  expect((await stack.control(`/paypal/_control/payments/${encodeURIComponent(providerReference)}/succeed`)).status).toBe(200);
  await eventually(async () => (await stack.http('GET', `/payments/${created.body.paymentId}`)).body.status === 'succeeded', { timeoutMs: 60_000, what: `payment ${index} captured` });
  return created.body.paymentId as string;
}

/** Ten refunds at once; each one's latency, from the request to the refund's answer. */
async function refundAll(paymentIds: string[]): Promise<number[]> {
  return Promise.all(
    paymentIds.map(async (paymentId) => {
      const started = performance.now();
      const response = await stack.http('POST', `/payments/${paymentId}/refunds`, { amount: 1_000 });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return performance.now() - started;
    }),
  );
}

/** A made-up PayPal delivery: five plausible transmission headers and a capture event. */
function forgedPayPalWebhook() {
  const body = JSON.stringify({
    id: `WH-FORGED-${randomUUID()}`,
    event_type: 'PAYMENT.CAPTURE.COMPLETED',
    create_time: new Date().toISOString(),
    resource: { id: randomBytes(8).toString('hex').toUpperCase(), status: 'COMPLETED', amount: { currency_code: 'EUR', value: '200.00' } },
  });
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'paypal-transmission-id': randomUUID(),
      'paypal-transmission-time': new Date().toISOString(),
      'paypal-transmission-sig': randomBytes(256).toString('base64'),
      'paypal-cert-url': 'https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270',
      'paypal-auth-algo': 'SHA256withRSA',
    },
    body,
  };
}

async function flood(): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let sent = 0;
  const sender = async () => {
    while (sent < FLOOD.requests) {
      sent += 1;
      const response = await fetch(`${stack.publicUrl}/webhooks/paypal`, forgedPayPalWebhook());
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: FLOOD.concurrency }, sender));
  return statuses;
}

// What the heap keeps, not what is merely not collected yet: a full collection before each reading.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const retainedHeap = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${Math.round(value)} ms`;
const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;

describe('a flood of forged PayPal webhooks', () => {
  it('is turned away by the verification budget while ten refunds complete, with the queue bounded and memory flat', async () => {
    const paymentIds = await Promise.all(Array.from({ length: 10 }, (_, index) => paidPayPalPayment(index)));

    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const quiet = await refundAll(paymentIds);
    const quietLoopP99 = loop.percentile(99) / 1e6;
    loop.reset();

    const heapBefore = retainedHeap();
    let heapPeak = heapBefore;
    let queuedPeakSeen = 0;
    const sampler = setInterval(() => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      queuedPeakSeen = Math.max(queuedPeakSeen, stack.api.paypalVerify.stats().queued);
    }, 25);
    let flooded: number[];
    let statuses: Record<number, number>;
    try {
      const flooding = flood();
      // The refunds go out once the flood is under way (the verification queue is full by then).
      await eventually(() => stack.api.paypalVerify.stats().refusedQueueFull > 0, { what: 'the flood filling the verification queue' });
      flooded = await refundAll(paymentIds);
      statuses = await flooding;
    } finally {
      clearInterval(sampler);
    }
    const floodLoopP99 = loop.percentile(99) / 1e6;
    loop.disable();
    const heapAfter = retainedHeap();

    const stats = stack.api.paypalVerify.stats();
    const report = [
      '',
      `Refund latency (10 PayPal refunds at once), without and during a flood of ${FLOOD.requests} forged PayPal webhooks (${FLOOD.concurrency} at a time):`,
      `  without the flood  median ${ms(median(quiet))}, max ${ms(Math.max(...quiet))}`,
      `  during the flood   median ${ms(median(flooded))}, max ${ms(Math.max(...flooded))}`,
      `  flood answers      ${Object.entries(statuses).map(([status, count]) => `${status}: ${count}`).join(', ')}`,
      `  verification       ${stats.admitted} sent to PayPal, ${stats.refusedQueueFull} refused (queue full), ${stats.timedOut} out of time; queue peak ${stats.peakQueued}/${BUDGET.queueSize}, running peak ${stats.peakInFlight}/${BUDGET.concurrency}`,
      `  heap               ${mb(heapBefore)} retained before, ${mb(heapAfter)} retained after; ${mb(heapPeak)} at most during the flood (garbage included)`,
      `  event loop delay   p99 ${ms(quietLoopP99)} without the flood, ${ms(floodLoopP99)} during it (the flood's sender, the API, the worker and the sandboxes share this one process and its CPU)`,
      '',
    ];
    console.log(report.join('\n'));

    // Every forged delivery is refused: as forged (400, PayPal said FAILURE) or for want of budget (429/503).
    expect(Object.keys(statuses).map(Number).every((status) => [400, 429, 503].includes(status))).toBe(true);
    expect(Object.values(statuses).reduce((sum, count) => sum + count, 0)).toBe(FLOOD.requests);
    expect((statuses[429] ?? 0) + (statuses[503] ?? 0)).toBeGreaterThan(FLOOD.requests / 2);
    // The queue never passed its bound, nor the calls to PayPal theirs.
    expect(stats.peakQueued).toBeLessThanOrEqual(BUDGET.queueSize);
    expect(queuedPeakSeen).toBeLessThanOrEqual(BUDGET.queueSize);
    expect(stats.peakInFlight).toBeLessThanOrEqual(BUDGET.concurrency);
    // The refunds completed, each once.
    for (const paymentId of paymentIds) {
      expect((await stack.http('GET', `/payments/${paymentId}`)).body).toMatchObject({ status: 'partially_refunded', amountRefunded: 2_000 });
    }
    expect(Math.max(...flooded)).toBeLessThan(30_000);
    // Flat: a few thousand refused requests leave nothing behind them.
    expect(heapAfter - heapBefore).toBeLessThan(16 * 1048576);
    // Nothing forged reached the inbox.
    expect(await stack.database.db.select().from(webhookInbox).where(and(eq(webhookInbox.provider, 'paypal'), like(webhookInbox.eventId, 'WH-FORGED-%')))).toEqual([]);
  });
});

describe('Swish callbacks (unsigned)', () => {
  it('keep only the instruction id, status and sender; unknown ids and unknown statuses are not kept', async () => {
    const created = await stack.http('POST', '/payments', { provider: 'swish', amount: { value: 10_000, currency: 'SEK' }, reference: `swish-flood-${randomUUID().slice(0, 6)}` });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.providerReference as string;
    const callback = (instruction: string, status: string) =>
      fetch(`${stack.publicUrl}/webhooks/swish?payment=${instruction}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: instruction, status, payerAlias: '46701234567', message: 'x'.repeat(2_000), anything: { nested: 'junk' } }),
      });

    expect((await callback(id, 'PAID')).status).toBe(200);
    const [row] = await stack.database.db.select().from(webhookInbox).where(eq(webhookInbox.eventId, `${id}:PAID`));
    expect(row!.payload).toEqual({ id, status: 'PAID', kind: 'payment_request', sourceAddress: '127.0.0.1' });

    // A made-up status is refused, not stored as another event.
    expect((await callback(id, 'PAID_AGAIN_1')).status).toBe(400);
    // An id the ledger does not know: answered, dropped, never retried.
    const unknown = randomBytes(16).toString('hex').toUpperCase();
    const dropped = await callback(unknown, 'PAID');
    expect(dropped.status).toBe(200);
    expect(await stack.database.db.select().from(webhookInbox).where(like(webhookInbox.eventId, `${unknown}%`))).toEqual([]);
    const forId = await stack.database.db.select().from(webhookInbox).where(like(webhookInbox.eventId, `${id}:%`));
    expect(forId.map((entry) => entry.eventId)).toEqual([`${id}:PAID`]);
  });
});
