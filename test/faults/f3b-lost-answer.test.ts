// F3b, the lost answer: each provider processes ~20% of calls (the create, the capture, the refund,
// the reads) and Skerry never hears the answer: half of those the connection is reset after a
// timeout, half of those a gateway in front of the provider answers 502 with its own HTML page. Every retry must
// reach the provider as the same request (Idempotency-Key, PayPal-Request-Id, the Swish instruction
// UUID, the ePayment Idempotency-Key), so each payment has exactly one payment object, one capture
// and one refund at its provider, and the ledger no event twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { approve, command, createPayments, integrity, viewStatus } from './load';
import { FAULT_PROVIDERS, faultsInjected, providerIntegrity } from './provider-objects';

const PAYMENTS = 10;
/** Each step waits at most this long; the test's own timeout covers a few of them. */
const STEP_MS = 240_000;

let stack: Stack;
beforeAll(async () => {
  // The circuit breaker (its own tests in test/e2e/resilience) opens at 50% failures over 10 calls;
  // Swish's resets come in bursts that reach that (11 of 22), and its open time then outlasts the
  // test. F3b is about what the provider holds after a lost answer, so the breaker stays closed.
  // The refund window is long enough for a slow capture still to be refunded.
  stack = await startStack({ env: { API_CREATE_WAIT_MS: '200', PAYMENT_CONFIRM_WINDOW_MS: '3000', CIRCUIT_BREAKER_FAILURE_RATE: '0.95', PAYMENT_REFUND_WINDOW_MS: '900000' } });
});
afterAll(async () => stack?.close());

describe.each(FAULT_PROVIDERS)('F3b %s', (provider) => {
  it('a lost answer to a create, capture or refund never makes a second one', { timeout: 600_000 }, async () => {
    // Swish settles on approval: its capture is the payer's approval, not a call Skerry makes.
    const manual = provider !== 'swish';
    await stack.control(`/${provider}/_control/faults`, { timeoutRate: 0.1, timeoutPhase: 'after', timeoutMs: 100, gatewayErrorRate: 0.1, seed: 2020 });
    const startedAt = Date.now();
    // Where each payment got to, for the message when one does not finish.
    const stage = new Map<string, string>();
    const step = async <T>(paymentId: string, name: string, run: () => Promise<T>) => {
      stage.set(paymentId, name);
      return run();
    };
    try {
      const created = await createPayments(stack, PAYMENTS, `f3b-${provider}`, { provider, ...(manual ? { captureMethod: 'manual' } : {}) });
      await Promise.all(
        created.map(async (payment) => {
          const id = payment.paymentId;
          await step(id, 'approve', () => approve(stack, payment, STEP_MS));
          if (manual) {
            await step(id, 'authorized', () => viewStatus(stack, id, 'requires_capture', STEP_MS));
            await step(id, 'capture', () => command(stack, `/payments/${id}/capture`, {}, `capture-${payment.reference}`, STEP_MS));
          }
          await step(id, 'succeeded', () => viewStatus(stack, id, 'succeeded', STEP_MS));
          await step(id, 'refund', () => command(stack, `/payments/${id}/refunds`, {}, `refund-${payment.reference}`, STEP_MS));
          await step(id, 'refunded', () => viewStatus(stack, id, 'refunded', STEP_MS));
          stage.set(id, 'done');
        }),
      ).catch(async (err: Error) => {
        const injected = await faultsInjected(stack, provider);
        throw new Error(`${err.message}; lost answers ${injected.timeout} reset + ${injected.gatewayError} 502 of ${injected.requests} calls; stages: ${JSON.stringify(Object.fromEntries(stage))}`);
      });
      const recoverySeconds = (Date.now() - startedAt) / 1000;
      const injected = await faultsInjected(stack, provider);
      await fetch(`${stack.sandboxUrl}/${provider}/_control/faults`, { method: 'DELETE' });
      const ledger = await integrity(stack, created, 'refunded');
      const atProvider = await providerIntegrity(stack, provider, created, { creates: 1, captures: 1, refunds: 1 });
      console.log(`[F3b ${provider}] ${JSON.stringify({ ...ledger, ...atProvider, lostAnswers: injected.timeout, gateway502s: injected.gatewayError, providerCalls: injected.requests, recoverySeconds })}`);
      expect(injected.timeout).toBeGreaterThan(0);
      expect(injected.gatewayError).toBeGreaterThan(0);
      expect(ledger).toMatchObject({ lost: 0, duplicateLedgerEvents: 0, ledgerRows: PAYMENTS });
      expect(atProvider).toMatchObject({
        providerCreates: PAYMENTS,
        providerCaptures: PAYMENTS,
        providerRefunds: PAYMENTS,
        paymentsWithWrongCreates: 0,
        paymentsWithWrongCaptures: 0,
        paymentsWithWrongRefunds: 0,
      });
    } finally {
      await fetch(`${stack.sandboxUrl}/${provider}/_control/faults`, { method: 'DELETE' });
    }
  });
});
