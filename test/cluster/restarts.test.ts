// Restarts on the cluster: the workers restarted one after the other under load (a deploy), then
// the Temporal server SIGKILLed mid-load and started again on its PostgreSQL (as F2 does to the dev
// server). Every payment completes, one PaymentIntent each, no duplicate ledger rows.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../support/harness';
import { createPayments, integrity, payAndAwait } from '../faults/load';
import { asLoadTarget, clusterServer, startClusterStack, type ClusterStack } from './cluster-stack';

let cluster: ClusterStack;
beforeAll(async () => {
  cluster = await startClusterStack({ env: { API_CREATE_WAIT_MS: '200' } });
});
afterAll(async () => cluster?.close());

it('a rolling restart of both workers under load loses nothing', async () => {
  const stack = asLoadTarget(cluster);
  await cluster.control('/stripe/_control/faults', { latencyMs: 800 });
  const created = await createPayments(stack, 20, 'cluster-rolling');
  await eventually(() => (cluster.stripeSandbox.state().counts.faultsInjected.latency ?? 0) >= 4, { timeoutMs: 60_000, what: 'creates in flight' });
  const pids = cluster.apps.workers.map((worker) => worker.child.pid);
  const startedAt = Date.now();
  // One at a time: the other keeps polling while each drains (SIGTERM) and comes back.
  await cluster.apps.restartWorker(0);
  await cluster.apps.restartWorker(1);
  const restartSeconds = (Date.now() - startedAt) / 1000;
  await fetch(`${cluster.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
  await payAndAwait(stack, created, 180_000);
  const figures = await integrity(stack, created);
  console.log(`[cluster rolling restart] ${JSON.stringify({ ...figures, restartSeconds })}`);
  expect(cluster.apps.workers.map((worker) => worker.child.pid)).not.toEqual(expect.arrayContaining(pids));
  expect(figures).toMatchObject({ lost: 0, paymentIntents: 20, paymentsWithMoreThanOneIntent: 0, ledgerRows: 20, duplicateLedgerEvents: 0 });
});

it('the Temporal server SIGKILLed under load and started again: every payment completes', async () => {
  const stack = asLoadTarget(cluster);
  const created = await createPayments(stack, 20, 'cluster-server-kill');
  const killedAt = Date.now();
  const { killed } = await clusterServer('kill');
  const { started } = await clusterServer('start');
  expect(started).not.toBe(killed);
  const restartSeconds = (Date.now() - killedAt) / 1000;
  await payAndAwait(stack, created, 180_000);
  const figures = await integrity(stack, created);
  console.log(`[cluster server SIGKILL] ${JSON.stringify({ ...figures, restartSeconds, recoverySeconds: (Date.now() - killedAt) / 1000 })}`);
  expect(figures).toMatchObject({ lost: 0, paymentIntents: 20, paymentsWithMoreThanOneIntent: 0, ledgerRows: 20, duplicateLedgerEvents: 0 });
  // Visibility came back with the server: the payments are found by their reference.
  const found = await eventually(async () => {
    let count = 0;
    for await (const execution of cluster.temporal.workflow.list({ query: `PaymentReference STARTS_WITH "cluster-server-kill-"` })) if (execution) count++;
    return count >= 20 ? count : undefined;
  }, { timeoutMs: 30_000, what: 'the payments listed after the restart' });
  expect(found).toBeGreaterThanOrEqual(20);
});
