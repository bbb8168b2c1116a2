// F1: the worker is killed with SIGKILL mid-activity under load.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { exited, spawnWorkerProcess } from '../support/worker-process';
import { createPayments, integrity, payAndAwait } from './load';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ startWorker: false, env: { API_CREATE_WAIT_MS: '200' } });
});
afterAll(async () => stack?.close());

it('F1: every payment completes after a SIGKILL mid-activity, one PaymentIntent each, no duplicate ledger rows', async () => {
  await stack.control('/stripe/_control/faults', { latencyMs: 1_500 });
  const first = spawnWorkerProcess(stack.config);
  const created = await createPayments(stack, 20, 'f1');
  await eventually(() => (stack.stripeSandbox.state().counts.faultsInjected.latency ?? 0) >= 5, { timeoutMs: 60_000, what: 'creates in flight' });
  const killedAt = Date.now();
  first.kill('SIGKILL');
  await exited(first);
  await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
  const restarted = spawnWorkerProcess(stack.config);
  try {
    await payAndAwait(stack, created);
    const recoverySeconds = (Date.now() - killedAt) / 1000;
    const figures = await integrity(stack, created);
    console.log(`[F1] ${JSON.stringify({ ...figures, recoverySeconds })}`);
    expect(figures).toMatchObject({ lost: 0, paymentIntents: 20, paymentsWithMoreThanOneIntent: 0, ledgerRows: 20, duplicateLedgerEvents: 0 });
  } finally {
    restarted.kill('SIGTERM');
    await exited(restarted);
  }
});
