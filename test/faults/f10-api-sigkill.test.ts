// F10: the API process (both doors) is SIGKILLed while Stripe's webhooks pour in and a merchant's
// POST /payments is in flight. Every webhook the API acknowledged has its inbox row and is delivered
// once the API is back (the sandbox retries the rest); the merchant's retry of POST /payments with
// the same Idempotency-Key does not create a second payment.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { and, eq, inArray } from 'drizzle-orm';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { exited, spawnApiProcess } from '../support/worker-process';
import { freePort } from '../../stack/ports';
import { payments as ledgerPayments, webhookInbox } from '../../db/schema';
import { integrity, ledgerStatus, providerReferenceOf, type CreatedPayment } from './load';

const PAYMENTS = 30;

let stack: Stack;
let ports: { admin: number; public: number };
let api: ReturnType<typeof spawnApiProcess> | undefined;
beforeAll(async () => {
  ports = { admin: await freePort(), public: await freePort() };
  // The sandboxes send their webhooks to the API process's public door, not the in-process one.
  stack = await startStack({ env: { PUBLIC_URL: `http://127.0.0.1:${ports.public}`, API_CREATE_WAIT_MS: '2000' } });
});
afterAll(async () => {
  api?.kill('SIGKILL');
  if (api) await exited(api);
  await stack?.close();
});

const apiUrl = () => `http://127.0.0.1:${ports.admin}`;
async function startApiProcess() {
  const child = spawnApiProcess(stack.config, ports, { API_CREATE_WAIT_MS: '2000', LOG_LEVEL: 'warn' });
  await eventually(async () => (await fetch(`${apiUrl()}/health`).catch(() => undefined))?.status === 200, { timeoutMs: 180_000, everyMs: 200, what: 'the API process to listen' });
  return child;
}
const createPayment = (reference: string, key: string) =>
  fetch(`${apiUrl()}/payments`, {
    method: 'POST',
    headers: { ...stack.authHeaders, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ provider: 'stripe', amount: { value: 7_700, currency: 'SEK' }, reference }),
  });

it('F10: every webhook the killed API acknowledged is in the inbox and delivered after the restart; a retried POST /payments creates one payment', async () => {
  api = await startApiProcess();
  const created: CreatedPayment[] = [];
  for (let index = 0; index < PAYMENTS; index++) {
    const reference = `f10-${Date.now()}-${index}`;
    const response = await createPayment(reference, reference);
    expect(response.status).toBe(201);
    created.push({ paymentId: ((await response.json()) as { paymentId: string }).paymentId, reference, provider: 'stripe', amount: 7_700 });
  }
  const intents = await Promise.all(created.map((payment) => providerReferenceOf(stack, payment.paymentId)));

  // The customers pay one after another; the API dies with a third of them paid and a create in flight.
  const inFlightReference = `f10-inflight-${Date.now()}`;
  const inFlightKey = `f10-${randomUUID()}`;
  let killedAt = 0;
  let inFlight: Promise<unknown> | undefined;
  for (const [index, intent] of intents.entries()) {
    if (index === Math.floor(PAYMENTS / 3)) {
      inFlight = createPayment(inFlightReference, inFlightKey).catch((err: Error) => err);
      killedAt = Date.now();
      api.kill('SIGKILL');
      await exited(api);
    }
    expect((await stack.control(`/stripe/_control/payments/${intent}/succeed`)).status).toBe(200);
  }
  const firstAnswer = await inFlight;
  // Down for a few seconds of webhook retries, then back on the same ports.
  await eventually(() => stack.stripeSandbox.webhooks.recentAttempts().some((attempt) => attempt.status === undefined && Date.parse(attempt.at) > killedAt), {
    timeoutMs: 30_000,
    what: 'a webhook refused while the API is down',
  });
  api = await startApiProcess();
  const upAt = Date.now();

  // The merchant retries the create whose answer died with the API: one payment either way.
  const retried = await eventually(async () => {
    const response = await createPayment(inFlightReference, inFlightKey);
    return response.status === 201 ? ((await response.json()) as { paymentId: string }) : undefined;
  }, { timeoutMs: 60_000, what: 'the retried create' });

  for (const payment of created) await eventually(async () => (await ledgerStatus(stack, payment.paymentId)) === 'succeeded', { timeoutMs: 120_000, what: `${payment.paymentId} succeeded` });
  await stack.control('/stripe/_control/webhooks/flush', { timeoutMs: 30_000, expedite: true });
  const attempts = stack.stripeSandbox.webhooks.recentAttempts();
  const acknowledged = [...new Set(attempts.filter((attempt) => attempt.status !== undefined && attempt.status < 300 && Date.parse(attempt.at) >= killedAt - 60_000).map((attempt) => attempt.messageId))];
  const rows = await eventually(async () => {
    const found = await stack.database.db
      .select({ eventId: webhookInbox.eventId, status: webhookInbox.status })
      .from(webhookInbox)
      .where(and(eq(webhookInbox.provider, 'stripe'), inArray(webhookInbox.eventId, acknowledged)));
    return found.length === acknowledged.length && found.every((row) => row.status !== 'received' && row.status !== 'pending') ? found : undefined;
  }, { timeoutMs: 90_000, what: 'every acknowledged webhook recorded and delivered' });
  const drainSeconds = (Date.now() - upAt) / 1000;
  const sameReference = await stack.database.db.select().from(ledgerPayments).where(eq(ledgerPayments.reference, inFlightReference));
  const intentsForRetried = stack.stripeSandbox
    .state()
    .paymentIntents.filter((intent: { metadata?: Record<string, string> }) => intent.metadata?.skerry_payment_id === retried.paymentId).length;
  const figures = await integrity(stack, created);
  console.log(
    `[F10] ${JSON.stringify({ ...figures, acknowledged: acknowledged.length, recordedAndDelivered: rows.length, refusedWhileDown: attempts.filter((attempt) => attempt.status === undefined && Date.parse(attempt.at) >= killedAt).length, createDuringKill: firstAnswer instanceof Error ? firstAnswer.message : 'answered', paymentsForRetriedKey: sameReference.length, intentsForRetriedKey: intentsForRetried, downSeconds: (upAt - killedAt) / 1000, drainSeconds })}`,
  );
  expect(figures).toMatchObject({ lost: 0, paymentsWithMoreThanOneIntent: 0, duplicateLedgerEvents: 0, ledgerRows: PAYMENTS });
  expect(rows.length).toBe(acknowledged.length);
  expect(sameReference).toHaveLength(1);
  expect(sameReference[0]!.id).toBe(retried.paymentId);
  expect(intentsForRetried).toBeLessThanOrEqual(1);
});
