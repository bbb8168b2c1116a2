// Retries and the circuit breaker as a payment workflow meets them: each retry attempt is logged
// with the previous attempt's failure, and an open breaker sets the next attempt to when it may
// close, so Temporal does not spend attempts against a provider that is down.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerHarness, type WorkerHarness } from '../support/harness';
import { createScriptedProvider } from '../support/scripted-provider';
import { ProviderError } from '../../providers/errors';
import { CircuitBreakers } from '../../providers/resilience/circuit-breaker';
import { createMemoryBreakerStore } from '../../providers/resilience/breaker-store';
import { createLogger } from '../../observability/logger';

const provider = createScriptedProvider();
const lines: string[] = [];
const logger = createLogger({
  level: 'info',
  destination: new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  }),
});
const store = createMemoryBreakerStore();
const OPEN_MS = 3_000;
const breakers = new CircuitBreakers({
  store,
  settings: () => ({ failureRateThreshold: 0.5, minimumCalls: 2, windowMs: 60_000, openMs: OPEN_MS, maxOpenMs: 10_000, probeLeaseMs: 5_000 }),
  actor: 'test-worker',
  logger,
  stateTtlMs: 0,
});
let h: WorkerHarness;

beforeAll(async () => {
  h = await startWorkerHarness({
    providers: provider.registry,
    logger,
    resilience: { guard: (name, operation, fn, healthCheck) => breakers.guard(name, operation, fn, healthCheck) },
    timing: { confirmWindowMs: 60_000, expiresAfterMs: 120_000, refundWindowMs: 1_000, authorizationHoldMs: 60_000 },
  });
});
afterAll(async () => h?.close());

let n = 0;
const ref = () => `RES-${Date.now()}-${++n}`;
const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('retries and the circuit breaker in the payment workflow', () => {
  it('logs every retry attempt with provider, operation, attempt and the previous failure', async () => {
    provider.failNext('create', new ProviderError('stripe', 'create', 'rate_limited', 'Too many requests', { httpStatus: 429, retryAfterMs: 300 }));
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 100, currency: 'SEK' }, reference: ref() });
    expect(started.providerReference).toBeDefined();
    const retry = parsed().find((line) => line.msg === 'provider call retry attempt' && line.paymentId === started.paymentId);
    expect(retry).toMatchObject({
      provider: 'stripe',
      operation: 'createPayment',
      attempt: 2,
      previousFailure: 'rate_limited',
      reason: 'Too many requests',
      httpStatus: 429,
      retryAfterMs: 300,
    });
    const failed = parsed().find((line) => line.msg === 'provider call failed; Temporal will retry' && line.paymentId === started.paymentId);
    expect(failed).toMatchObject({ provider: 'stripe', operation: 'createPayment', attempt: 1, outcome: 'rate_limited', reason: 'Too many requests' });
  });

  it('opens after the failure rate, fails the next attempt fast with the time left open, and probes when it is over', async () => {
    const down = () => new ProviderError('stripe', 'create', 'unavailable', 'HTTP 503 from Stripe', { httpStatus: 503 });
    provider.failNext('create', down());
    provider.failNext('create', down());
    const before = provider.calls.length;
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 200, currency: 'SEK' }, reference: ref() });
    expect(started.providerReference).toBeDefined();

    // Attempt 1 fails; attempt 2 (1 s later) fails and opens the breaker for 3 s; attempt 3 (2 s
    // of backoff later) fails fast, without a call, with the ~1 s left open as its next delay;
    // attempt 4 comes when the open time is over and is the probe that closes it.
    const creates = provider.calls.slice(before).filter((call) => call.operation === 'create');
    expect(creates).toHaveLength(3);
    const gap = creates[2]!.at - creates[1]!.at;
    expect(gap).toBeGreaterThanOrEqual(OPEN_MS - 100);
    expect(gap).toBeLessThan(OPEN_MS + 1_000);
    const mine = parsed().filter((line) => line.paymentId === started.paymentId);
    const fast = mine.find((line) => line.outcome === 'circuit_open');
    expect(fast).toMatchObject({ attempt: 3, retryable: true, provider: 'stripe', operation: 'createPayment' });
    const delay = fast!.retryAfterMs as number;
    expect(delay).toBeGreaterThan(500);
    expect(delay).toBeLessThanOrEqual(1_100);
    // The next attempt comes exactly that much later (Temporal's nextRetryDelay), not after a backoff.
    const probeAt = creates[2]!.at;
    expect(probeAt - (fast!.time as number)).toBeGreaterThanOrEqual(delay - 50);
    expect(probeAt - (fast!.time as number)).toBeLessThan(delay + 600);
    expect(mine.find((line) => line.attempt === 4 && line.msg === 'provider call retry attempt')).toMatchObject({ previousFailure: 'circuit_open' });
    const transitions = (await store.events('stripe', 10)).reverse().map((event) => `${event.fromState}->${event.toState}`);
    expect(transitions).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
  });
});
