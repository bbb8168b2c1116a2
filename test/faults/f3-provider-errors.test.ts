// F3: the sandbox answers 20% of calls with 429, 5xx or a dropped connection.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { createPayments, integrity, payAndAwait } from './load';
import { classifyStripeError } from '../../providers/stripe/client';
import Stripe from 'stripe';

interface LogLine {
  time: number;
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
  stack = await startStack({ logger: pino({ level: 'info' }, capture), env: { API_CREATE_WAIT_MS: '200', PAYMENT_CONFIRM_WINDOW_MS: '3000' } });
});
afterAll(async () => stack?.close());

it('F3: every payment completes through 20% 429/5xx/timeouts, and each 429 waits exactly its Retry-After', async () => {
  await stack.control('/stripe/_control/faults', {
    rateLimitRate: 0.08,
    retryAfterSeconds: 1,
    errorRate: 0.07,
    storeInjectedErrors: false,
    timeoutRate: 0.05,
    timeoutMs: 1_500,
    timeoutPhase: 'before',
    seed: 42,
  });
  const created = await createPayments(stack, 30, 'f3');
  await payAndAwait(stack, created);
  await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
  const figures = await integrity(stack, created);
  const injected = stack.stripeSandbox.state().counts.faultsInjected;

  // For each 429, the next attempt of the same activity started no earlier than Retry-After.
  const gaps: number[] = [];
  for (const line of lines.filter((entry) => entry.outcome === 'rate_limited')) {
    const next = lines.find(
      (entry) => entry.workflowId === line.workflowId && entry.operation === line.operation && entry.attempt === (line.attempt ?? 0) + 1,
    );
    if (next) gaps.push(next.time - (next.latencyMs ?? 0) - line.time);
  }
  console.log(`[F3] ${JSON.stringify({ ...figures, injected, rateLimitedAttempts: gaps.length, minRetryGapMs: Math.min(...gaps), maxRetryGapMs: Math.max(...gaps) })}`);
  expect(figures).toMatchObject({ lost: 0, paymentsWithMoreThanOneIntent: 0, duplicateLedgerEvents: 0, paymentIntents: 30 });
  expect(injected.rateLimit).toBeGreaterThan(0);
  expect(injected.error + injected.timeout).toBeGreaterThan(0);
  expect(gaps.length).toBeGreaterThan(0);
  // Retry-After is 1 s; a millisecond of clock granularity either side is all we allow below it.
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(990);
});

it('F3: a card decline is classified non-retryable, so Temporal never retries it', () => {
  const decline = new Stripe.errors.StripeCardError({ type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' });
  const classified = classifyStripeError('confirm', decline);
  expect(classified).toMatchObject({ kind: 'decline', retryable: false });
});
