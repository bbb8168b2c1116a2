// A worker SIGKILLed while a reconciliation pages through Stripe's balance transactions: the fetch
// is retried on the restarted worker from the cursor it last checkpointed in its heartbeat details,
// pages read twice are staged once, and the counts and discrepancies come out exactly as without
// the crash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { exited, spawnWorkerProcess } from '../support/worker-process';
import { insertBookings, insertLedger, momentIn, randomPastDay, tag, type BookingSeed, type LedgerSeed } from '../support/reconciliation';
import { reconciliationWorkflowId } from '../../domain/workflow-ids';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ startWorker: false, env: { RECONCILIATION_SCHEDULE_HOUR: 'off', PAYMENT_CONFIRM_WINDOW_MS: '3600000' } });
});
afterAll(async () => stack?.close());

describe('worker killed mid-reconciliation', () => {
  it('resumes the fetch from its checkpoint and counts nothing twice', { timeout: 180_000 }, async () => {
    const day = randomPastDay();
    const t = tag();
    const { store } = stack.sandboxes.handles.stripe;
    const ledger: LedgerSeed[] = [];
    const bookings: BookingSeed[] = [];
    const total = 3_000;
    for (let i = 0; i < total + 3; i++) {
      const paymentId = `pay_k${t}${i}`;
      const reservationId = `res_k${t}${i}`;
      const amount = 20_000 + i;
      const createdMs = momentIn(day, i);
      const known = i !== total + 1; // one orphan
      const pi = store.seedPayment({ amount, currency: 'SEK', createdMs, metadata: known ? { skerry_payment_id: paymentId } : {} });
      if (!known) continue;
      const lost = i === total + 2;
      ledger.push({
        paymentId,
        provider: 'stripe',
        status: lost ? 'processing' : 'succeeded',
        reference: reservationId,
        currency: 'SEK',
        amount,
        amountCaptured: lost ? 0 : amount,
        providerReference: pi.id,
        createdAt: new Date(createdMs),
      });
      bookings.push({ reservationId, paymentId, amount, currency: 'SEK' });
      if (i === total) store.driftAmount(pi.id, amount - 500);
    }
    await insertLedger(stack.database.db, ledger);
    await insertBookings(stack.database.db, bookings, day);

    // 151 pages of 20, each held 60 ms at the sandbox: the run takes long enough to be killed in.
    await stack.control('/stripe/_control/faults', { latencyMs: 60 });
    const listRequests = () => stack.stripeSandbox.state().counts.requestsByRoute['GET /v1/balance_transactions'] ?? 0;
    const before = listRequests();
    const first = spawnWorkerProcess(stack.config);
    const runId = reconciliationWorkflowId('stripe', day);
    const restarted: ReturnType<typeof spawnWorkerProcess>[] = [];
    try {
      const started = await stack.api.reconciliation.start({ provider: 'stripe', from: day, options: { pageSize: 20, heartbeatTimeoutMs: 3_000, healVerifyDelayMs: 1_000 } });
      expect(started).toEqual({ id: runId, started: true });

      // Let it checkpoint a good part of the way (heartbeats reach the server every ~2.4 s), then kill it.
      const killedAt = await eventually(async () => {
        const run = await stack.api.reconciliation.get(runId).catch(() => undefined);
        return run && run.counts.pages >= 70 ? run.counts.pages : undefined;
      }, { timeoutMs: 60_000, everyMs: 20, what: 'the fetch to be well under way' });
      first.kill('SIGKILL');
      await exited(first);
      // What the dead worker had stored (it may have gone on a page or two after we looked).
      const storedBeforeDeath = (await stack.api.reconciliation.get(runId)).counts.pages;
      restarted.push(spawnWorkerProcess(stack.config));

      const state = await stack.api.reconciliation.result(runId);
      expect(state.status).toBe('completed');
      const run = await stack.api.reconciliation.get(runId);
      const attempts = run.fetchAttempts as Array<{ attempt: number; resumedAfterPage: number }>;
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      const resumed = attempts.at(-1)!;
      // The retry started from the checkpoint, not from the first page…
      expect(resumed.attempt).toBeGreaterThanOrEqual(2);
      expect(resumed.resumedAfterPage).toBeGreaterThan(0);
      expect(resumed.resumedAfterPage).toBeLessThanOrEqual(storedBeforeDeath);
      // …so only the pages between the checkpoint and the kill were read again (plus the one or two
      // the dead worker had asked for ahead)…
      const pages = Math.ceil((total + 3) / 20);
      const reread = listRequests() - before - pages;
      expect(reread).toBeGreaterThanOrEqual(0);
      expect(reread).toBeLessThanOrEqual(storedBeforeDeath - resumed.resumedAfterPage + 2);
      // …and nothing was counted twice.
      expect(state.counts).toMatchObject({ pages, transactions: total + 3, ledgerPayments: total + 1, matched: total, discrepancies: 3, healable: 1, healed: 1 });
      const report = await stack.api.reconciliation.report(runId);
      expect(report.discrepancies.map((d) => d.kind).sort()).toEqual(['amount_mismatch', 'missing_in_ledger', 'status_mismatch']);
      console.log(
        `[reconciliation SIGKILL] killed at page ${storedBeforeDeath} (seen at ${killedAt}), resumed after page ${resumed.resumedAfterPage}, ${reread} page(s) read twice, ` +
          `${state.counts.transactions} transactions counted once`,
      );
    } finally {
      await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
      for (const child of restarted) {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
  });
});
