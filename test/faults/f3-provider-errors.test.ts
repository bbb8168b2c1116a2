// F3: each provider's sandbox answers 20% of calls with 429, 5xx or a dropped connection (before
// doing anything; F3b loses answers after). Parametrised over the four payment providers.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { createPayments, integrity, payAndAwait } from './load';
import { FAULT_PROVIDERS, faultsInjected } from './provider-objects';
import { classifyStripeError } from '../../providers/stripe/client';
import Stripe from 'stripe';

interface LogLine {
  time: number;
  provider?: string;
  msg: string;
  workflowId?: string;
  operation?: string;
  attempt?: number;
  outcome?: string;
  latencyMs?: number;
  retryAfterMs?: number;
}
const lines: LogLine[] = [];
const capture = new Writable({
  write(chunk, _encoding, done) {
    for (const line of chunk.toString().split('\n')) if (line.includes('"provider call')) lines.push(JSON.parse(line));
    done();
  },
});

let stack: Stack;
beforeAll(async () => {
  // A Swish read is several calls (the payment request, then each refund by its instruction UUID),
  // so at 20% per call its reads fail often enough to open the breaker (50%); the breaker has its
  // own tests, and here it would only turn the faults into minutes of waiting.
  stack = await startStack({
    logger: pino({ level: 'info' }, capture),
    env: { API_CREATE_WAIT_MS: '200', PAYMENT_CONFIRM_WINDOW_MS: '3000', CIRCUIT_BREAKER_FAILURE_RATE: '0.95' },
  });
});
afterAll(async () => stack?.close());

describe.each(FAULT_PROVIDERS)('F3 %s', (provider) => {
  it('every payment completes through 20% 429/5xx/timeouts, and each 429 waits exactly its Retry-After', { timeout: 400_000 }, async () => {
    const startedAt = Date.now();
    lines.length = 0;
    await stack.control(`/${provider}/_control/faults`, {
      rateLimitRate: 0.08,
      retryAfterSeconds: 1,
      errorRate: 0.07,
      storeInjectedErrors: false,
      timeoutRate: 0.05,
      timeoutMs: 1_500,
      timeoutPhase: 'before',
      seed: 42,
    });
    const created = await createPayments(stack, 30, `f3-${provider}`, { provider });
    await payAndAwait(stack, created, 300_000);
    const recoverySeconds = (Date.now() - startedAt) / 1000;
    await fetch(`${stack.sandboxUrl}/${provider}/_control/faults`, { method: 'DELETE' });
    const figures = await integrity(stack, created);
    const injected = await faultsInjected(stack, provider);

    // For each 429, the next attempt of the same activity started no earlier than Retry-After.
    const gaps: number[] = [];
    for (const line of lines.filter((entry) => entry.outcome === 'rate_limited' && entry.provider === provider)) {
      // The next attempt of this activity: logged after the 429 (a payment polls the same operation
      // more than once, and each poll counts its attempts from 1).
      const next = lines.find(
        (entry) =>
          entry.time > line.time && entry.workflowId === line.workflowId && entry.operation === line.operation && entry.attempt === (line.attempt ?? 0) + 1,
      );
      if (next) gaps.push(next.time - (next.latencyMs ?? 0) - line.time);
    }
    console.log(`[F3 ${provider}] ${JSON.stringify({ ...figures, injected, rateLimitedAttempts: gaps.length, minRetryGapMs: Math.min(...gaps), maxRetryGapMs: Math.max(...gaps), recoverySeconds })}`);
    expect(figures).toMatchObject({ lost: 0, paymentsWithMoreThanOneIntent: 0, duplicateLedgerEvents: 0, paymentIntents: 30 });
    expect(injected.rateLimit).toBeGreaterThan(0);
    expect((injected.error ?? 0) + (injected.timeout ?? 0)).toBeGreaterThan(0);
    expect(gaps.length).toBeGreaterThan(0);
    // Retry-After is 1 s; a millisecond of clock granularity either side is all we allow below it.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(990);
  });
});

it('F3: a card decline is classified non-retryable, so Temporal never retries it', () => {
  const decline = new Stripe.errors.StripeCardError({ type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' });
  const classified = classifyStripeError('confirm', decline);
  expect(classified).toMatchObject({ kind: 'decline', retryable: false });
});
