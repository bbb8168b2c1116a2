// Take-over on the cluster: one of two workers SIGKILLed under load, then one of two API processes
// SIGKILLed under webhook load. The survivors finish everything: nothing lost, nothing done twice.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { inArray, and, eq, sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { eventually } from '../support/harness';
import { startPausableProxy, type PausableProxy } from '../support/pausable-proxy';
import { TEST_WEBHOOK_SECRET } from '../support/stack';
import { webhookInbox } from '../../db/schema';
import { createPayments, integrity, payAndAwait, approve } from '../faults/load';
import { asLoadTarget, startClusterStack, type ClusterStack } from './cluster-stack';

let cluster: ClusterStack;
/** api-1 reaches Temporal through this, so a test can stall its deliveries without failing them. */
let api1Temporal: PausableProxy;
beforeAll(async () => {
  api1Temporal = await startPausableProxy(inject('temporalAddress'));
  cluster = await startClusterStack({ env: { API_CREATE_WAIT_MS: '200' }, apiEnv: (i): Record<string, string> => (i === 0 ? { TEMPORAL_ADDRESS: api1Temporal.address } : {}) });
});
afterAll(async () => {
  await cluster?.close();
  await api1Temporal?.close();
});

it('a worker SIGKILLed mid-activity under load: the other worker finishes every payment, one PaymentIntent each, no duplicate ledger rows', async () => {
  const stack = asLoadTarget(cluster);
  await cluster.control('/stripe/_control/faults', { latencyMs: 1_500 });
  const created = await createPayments(stack, 20, 'cluster-worker-kill');
  await eventually(() => (cluster.stripeSandbox.state().counts.faultsInjected.latency ?? 0) >= 5, { timeoutMs: 60_000, what: 'creates in flight' });
  const killedAt = Date.now();
  const [victim, survivor] = cluster.apps.workers;
  await victim!.kill();
  await fetch(`${cluster.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
  await payAndAwait(stack, created, 180_000);
  const figures = await integrity(stack, created);
  console.log(`[cluster take-over, worker] ${JSON.stringify({ ...figures, recoverySeconds: (Date.now() - killedAt) / 1000 })}`);
  expect(victim!.child.signalCode).toBe('SIGKILL');
  expect(survivor!.child.exitCode).toBeNull();
  expect(figures).toMatchObject({ lost: 0, paymentIntents: 20, paymentsWithMoreThanOneIntent: 0, ledgerRows: 20, duplicateLedgerEvents: 0 });
  // The next test needs two workers again.
  await cluster.apps.restartWorker(0);
});

it('an API process SIGKILLed under webhook load: every webhook a public door acknowledged reaches its workflow, by the other process if need be', async () => {
  const stack = asLoadTarget(cluster);
  const created = await createPayments(stack, 24, 'cluster-api-kill');
  const approvals = Promise.all(created.map((payment) => approve(stack, payment)));
  const ids = created.map((payment) => payment.paymentId);
  await eventually(async () => (await cluster.database.db.select().from(webhookInbox).where(inArray(webhookInbox.paymentId, ids))).length >= 6, { timeoutMs: 60_000, everyMs: 20, what: 'webhooks arriving' });
  const [victim] = cluster.apps.apis;
  await victim!.kill();
  await approvals;
  await payAndAwait(stack, created, 180_000);

  // What the provider was told was received (2xx), by event id: each is in the inbox and delivered.
  const acknowledged = [...new Set(cluster.stripeSandbox.webhooks.recentAttempts().filter((a) => a.outcome === 'delivered').map((a) => a.messageId))];
  expect(acknowledged.length).toBeGreaterThan(24);
  const rows = await eventually(async () => {
    const found = await cluster.database.db.select().from(webhookInbox).where(and(eq(webhookInbox.provider, 'stripe'), inArray(webhookInbox.eventId, acknowledged)));
    return found.length === acknowledged.length && found.every((row) => row.status !== 'received' && row.status !== 'pending' && row.status !== 'failed') ? found : undefined;
  }, { timeoutMs: 120_000, everyMs: 250, what: 'every acknowledged webhook delivered' });
  const figures = await integrity(stack, created);
  const statuses = rows.reduce<Record<string, number>>((count, row) => ({ ...count, [row.status]: (count[row.status] ?? 0) + 1 }), {});
  console.log(`[cluster take-over, API] ${JSON.stringify({ ...figures, acknowledgedWebhooks: acknowledged.length, inbox: statuses })}`);
  expect(victim!.child.signalCode).toBe('SIGKILL');
  expect(figures).toMatchObject({ lost: 0, paymentIntents: 24, duplicateLedgerEvents: 0 });
});

it("an API process SIGKILLed holding webhooks it acknowledged and claimed but had not delivered: the other process's sweep delivers exactly those", async () => {
  // The previous test killed api-1: it comes back, its route to Temporal open again.
  api1Temporal.resume();
  if (cluster.apps.apis[0]!.child.signalCode !== null || cluster.apps.apis[0]!.child.exitCode !== null) await cluster.apps.restartApi(0);
  const stack = asLoadTarget(cluster);
  const created = await createPayments(stack, 6, 'cluster-sweep-takeover');
  const intents = await eventually(() => {
    const ids = new Set(created.map((payment) => payment.paymentId));
    const found = cluster.stripeSandbox.state().paymentIntents.filter((intent) => ids.has(intent.metadata?.skerry_payment_id ?? ''));
    return found.length === created.length ? found : undefined;
  }, { timeoutMs: 90_000, what: 'every PaymentIntent at the sandbox' });

  // api-1's calls to Temporal now hang: what it acknowledges it records and claims, and cannot deliver.
  api1Temporal.pause();
  const sdk = new Stripe('sk_test_x');
  const victim = cluster.apis[0]!;
  const eventIds: string[] = [];
  for (const intent of intents) {
    const { sandbox: _flags, ...current } = intent;
    // News to the payment (a restatement of what it records would be settled without a signal).
    const object = { ...current, status: 'succeeded', amount_received: intent.amount };
    const eventId = `evt_sweep_takeover_${intent.id}`;
    const payload = JSON.stringify({ id: eventId, object: 'event', type: 'payment_intent.succeeded', created: Math.floor(Date.now() / 1000), data: { object } });
    const answer = await fetch(`http://127.0.0.1:${victim.public}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET }) },
      body: payload,
    });
    expect(answer.status, await answer.text()).toBe(200);
    eventIds.push(eventId);
  }
  const rowsOf = () => cluster.database.db.select().from(webhookInbox).where(and(eq(webhookInbox.provider, 'stripe'), inArray(webhookInbox.eventId, eventIds)));
  const [clock] = (await cluster.database.db.execute(sql`select clock_timestamp() as now`)) as unknown as Array<{ now: string }>;
  const beforeKill = clock!.now;
  const held = await rowsOf();
  expect(api1Temporal.connections).toBeGreaterThan(0);
  // Acknowledged, claimed by api-1 when it recorded them (the claim runs to locked_until), not delivered.
  expect(held).toHaveLength(eventIds.length);
  for (const row of held) {
    expect(row.deliveredAt).toBeNull();
    expect(row.attempts).toBe(1);
    expect(row.lockedUntil!.getTime()).toBeGreaterThan(new Date(beforeKill).getTime());
  }
  const [victimProcess] = cluster.apps.apis;
  await victimProcess!.kill();
  expect(victimProcess!.child.signalCode).toBe('SIGKILL');

  // Only api-2 is alive, and it recorded none of these rows (its immediate delivery never saw them):
  // what delivers them is its sweep, once api-1's claim has lapsed.
  const delivered = await eventually(async () => {
    const rows = await rowsOf();
    return rows.every((row) => row.status === 'delivered') ? rows : undefined;
  }, { timeoutMs: 120_000, everyMs: 500, what: "the survivor's sweep delivering the rows api-1 held" });
  const lapse = Math.max(...held.map((row) => row.lockedUntil!.getTime()));
  for (const row of delivered) {
    expect(row.attempts).toBe(2);
    // Not before api-1's claim on that row lapsed: nobody else could take it sooner.
    expect(row.deliveredAt!.getTime()).toBeGreaterThanOrEqual(held.find((before) => before.id === row.id)!.lockedUntil!.getTime());
    expect(row.paymentId).toBe(intents.find((intent) => row.eventId === `evt_sweep_takeover_${intent.id}`)!.metadata!.skerry_payment_id);
  }
  console.log(`[cluster take-over, sweep] ${delivered.length} webhooks acknowledged and claimed by api-1, SIGKILLed; delivered by api-2's sweep ${((Math.max(...delivered.map((row) => row.deliveredAt!.getTime())) - new Date(beforeKill).getTime()) / 1000).toFixed(1)} s after the kill (claim ${((lapse - new Date(beforeKill).getTime()) / 1000).toFixed(1)} s left at the kill)`);
  api1Temporal.resume();
});
