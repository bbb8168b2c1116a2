// Rate limits and the circuit breaker across two worker processes (`npm run worker`'s entry point),
// against the Stripe sandbox: a burst of payments never exceeds Stripe's configured rate at the
// sandbox, and a failing Stripe opens the breaker for both workers, which then fail fast until the
// health check succeeds after the sandbox recovers. GET /providers shows it all.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { busiestSecond, eventually } from '../support/harness';
import { exited, spawnWorkerProcess } from '../support/worker-process';
import type { LoggedRequest } from '../../sandbox/shared/faults';

const RATE = 4;
const OPEN_MS = 2_000;
const MAX_OPEN_MS = 3_000;
const resilienceEnv = {
  STRIPE_RATE_LIMIT_PER_SECOND: String(RATE),
  CIRCUIT_BREAKER_MIN_CALLS: '4',
  CIRCUIT_BREAKER_FAILURE_RATE: '0.5',
  CIRCUIT_BREAKER_WINDOW_MS: '30000',
  CIRCUIT_BREAKER_OPEN_MS: String(OPEN_MS),
  CIRCUIT_BREAKER_MAX_OPEN_MS: String(MAX_OPEN_MS),
  CIRCUIT_BREAKER_PROBE_LEASE_MS: '5000',
  // Calls are counted per clock-aligned window: an hour makes a burst rarely straddle two.
  PROVIDER_QUOTA_WINDOW_SECONDS: '3600',
};

let stack: Stack;
let workers: Array<ChildProcess & { output: string[] }> = [];
beforeAll(async () => {
  stack = await startStack({ startWorker: false, env: { ...resilienceEnv, API_CREATE_WAIT_MS: '100', PAYMENT_CONFIRM_WINDOW_MS: '120000' } });
  workers = [0, 1].map(() =>
    spawnWorkerProcess(stack.config, { ...resilienceEnv, LOG_LEVEL: 'info', WORKER_METRICS_PORT: 'off', WORKER_TEMPORAL_METRICS_PORT: 'off' }),
  );
  await eventually(() => workers.every((worker) => worker.output.join('').includes('worker running')), { timeoutMs: 90_000, what: 'two worker processes' });
});
afterAll(async () => {
  for (const worker of workers) worker.kill('SIGTERM');
  await Promise.all(workers.map(exited));
  await stack?.close();
});

const requestLog = async () => ((await (await fetch(`${stack.sandboxUrl}/stripe/_control/request-log`)).json()) as { requests: LoggedRequest[] }).requests;
const clearRequestLog = () => fetch(`${stack.sandboxUrl}/stripe/_control/request-log`, { method: 'DELETE' });
type ProvidersView = Awaited<ReturnType<typeof import('../../api/routes/providers').providersView>>;
const stripeView = async () => ((await stack.http('GET', '/providers')).body as ProvidersView).providers.find((provider) => provider.provider === 'stripe')!;

let n = 0;
async function startPayments(count: number, label: string) {
  const started = await Promise.all(
    Array.from({ length: count }, () =>
      stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 10_000, currency: 'SEK' }, reference: `${label}-${Date.now()}-${++n}` }),
    ),
  );
  for (const response of started) expect(response.status, JSON.stringify(response.body)).toBe(201);
  return started.map((response) => response.body.paymentId as string);
}
const created = (paymentIds: string[], timeoutMs: number) =>
  eventually(
    async () => {
      const states = await Promise.all(paymentIds.map(async (id) => (await stack.http('GET', `/payments/${id}`)).body));
      return states.every((state) => state.providerReference) ? states : undefined;
    },
    { timeoutMs, everyMs: 250, what: 'every payment created at Stripe' },
  );


describe('rate limits and circuit breaker across two worker processes', () => {
  it("never exceeds Stripe's configured rate at the sandbox, with both workers taking calls", async () => {
    await clearRequestLog();
    const burst = await startPayments(24, 'rate');
    await created(burst, 60_000);
    const creates = (await requestLog()).filter((request) => request.method === 'POST' && request.path.endsWith('/v1/payment_intents'));
    expect(creates.length).toBeGreaterThanOrEqual(24);
    const most = busiestSecond(creates.map((request) => request.at));
    const span = (Math.max(...creates.map((r) => r.at)) - Math.min(...creates.map((r) => r.at))) / 1000;
    console.log(`[rate] ${creates.length} creates over ${span.toFixed(1)} s by two workers; busiest second: ${most} (limit ${RATE}/s)`);
    expect(most).toBeLessThanOrEqual(RATE);
    // The limit held across processes, not because one process did everything.
    for (const worker of workers) expect(worker.output.join('')).toContain('"operation":"createPayment"');

    const view = await stripeView();
    expect(view).toMatchObject({ rateLimitPerSecond: RATE, taskQueue: `${stack.config.temporal.taskQueue}--stripe` });
    // Every create in the reported window is counted; when a window boundary fell inside the burst,
    // only the creates after it are in the window shown.
    const quota = await eventually(async () => {
      const { quota } = await stripeView();
      const inWindow = creates.filter((request) => request.at >= Date.parse(quota.windowStartedAt ?? '')).length;
      return inWindow > 0 && quota.calls >= inWindow ? { ...quota, inWindow } : undefined;
    }, { timeoutMs: 15_000, what: 'quota usage reported' });
    expect(quota).toMatchObject({ source: 'counted', windowSeconds: 3600 });
    if (quota.inWindow === creates.length) expect(quota.processes).toBe(2);
  });

  it('opens for both workers when Stripe fails, fails fast until the health check succeeds, then closes', async () => {
    await clearRequestLog();
    await stack.control('/stripe/_control/faults', { errorRate: 1, storeInjectedErrors: false });
    const outputBefore = workers.map((worker) => worker.output.join('').length);
    const failing = await startPayments(6, 'breaker');

    const open = await eventually(async () => {
      const view = await stripeView();
      return view.circuitBreaker.state === 'open' ? view : undefined;
    }, { timeoutMs: 30_000, what: 'the breaker to open' });
    expect(open.circuitBreaker.recentTransitions[0]).toMatchObject({ from: 'closed', to: 'open' });
    expect(open.circuitBreaker.window.failures).toBeGreaterThanOrEqual(4);

    // Both processes fail calls fast (no request to Stripe) with the time left open as the delay.
    const fastLines = await eventually(() => {
      const perWorker = workers.map((worker, index) =>
        worker.output
          .join('')
          .slice(outputBefore[index])
          .split('\n')
          .filter((line) => line.includes('"outcome":"circuit_open"'))
          .map((line) => JSON.parse(line) as { retryAfterMs: number }),
      );
      return perWorker.every((lines) => lines.length > 0) ? perWorker.flat() : undefined;
    }, { timeoutMs: 30_000, what: 'both workers failing fast' });
    for (const line of fastLines) {
      expect(line.retryAfterMs).toBeGreaterThan(0);
      expect(line.retryAfterMs).toBeLessThanOrEqual(MAX_OPEN_MS);
    }

    // While open, Stripe sees health checks, not the payments' retries.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const duringOutage = await requestLog();
    const openedAt = Date.parse(open.circuitBreaker.recentTransitions[0]!.at);
    const createsAfterOpen = duringOutage.filter((request) => request.path.endsWith('/v1/payment_intents') && request.at > openedAt + 500);
    expect(createsAfterOpen).toHaveLength(0);
    expect(duringOutage.some((request) => request.path.endsWith('/v1/balance') && request.status === 500)).toBe(true);

    // Stripe recovers: the next health check closes the breaker and the payments go through.
    await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
    const closed = await eventually(async () => {
      const view = await stripeView();
      return view.circuitBreaker.state === 'closed' && view.circuitBreaker.recentTransitions[0]?.to === 'closed' ? view : undefined;
    }, { timeoutMs: 30_000, what: 'the breaker to close' });
    expect(closed.circuitBreaker.recentTransitions[0]).toMatchObject({ from: 'half_open', to: 'closed', reason: 'health check succeeded' });
    expect((await requestLog()).some((request) => request.path.endsWith('/v1/balance') && request.status === 200)).toBe(true);
    await created(failing, 30_000);
  });
});
