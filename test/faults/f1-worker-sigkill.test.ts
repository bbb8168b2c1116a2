// F1: the worker is killed with SIGKILL mid-activity under load, for each payment provider: its
// creates are held at the provider when the worker dies. Every payment completes on the restarted
// worker, with one payment object each at the provider and no duplicate ledger rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { exited, spawnWorkerProcess } from '../support/worker-process';
import { createPayments, integrity, payAndAwait } from './load';
import { FAULT_PROVIDERS, faultsInjected } from './provider-objects';

const PAYMENTS = 20;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ startWorker: false, env: { API_CREATE_WAIT_MS: '200' } });
});
afterAll(async () => stack?.close());

describe.each(FAULT_PROVIDERS)('F1 %s', (provider) => {
  it('every payment completes after a SIGKILL mid-activity, one payment object each, no duplicate ledger rows', { timeout: 300_000 }, async () => {
    const delayedBefore = (await faultsInjected(stack, provider)).latency ?? 0;
    await stack.control(`/${provider}/_control/faults`, { latencyMs: 1_500 });
    const first = spawnWorkerProcess(stack.config);
    const created = await createPayments(stack, PAYMENTS, `f1-${provider}`, { provider });
    await eventually(async () => ((await faultsInjected(stack, provider)).latency ?? 0) - delayedBefore >= 5, { timeoutMs: 60_000, what: 'creates in flight' });
    const killedAt = Date.now();
    first.kill('SIGKILL');
    await exited(first);
    await fetch(`${stack.sandboxUrl}/${provider}/_control/faults`, { method: 'DELETE' });
    const restarted = spawnWorkerProcess(stack.config);
    try {
      await payAndAwait(stack, created);
      const recoverySeconds = (Date.now() - killedAt) / 1000;
      const figures = await integrity(stack, created);
      console.log(`[F1 ${provider}] ${JSON.stringify({ ...figures, recoverySeconds })}`);
      expect(figures).toMatchObject({ lost: 0, paymentIntents: PAYMENTS, paymentsWithMoreThanOneIntent: 0, ledgerRows: PAYMENTS, duplicateLedgerEvents: 0 });
    } catch (err) {
      // What the restarted worker said (warnings and errors) is the first thing a failure here needs.
      console.error(`[F1 ${provider}] the restarted worker's log:\n${restarted.output.join('').split('\n').slice(-60).join('\n')}`);
      throw err;
    } finally {
      restarted.kill('SIGTERM');
      await exited(restarted);
    }
  });
});
