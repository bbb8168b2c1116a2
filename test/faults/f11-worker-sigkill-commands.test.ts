// F11: the worker is SIGKILLed while its captures, and then its refunds, are at the provider (held
// there by injected latency, so the provider processes each after the worker died). The restarted
// worker retries each with the same idempotency key: exactly one capture and one refund per payment
// at the provider, every payment refunded, no ledger event twice. Swish has no capture (it settles
// on approval), so only its refunds are crashed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { exited, spawnWorkerProcess } from '../support/worker-process';
import { approve, command, createPayments, integrity, viewStatus, type CreatedPayment } from './load';
import { FAULT_PROVIDERS, providerIntegrity, type FaultProvider } from './provider-objects';

const PAYMENTS = 4;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ startWorker: false, env: { API_CREATE_WAIT_MS: '2000', PAYMENT_REFUND_WINDOW_MS: '900000' } });
});
afterAll(async () => stack?.close());

const requestLog = async (provider: FaultProvider) =>
  ((await (await fetch(`${stack.sandboxUrl}/${provider}/_control/request-log`)).json()) as { requests: Array<{ method: string; path: string }> }).requests;
const setLatency = (provider: FaultProvider, latencyMs?: number) =>
  latencyMs ? stack.control(`/${provider}/_control/faults`, { latencyMs }) : fetch(`${stack.sandboxUrl}/${provider}/_control/faults`, { method: 'DELETE' });

/**
 * Sends `step` for every payment with every provider slowed down, SIGKILLs the worker once each
 * provider holds at least one of those calls, and restarts it. One kill crashes all four providers'
 * calls at once. Returns the new worker, the calls in flight per provider, and the seconds from the
 * kill until every command was answered.
 */
async function crashDuring(worker: ReturnType<typeof spawnWorkerProcess>, payments: CreatedPayment[], step: 'capture' | 'refund') {
  const path = step === 'capture' ? /\/capture$/ : /\/refunds?(\/|$)/;
  const providers = [...new Set(payments.map((payment) => payment.provider))];
  for (const provider of providers) {
    await fetch(`${stack.sandboxUrl}/${provider}/_control/request-log`, { method: 'DELETE' });
    await setLatency(provider, 2_000);
  }
  const answered = Promise.all(
    payments.map((payment) => command(stack, `/payments/${payment.paymentId}/${step === 'capture' ? 'capture' : 'refunds'}`, {}, `${step}-${payment.reference}`, 240_000)),
  );
  answered.catch(() => {});
  const inFlight = await eventually(async () => {
    const counts = await Promise.all(providers.map(async (provider) => [provider, (await requestLog(provider)).filter((request) => request.method !== 'GET' && path.test(request.path)).length] as const));
    return counts.every(([, count]) => count > 0) ? Object.fromEntries(counts) : undefined;
  }, { timeoutMs: 60_000, what: `${step} calls at every provider` });
  const killedAt = Date.now();
  worker.kill('SIGKILL');
  await exited(worker);
  for (const provider of providers) await setLatency(provider);
  const restarted = spawnWorkerProcess(stack.config);
  await answered;
  return { restarted, inFlight, recoverySeconds: (Date.now() - killedAt) / 1000 };
}

it('F11: a worker SIGKILLed during captures and during refunds at all four providers: one capture and one refund each', { timeout: 600_000 }, async () => {
  let worker = spawnWorkerProcess(stack.config);
  try {
    const created = (
      await Promise.all(
        FAULT_PROVIDERS.map((provider) => createPayments(stack, PAYMENTS, `f11-${provider}`, { provider, ...(provider === 'swish' ? {} : { captureMethod: 'manual' }) })),
      )
    ).flat();
    await Promise.all(created.map((payment) => approve(stack, payment)));
    // Swish has no capture: it settles on approval.
    const held = created.filter((payment) => payment.provider !== 'swish');
    await Promise.all(held.map((payment) => viewStatus(stack, payment.paymentId, 'requires_capture')));
    const capture = await crashDuring(worker, held, 'capture');
    worker = capture.restarted;
    await Promise.all(created.map((payment) => viewStatus(stack, payment.paymentId, 'succeeded')));
    const refund = await crashDuring(worker, created, 'refund');
    worker = refund.restarted;
    await Promise.all(created.map((payment) => viewStatus(stack, payment.paymentId, 'refunded')));
    console.log(`[F11] ${JSON.stringify({ capturesInFlightAtKill: capture.inFlight, captureRecoverySeconds: capture.recoverySeconds, refundsInFlightAtKill: refund.inFlight, refundRecoverySeconds: refund.recoverySeconds })}`);

    for (const provider of FAULT_PROVIDERS) {
      const payments = created.filter((payment) => payment.provider === provider);
      const ledger = await integrity(stack, payments, 'refunded');
      const atProvider = await providerIntegrity(stack, provider, payments, { creates: 1, captures: 1, refunds: 1 });
      console.log(`[F11 ${provider}] ${JSON.stringify({ ...ledger, ...atProvider })}`);
      expect(ledger, provider).toMatchObject({ lost: 0, duplicateLedgerEvents: 0, ledgerRows: PAYMENTS });
      expect(atProvider, provider).toMatchObject({ paymentsWithWrongCreates: 0, paymentsWithWrongCaptures: 0, paymentsWithWrongRefunds: 0, providerRefunds: PAYMENTS });
    }
  } finally {
    for (const provider of FAULT_PROVIDERS) await setLatency(provider);
    worker.kill('SIGTERM');
    await exited(worker);
  }
});
