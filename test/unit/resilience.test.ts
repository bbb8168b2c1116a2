// The resilience mechanisms on their own: the retry table, the throttle, quota tracking, the
// conditional-GET gate, the circuit breaker's state machine (in memory), webhook secret rotation and
// the reloadable configuration. The shared (Postgres, Redis) variants are in test/workflow/resilience-shared.test.ts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { CALL_TIMEOUTS, RETRY_TABLE, callOptions, providerTaskQueue, NON_RETRYABLE_PROVIDER_ERRORS } from '../../workflows/shared/retry-policies';
import { TokenBucket } from '../../providers/resilience/token-bucket';
import { MAX_WIDENING_MS, RequestSlotMissedError, createMemoryPacer, lateToleranceMs, waitForSlot, type RequestPacer } from '../../providers/resilience/pacer';
import { QuotaTracker, rateLimitFromHeaders, usageRatio } from '../../providers/resilience/quota';
import { createProviderGate } from '../../providers/resilience/gate';
import { cacheTagsOf, createMemoryResponseCache } from '../../providers/resilience/response-cache';
import { CircuitBreakers } from '../../providers/resilience/circuit-breaker';
import { createMemoryBreakerStore } from '../../providers/resilience/breaker-store';
import { ProviderError, type ProviderErrorKind } from '../../providers/errors';
import { PROVIDER_ERROR_KINDS } from '../../domain/provider-errors';
import { countsAgainstProvider } from '../../providers/resilience/health-probe';
import { toApplicationFailure } from '../../activities/provider-call';
import { acceptedWebhookSecrets, type BreakerSettings } from '../../config/resilience';
import { ConfigError, loadConfig } from '../../config';
import { createReloadableConfig } from '../../config/secrets';
import { createProviderRegistry, createWebhookVerifiers } from '../../providers/registry';
import { createLogger } from '../../observability/logger';
import { OAuthTokenManager } from '../../providers/oauth/token-manager';
import { signAirbnbPayload } from '../../providers/airbnb/webhooks';
import { AIRBNB_SIGNATURE_HEADER } from '../../providers/airbnb/api';

const silent = createLogger({ level: 'silent' });

describe('the retry table', () => {
  it('has a row for every provider and kind of call it serves, with the non-retryable errors of the classification', () => {
    const payment = ['create', 'read', 'command'] as const;
    const channel = ['push', 'acknowledge', 'pull', 'resync'] as const;
    for (const provider of ['stripe', 'paypal', 'swish', 'mobilepay'] as const) {
      for (const kind of payment) {
        expect(RETRY_TABLE[provider][kind], `${provider}.${kind}`).toBeDefined();
        const options = callOptions(provider, kind);
        expect(options.retry?.nonRetryableErrorTypes).toEqual(NON_RETRYABLE_PROVIDER_ERRORS);
        expect(options.startToCloseTimeout).toBe(CALL_TIMEOUTS[kind].startToCloseTimeout);
      }
    }
    for (const provider of ['booking_com', 'airbnb'] as const) {
      for (const kind of channel) expect(RETRY_TABLE[provider][kind], `${provider}.${kind}`).toBeDefined();
    }
    expect(callOptions('stripe', 'ledger').retry?.nonRetryableErrorTypes).toBeUndefined();
    expect(providerTaskQueue('skerry-payments', 'stripe')).toBe('skerry-payments--stripe');
  });

  it('refuses to retry exactly the error types the runner marks final, for every kind of provider failure', () => {
    const kinds = Object.keys(PROVIDER_ERROR_KINDS) as ProviderErrorKind[];
    for (const kind of kinds) {
      const failure = toApplicationFailure(new ProviderError('stripe', 'create', kind, kind));
      expect(NON_RETRYABLE_PROVIDER_ERRORS.includes(failure.type!), kind).toBe(failure.nonRetryable);
    }
    expect(NON_RETRYABLE_PROVIDER_ERRORS).toHaveLength(kinds.filter((kind) => !new ProviderError('stripe', 'create', kind, kind).retryable).length);
    // The breaker counts outages only: a busy provider or its own fail-fast says nothing about its health.
    expect(kinds.filter((kind) => countsAgainstProvider(new ProviderError('stripe', 'create', kind, kind)))).toEqual(['unavailable', 'timeout', 'network']);
  });

  it('translates a 429 or 503 with Retry-After into exactly that next delay, and a circuit_open into the time left open', () => {
    const limited = toApplicationFailure(new ProviderError('stripe', 'create', 'rate_limited', 'slow down', { httpStatus: 429, retryAfterMs: 7_000 }));
    expect(limited).toMatchObject({ type: 'ProviderError.rate_limited', nonRetryable: false, nextRetryDelay: 7_000 });
    const unavailable = toApplicationFailure(new ProviderError('paypal', 'get', 'unavailable', 'down', { httpStatus: 503, retryAfterMs: 2_000 }));
    expect(unavailable.nextRetryDelay).toBe(2_000);
    const open = toApplicationFailure(new ProviderError('swish', 'get', 'circuit_open', 'open', { retryAfterMs: 12_345 }));
    expect(open).toMatchObject({ type: 'ProviderError.circuit_open', nonRetryable: false, nextRetryDelay: 12_345 });
    const declined = toApplicationFailure(new ProviderError('stripe', 'create', 'decline', 'card declined', { httpStatus: 402, retryAfterMs: 1_000 }));
    expect(declined).toMatchObject({ nonRetryable: true, nextRetryDelay: undefined });
  });

  it('classifies every Stripe failure: declines, validation and authentication final; 429, 5xx, timeouts and resets retried', async () => {
    const { classifyStripeError } = await import('../../providers/stripe/client');
    const error = (type: string, raw: Record<string, unknown>) => Stripe.errors.StripeError.generate({ type, ...raw } as never);
    expect(classifyStripeError('op', error('card_error', { statusCode: 402, code: 'card_declined', message: 'declined' }))).toMatchObject({ kind: 'decline', retryable: false });
    expect(classifyStripeError('op', error('invalid_request_error', { statusCode: 400, message: 'bad' }))).toMatchObject({ kind: 'validation', retryable: false });
    expect(classifyStripeError('op', new Stripe.errors.StripeAuthenticationError({ message: 'bad key', statusCode: 401 } as never))).toMatchObject({ kind: 'authentication', retryable: false });
    expect(classifyStripeError('op', new Stripe.errors.StripeRateLimitError({ message: 'slow', statusCode: 429, headers: { 'retry-after': '3' } } as never))).toMatchObject({
      kind: 'rate_limited',
      retryable: true,
      details: { retryAfterMs: 3_000 },
    });
    expect(classifyStripeError('op', error('api_error', { statusCode: 503, message: 'down' }))).toMatchObject({ kind: 'unavailable', retryable: true });
    expect(classifyStripeError('op', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toMatchObject({ kind: 'network', retryable: true });
    expect(classifyStripeError('op', new Stripe.errors.StripeConnectionError({ message: 'Request timed out' } as never))).toMatchObject({ kind: 'timeout', retryable: true });
  });
});

describe('client-side throttle', () => {
  it('makes requests wait for a token instead of failing, at the configured rate', async () => {
    const bucket = new TokenBucket({ ratePerSecond: 20 });
    const started = performance.now();
    const times = await Promise.all(Array.from({ length: 10 }, () => bucket.acquire().then(() => performance.now() - started)));
    times.sort((a, b) => a - b);
    // One token at once, then one every 50 ms: the tenth after about 450 ms, none refused.
    expect(times[9]!).toBeGreaterThanOrEqual(440);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(40);
    expect(bucket.throttled).toBe(9);
  });
});

describe('shared request slots', () => {
  /** A clock that only moves when told, and a pacer whose answers take scripted time. */
  function scripted(answers: Array<{ roundTripMs: number; waitMs: number }>) {
    let clock = 0;
    const reserved: number[] = [];
    const widened: number[] = [];
    const pacer: RequestPacer = {
      async reserve(_provider, _rate, extraMs = 0) {
        const answer = answers[Math.min(reserved.length, answers.length - 1)]!;
        reserved.push(clock);
        widened.push(extraMs);
        clock += answer.roundTripMs;
        return answer.waitMs;
      },
    };
    const late: number[] = [];
    const options = { now: () => clock, sleep: async (ms: number) => void (clock += ms), onLate: (ms: number) => late.push(ms) };
    return { pacer, options, reserved, widened, late };
  }

  it("leaves half of a second's guard time for lateness, whatever the rate", () => {
    expect(lateToleranceMs(4)).toBe(50);
    expect(lateToleranceMs(25)).toBe(50);
    expect(lateToleranceMs(1)).toBe(12.5);
  });

  it('sends at its slot when the slot is reached in time', async () => {
    const { pacer, options, reserved, late } = scripted([{ roundTripMs: 3, waitMs: 240 }]);
    expect(await waitForSlot(pacer, 'stripe', 4, options)).toBe(243);
    expect(reserved).toHaveLength(1);
    expect(late).toEqual([]);
  });

  it('gives up a slot it would reach too late (a slow answer) and takes the next one', async () => {
    const { pacer, options, reserved, late } = scripted([
      { roundTripMs: 120, waitMs: 10 },
      { roundTripMs: 4, waitMs: 270 },
    ]);
    expect(await waitForSlot(pacer, 'stripe', 4, options)).toBe(130 + 274);
    expect(reserved).toEqual([0, 130]);
    expect(late).toEqual([120]);
  });

  it('never sends on a missed slot: it takes one widened by the lateness it saw, and may be that late on it', async () => {
    const { pacer, options, reserved, widened, late } = scripted([
      { roundTripMs: 200, waitMs: 0 },
      { roundTripMs: 180, waitMs: 100 },
    ]);
    expect(await waitForSlot(pacer, 'stripe', 4, options)).toBe(200 + 280);
    expect(reserved).toEqual([0, 200]);
    // The second slot is 200 ms wider, so arriving 180 ms after it crowds nobody.
    expect(widened).toEqual([0, 200]);
    expect(late).toEqual([200]);
  });

  it('widens its next slot by at most a second after a stall, so callers waiting through one do not push every later slot back by all of it', async () => {
    const { pacer, options, widened, late } = scripted([
      { roundTripMs: 5_000, waitMs: 0 },
      { roundTripMs: 3, waitMs: 240 },
    ]);
    await waitForSlot(pacer, 'stripe', 4, options);
    expect(late).toEqual([5_000]);
    expect(widened).toEqual([0, MAX_WIDENING_MS]);
  });

  it('fails without sending when every slot is missed', async () => {
    const { pacer, options, reserved, late } = scripted([
      { roundTripMs: 100, waitMs: 0 },
      { roundTripMs: 300, waitMs: 0 },
      { roundTripMs: 700, waitMs: 0 },
    ]);
    await expect(waitForSlot(pacer, 'stripe', 4, { ...options, maxAttempts: 3 })).rejects.toBeInstanceOf(RequestSlotMissedError);
    expect(reserved).toHaveLength(3);
    expect(late).toEqual([100, 300, 700]);
  });

  it('places the slot after a widened one later by the widening', async () => {
    let clock = 1_000;
    const pacer = createMemoryPacer(() => clock);
    const waitFor = (extraMs?: number) => pacer.reserve('stripe', 4, extraMs);
    expect(await waitFor()).toBe(0);
    expect(await waitFor(120)).toBe(275);
    expect(await waitFor()).toBe(275 + 275 + 120);
    clock += 10_000;
    // After a quiet spell the next slot is now.
    expect(await waitFor()).toBe(0);
  });
});

describe('quota tracking', () => {
  it("reads the provider's rate-limit headers where it sends them, and counts calls where it does not", () => {
    let now = Date.parse('2030-01-01T00:00:10Z');
    const quota = new QuotaTracker('paypal', { now: () => now });
    quota.count();
    quota.count();
    expect(quota.snapshot()).toMatchObject({ calls: 2, source: 'counted', windowSeconds: 60 });
    expect(usageRatio(quota.snapshot(), 1)).toBeCloseTo(2 / 60);

    quota.observe({ 'X-RateLimit-Limit': '100', 'X-RateLimit-Remaining': '25', 'X-RateLimit-Reset': '30' });
    expect(quota.snapshot()).toMatchObject({ limit: 100, remaining: 25, source: 'headers', resetAt: '2030-01-01T00:00:40.000Z' });
    expect(usageRatio(quota.snapshot())).toBe(0.75);
    expect(rateLimitFromHeaders({ 'ratelimit-limit': '10', 'ratelimit-remaining': '9' })).toMatchObject({ limit: 10, remaining: 9 });
    expect(rateLimitFromHeaders({ 'content-type': 'application/json' })).toBeUndefined();

    // The next window starts from zero; figures past their reset time are dropped.
    now += 60_000;
    expect(quota.snapshot()).toMatchObject({ calls: 0, source: 'counted', limit: undefined });
  });
});

describe('conditional GETs', () => {
  const answer = (status: number, etag?: string, text = '') => ({ status, headers: { ...(etag ? { etag } : {}), 'content-type': 'application/json' }, text });

  it('answers a 304 from the cache, and reads in full after an invalidation', async () => {
    const cache = createMemoryResponseCache();
    const gate = createProviderGate('stripe', { cache });
    const sent: Array<Record<string, string>> = [];
    let body = '{"id":"pi_123456","status":"processing"}';
    const server = async (headers: Record<string, string>) => {
      sent.push(headers);
      const etag = `"${body.length}-${body.charCodeAt(20)}"`;
      return headers['if-none-match'] === etag ? answer(304) : answer(200, etag, body);
    };
    const url = 'http://provider.test/v1/payment_intents/pi_123456?expand=x';
    expect((await gate.exchange('GET', url, server)).text).toBe(body);
    expect(sent[0]).toEqual({});

    const second = await gate.exchange('GET', url, server);
    expect(sent[1]).toHaveProperty('if-none-match');
    expect(second).toMatchObject({ status: 200, text: body, fromCache: true });
    expect(gate.stats).toEqual({ notModified: 1, fullReads: 1 });

    // A webhook says pi_123456 changed: the next read carries no If-None-Match.
    body = '{"id":"pi_123456","status":"succeeded!"}';
    expect(await cache.invalidate('stripe', 'pi_123456')).toBe(1);
    const third = await gate.exchange('GET', url, server);
    expect(sent[2]).toEqual({});
    expect(third).toMatchObject({ text: body, fromCache: false });
    // POSTs never touch the cache.
    await gate.exchange('POST', url, async (headers) => {
      expect(headers).toEqual({});
      return answer(200, '"x"', '{}');
    });
  });

  it('tags entries with the ids in their URL', () => {
    expect(cacheTagsOf('/v1/refunds?payment_intent=pi_3Nx99&limit=100')).toEqual(['pi_3Nx99']);
    expect(cacheTagsOf('/v2/checkout/orders/5O190127TN364715T')).toEqual(['5O190127TN364715T']);
    expect(cacheTagsOf('/epayment/v1/payments/pay-abc123def')).toEqual(['pay-abc123def']);
  });
});

describe('circuit breaker (state machine)', () => {
  const settings: BreakerSettings = { failureRateThreshold: 0.5, minimumCalls: 4, windowMs: 10_000, openMs: 1_000, maxOpenMs: 4_000, probeLeaseMs: 500 };
  const down = () => new ProviderError('stripe', 'create', 'unavailable', 'HTTP 503', { httpStatus: 503 });
  const breakersOn = (store = createMemoryBreakerStore(), actor = 'worker-a') =>
    new CircuitBreakers({ store, settings: () => settings, actor, logger: silent, stateTtlMs: 0 });
  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      return err as ProviderError;
    }
    throw new Error('expected a failure');
  };

  it('opens at the failure rate, fails fast with the time left open, probes once and closes after a healthy check', async () => {
    const store = createMemoryBreakerStore();
    const a = breakersOn(store, 'worker-a');
    const b = breakersOn(store, 'worker-b');
    let calls = 0;
    const failing = () => {
      calls += 1;
      return Promise.reject(down());
    };
    await a.guard('stripe', 'create', async () => 'ok');
    // Declines and validation errors are answers from a healthy provider: they do not count.
    for (let i = 0; i < 3; i++) await failure(a.guard('stripe', 'create', () => Promise.reject(new ProviderError('stripe', 'create', 'decline', 'no'))));
    expect((await store.read('stripe')).state).toBe('closed');
    for (let i = 0; i < 5; i++) await failure(a.guard('stripe', 'create', failing));
    expect((await store.read('stripe')).state).toBe('open');
    const callsWhenOpened = calls;

    // The other worker shares the state: it fails fast without calling the provider.
    const fast = await failure(b.guard('stripe', 'create', failing));
    expect(fast).toMatchObject({ kind: 'circuit_open', retryable: true });
    expect(fast.details.retryAfterMs).toBeGreaterThan(800);
    expect(fast.details.retryAfterMs).toBeLessThanOrEqual(1_000);
    expect(toApplicationFailure(fast).nextRetryDelay).toBe(fast.details.retryAfterMs);
    expect(calls).toBe(callsWhenOpened);

    await new Promise((resolve) => setTimeout(resolve, 1_050));
    // Open time over: of several concurrent callers, one runs the health check, the others fail fast.
    let checks = 0;
    let releaseCheck!: () => void;
    const healthCheck = () => {
      checks += 1;
      return new Promise<void>((resolve) => (releaseCheck = resolve));
    };
    const probe = a.guard('stripe', 'create', async () => 'after-probe', healthCheck);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const others = await Promise.all([failure(b.guard('stripe', 'create', async () => 'x', healthCheck)), failure(b.guard('stripe', 'create', async () => 'y', healthCheck))]);
    expect(others.map((err) => err.kind)).toEqual(['circuit_open', 'circuit_open']);
    expect((await store.read('stripe')).state).toBe('half_open');
    releaseCheck();
    expect(await probe).toBe('after-probe');
    expect(checks).toBe(1);
    expect((await store.read('stripe')).state).toBe('closed');
    expect(await b.guard('stripe', 'create', async () => 'closed again')).toBe('closed again');

    const transitions = (await store.events('stripe', 10)).reverse().map((event) => `${event.fromState}->${event.toState}`);
    expect(transitions).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
  });

  it('stays open (longer) when the health check fails, and takes over a probe whose process died', async () => {
    const store = createMemoryBreakerStore();
    const a = breakersOn(store);
    for (let i = 0; i < 4; i++) await failure(a.guard('swish', 'get', () => Promise.reject(down())));
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const refused = await failure(a.guard('swish', 'get', async () => 'never', () => Promise.reject(down())));
    expect(refused.kind).toBe('circuit_open');
    // Doubled: 2 s after the first failed probe.
    expect(refused.details.retryAfterMs).toBeGreaterThan(1_800);
    expect((await store.read('swish')).failedProbes).toBe(1);

    // A probe claimed by a process that then died: after its lease another process probes.
    await store.transition('swish', 'dead-worker', () => ({ to: 'half_open', reason: 'test', probeLeaseMs: 100 }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const b = breakersOn(store, 'worker-b');
    expect(await b.guard('swish', 'get', async () => 'recovered', async () => undefined)).toBe('recovered');
    expect((await store.read('swish')).state).toBe('closed');
  });

  it('counts a 404 health check as healthy: the provider answered', async () => {
    const store = createMemoryBreakerStore();
    const a = breakersOn(store);
    for (let i = 0; i < 4; i++) await failure(a.guard('paypal', 'get', () => Promise.reject(down())));
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const notFound = () => Promise.reject(new ProviderError('paypal', 'get_order', 'not_found', 'RESOURCE_NOT_FOUND', { httpStatus: 404 }));
    expect(await a.guard('paypal', 'get', async () => 'ok', notFound)).toBe('ok');
  });

  it('reopens the scoped breaker (RESILIENCE_SCOPE) when its health check fails, not the unscoped one', async () => {
    let clock = 0;
    const store = createMemoryBreakerStore(() => clock);
    const scoped = new CircuitBreakers({ store, settings: () => settings, actor: 'worker-a', logger: silent, stateTtlMs: 0, keyOf: (provider) => `${provider}@suite` });
    for (let i = 0; i < 4; i++) await failure(scoped.guard('stripe', 'create', () => Promise.reject(down())));
    expect((await store.read('stripe@suite')).state).toBe('open');
    clock += settings.openMs;
    const probe = await failure(scoped.guard('stripe', 'create', async () => 'not called', () => Promise.reject(down())));
    expect(probe).toMatchObject({ kind: 'circuit_open', details: { retryAfterMs: 2 * settings.openMs } });
    expect(await store.read('stripe@suite')).toMatchObject({ state: 'open', failedProbes: 1 });
    expect(await store.events('stripe', 10)).toEqual([]);
  });
});

describe('webhook secret rotation', () => {
  const payload = JSON.stringify({ id: 'evt_rotation_1', object: 'event', type: 'customer.created', created: 1, data: { object: { id: 'cus_1', object: 'customer' } } });
  const signed = (secret: string, at: Date) => ({
    rawBody: Buffer.from(payload),
    headers: { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: Math.floor(at.getTime() / 1000) }) },
    url: '/webhooks/stripe',
    now: at,
  });

  it('accepts the previous secret alongside the new one until the overlap ends, then refuses it', async () => {
    const config = loadConfig({
      APP_ENV: 'development',
      STRIPE_WEBHOOK_SECRET: 'whsec_new_rotation_secret',
      STRIPE_WEBHOOK_SECRET_PREVIOUS: 'whsec_old_rotation_secret',
      STRIPE_WEBHOOK_SECRET_PREVIOUS_UNTIL: '2030-06-01T12:00:00Z',
    });
    expect(config.stripe.previousWebhookSecrets).toEqual({ secrets: ['whsec_old_rotation_secret'], until: '2030-06-01T12:00:00.000Z' });
    const stripe = createWebhookVerifiers(config).find((verifier) => verifier.provider === 'stripe')!;
    const before = new Date('2030-06-01T11:59:00Z');
    const after = new Date('2030-06-01T12:00:01Z');
    await expect(stripe.verify(signed('whsec_new_rotation_secret', before))).resolves.toHaveLength(1);
    await expect(stripe.verify(signed('whsec_old_rotation_secret', before))).resolves.toHaveLength(1);
    await expect(stripe.verify(signed('whsec_new_rotation_secret', after))).resolves.toHaveLength(1);
    await expect(stripe.verify(signed('whsec_old_rotation_secret', after))).rejects.toMatchObject({ reason: 'bad_signature' });
    expect(acceptedWebhookSecrets(['b'], { secrets: ['a'], until: '2030-01-01T00:00:00Z' }, new Date('2029-12-31T00:00:00Z'))).toEqual(['b', 'a']);
  });

  it('refuses a previous secret without the end of its overlap', () => {
    expect(() => loadConfig({ APP_ENV: 'development', MOBILEPAY_WEBHOOK_SECRET_PREVIOUS: 'old' })).toThrow(ConfigError);
    expect(() => loadConfig({ APP_ENV: 'development', MOBILEPAY_WEBHOOK_SECRET_PREVIOUS: 'old', MOBILEPAY_WEBHOOK_SECRET_PREVIOUS_UNTIL: 'tomorrow' })).toThrow(
      /MOBILEPAY_WEBHOOK_SECRET_PREVIOUS_UNTIL/,
    );
  });
});

describe('reloadable secrets', () => {
  it('re-reads the env file: outbound keys switch at the next call, process variables still win, an invalid file changes nothing', () => {
    let file: Record<string, string> = { STRIPE_SECRET_KEY: 'sk_test_first_key_from_file', STRIPE_API_BASE: 'http://127.0.0.1:9/stripe' };
    const source = createReloadableConfig({ processEnv: { APP_ENV: 'development', LOG_LEVEL: 'warn' }, readFiles: () => file });
    const registry = createProviderRegistry(source.current(), { source });
    const first = registry.get('stripe');
    expect(registry.get('stripe')).toBe(first);

    file = { ...file, STRIPE_SECRET_KEY: 'sk_test_second_key_from_file', LOG_LEVEL: 'debug' };
    const result = source.reload();
    expect(result).toEqual({ ok: true, changed: ['STRIPE_SECRET_KEY'] });
    expect(source.current().stripe.secretKey).toBe('sk_test_second_key_from_file');
    // The process environment set LOG_LEVEL: the file does not override it.
    expect(source.current().logLevel).toBe('warn');
    const second = registry.get('stripe');
    expect(second).not.toBe(first);

    file = { ...file, STRIPE_SECRET_KEY: 'not-a-stripe-key' };
    const refused = source.reload();
    expect(refused.ok).toBe(false);
    expect(source.current().stripe.secretKey).toBe('sk_test_second_key_from_file');
    expect(registry.get('stripe')).toBe(second);
  });
});

describe('reloadable webhook verifiers', () => {
  it('takes a rotated Airbnb webhook secret from the next request on', async () => {
    let file: Record<string, string> = { AIRBNB_WEBHOOK_SECRET: 'first-airbnb-secret' };
    const source = createReloadableConfig({ processEnv: { APP_ENV: 'development' }, readFiles: () => file });
    const airbnb = createWebhookVerifiers(source.current(), { source }).find((verifier) => verifier.provider === 'airbnb')!;
    const body = JSON.stringify({ event_id: 'evt_rotate_1', event_type: 'listing.updated' });
    const signedWith = (secret: string) => ({ rawBody: Buffer.from(body), headers: { [AIRBNB_SIGNATURE_HEADER]: signAirbnbPayload(secret, body) }, url: '/webhooks/airbnb' });

    await expect(airbnb.verify(signedWith('first-airbnb-secret'))).resolves.toHaveLength(1);
    await expect(airbnb.verify(signedWith('second-airbnb-secret'))).rejects.toMatchObject({ reason: 'bad_signature' });
    // Both secrets while Airbnb rolls the endpoint's secret, then only the new one.
    file = { AIRBNB_WEBHOOK_SECRET: 'second-airbnb-secret,first-airbnb-secret' };
    expect(source.reload()).toEqual({ ok: true, changed: ['AIRBNB_WEBHOOK_SECRET'] });
    await expect(airbnb.verify(signedWith('second-airbnb-secret'))).resolves.toHaveLength(1);
    await expect(airbnb.verify(signedWith('first-airbnb-secret'))).resolves.toHaveLength(1);
    file = { AIRBNB_WEBHOOK_SECRET: 'second-airbnb-secret' };
    source.reload();
    await expect(airbnb.verify(signedWith('first-airbnb-secret'))).rejects.toMatchObject({ reason: 'bad_signature' });
  });

  it('asks PayPal with the rotated app credentials and webhook id after a reload', async () => {
    // PayPal's two endpoints the verifier uses: the token (Basic auth with the app's credentials) and
    // verify-webhook-signature (Bearer token, the webhook id in the body).
    const seen: Array<{ path: string; authorization?: string; webhookId?: string }> = [];
    const server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      request.on('end', () => {
        const webhookId = request.url === '/v1/notifications/verify-webhook-signature' ? (JSON.parse(text) as { webhook_id: string }).webhook_id : undefined;
        seen.push({ path: request.url!, authorization: request.headers.authorization, webhookId });
        response.setHeader('content-type', 'application/json');
        if (request.url === '/v1/oauth2/token') {
          const clientId = Buffer.from(request.headers.authorization!.slice('Basic '.length), 'base64').toString('utf8').split(':')[0];
          response.end(JSON.stringify({ access_token: `token-for-${clientId}`, token_type: 'Bearer', expires_in: 32_400, scope: 'https://uri.paypal.com/services/payments/refund', app_id: 'APP-1', nonce: 'n' }));
        } else {
          response.end(JSON.stringify({ verification_status: 'SUCCESS' }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      let file: Record<string, string> = { PAYPAL_CLIENT_ID: 'first-client', PAYPAL_CLIENT_SECRET: 'first-secret', PAYPAL_WEBHOOK_ID: '8PT597110X687430LK', PAYPAL_API_BASE: apiBase };
      // A PayPal API that is not Skerry's sandbox: its tokens need a key of this deployment's own.
      const source = createReloadableConfig({ processEnv: { APP_ENV: 'development', TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32) }, readFiles: () => file });
      const paypal = createWebhookVerifiers(source.current(), { source }).find((verifier) => verifier.provider === 'paypal')!;
      const raw = JSON.stringify({ id: 'WH-EVT-1', event_type: 'CHECKOUT.ORDER.APPROVED', resource: { id: 'ORDER1', status: 'APPROVED' }, create_time: '2030-01-01T10:00:00Z' });
      const webhook = {
        rawBody: Buffer.from(raw),
        headers: {
          'paypal-transmission-id': 'tx-1',
          'paypal-transmission-time': '2030-01-01T10:00:00Z',
          'paypal-transmission-sig': 'c2ln',
          'paypal-cert-url': `${apiBase}/v1/notifications/certs/CERT-1`,
          'paypal-auth-algo': 'SHA256withRSA',
        },
        url: '/webhooks/paypal',
      };
      const verifications = () => seen.filter((request) => request.path === '/v1/notifications/verify-webhook-signature');

      await paypal.verify(webhook);
      expect(verifications().at(-1)).toMatchObject({ authorization: 'Bearer token-for-first-client', webhookId: '8PT597110X687430LK' });
      file = { ...file, PAYPAL_CLIENT_ID: 'second-client', PAYPAL_CLIENT_SECRET: 'second-secret', PAYPAL_WEBHOOK_ID: '1JE4291016473214C' };
      expect(source.reload()).toMatchObject({ ok: true });
      await paypal.verify(webhook);
      expect(verifications().at(-1)).toMatchObject({ authorization: 'Bearer token-for-second-client', webhookId: '1JE4291016473214C' });
      expect(seen.filter((request) => request.path === '/v1/oauth2/token').map((request) => request.authorization)).toEqual([
        `Basic ${Buffer.from('first-client:first-secret').toString('base64')}`,
        `Basic ${Buffer.from('second-client:second-secret').toString('base64')}`,
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('OAuth token manager (one process)', () => {
  it('refuses a token without the required scopes, and counts the failure', async () => {
    const failures: string[] = [];
    const manager = new OAuthTokenManager({ onRefreshFailure: (provider) => failures.push(provider) });
    const spec = {
      key: 'paypal:test',
      provider: 'paypal',
      requiredScopes: ['https://uri.paypal.com/services/payments/refund'],
      fetch: async () => ({ accessToken: 'A21-narrow', expiresInMs: 3_600_000, scopes: ['openid'] }),
    };
    await expect(manager.accessToken(spec)).rejects.toMatchObject({ kind: 'authentication', details: { code: 'insufficient_scope' } });
    expect(failures).toEqual(['paypal']);
    const wide = { ...spec, fetch: async () => ({ accessToken: 'A21-wide', expiresInMs: 3_600_000, scopes: ['openid', 'https://uri.paypal.com/services/payments/refund'] }) };
    expect(await manager.accessToken(wide)).toBe('A21-wide');
  });
});
