// The resilience state every worker shares: OAuth tokens and circuit breakers in Postgres (two
// instances with their own connection pools stand for two worker processes), and the response cache
// in Redis (REDIS_URL, default the local redis://127.0.0.1:6379).
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { createDatabase } from '../../db/client';
import { channelAccounts, circuitBreakerEvents, oauthTokens } from '../../db/schema';
import { OAuthTokenManager, type TokenSpec } from '../../providers/oauth/token-manager';
import { createChannelAccountTokenStore, createPostgresTokenStore } from '../../providers/oauth/postgres-token-store';
import { createChannelAccountStore, createTokenCipher } from '../../store/channel-accounts';
import { CircuitBreakers } from '../../providers/resilience/circuit-breaker';
import { createPostgresBreakerStore } from '../../providers/resilience/breaker-store-postgres';
import type { BreakerSettings } from '../../config/resilience';
import { createRedisResponseCache } from '../../providers/resilience/response-cache';
import { createProviderGate } from '../../providers/resilience/gate';
import { ProviderError } from '../../providers/errors';
import { createLogger } from '../../observability/logger';
import { CHANNEL_SANDBOX_DEFAULTS } from '../../config';

const KEY = CHANNEL_SANDBOX_DEFAULTS.tokenEncryptionKey;
const workerA = createDatabase(inject('databaseUrl'), { max: 5 });
const workerB = createDatabase(inject('databaseUrl'), { max: 5 });
afterAll(async () => {
  await workerA.close();
  await workerB.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function capturingLogger() {
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
  return { logger, lines };
}

describe('one OAuth token manager across workers (Postgres)', () => {
  it('20 concurrent token requests across two managers produce exactly one refresh, stored encrypted', async () => {
    const key = `paypal:test-${randomUUID()}`;
    let fetches = 0;
    const spec: TokenSpec = {
      key,
      provider: 'paypal',
      requiredScopes: ['refund'],
      async fetch() {
        fetches += 1;
        await sleep(100); // a slow token endpoint widens the race
        return { accessToken: `A21AA-token-${fetches}-${randomUUID()}`, expiresInMs: 3_600_000, scopes: ['openid', 'refund'] };
      },
    };
    const a = new OAuthTokenManager({ store: createPostgresTokenStore(workerA.db, KEY) });
    const b = new OAuthTokenManager({ store: createPostgresTokenStore(workerB.db, KEY) });
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).accessToken(spec)));
    expect(fetches).toBe(1);
    expect(new Set(tokens).size).toBe(1);

    // At rest: sealed (AES-256-GCM), never the token itself.
    const [row] = await workerA.db.select().from(oauthTokens).where(eq(oauthTokens.key, key));
    expect(row!.accessTokenEnc).not.toContain(tokens[0]);
    expect(row!.accessTokenEnc).toMatch(/^v2:[0-9a-f]{12}:/); // sealed with a key id (security/sealing.ts)
    expect(createTokenCipher(KEY).decrypt(row!.accessTokenEnc!, `oauth:${key}:access`)).toBe(tokens[0]);
    expect(row).toMatchObject({ refreshCount: 1, scopes: 'openid refund' });

    // One worker's token is refused (401): it is invalidated for both, and the other worker then
    // finds the new token in the store instead of refreshing again.
    const renewed = await a.accessToken(spec, { rejected: tokens[0] });
    expect(renewed).not.toBe(tokens[0]);
    expect(fetches).toBe(2);
    expect(await b.accessToken(spec, { rejected: tokens[0] })).toBe(renewed);
    expect(fetches).toBe(2);
  });

  it('refreshes proactively inside the margin, once for both workers, and keeps the valid token when a refresh fails', async () => {
    const key = `mobilepay:test-${randomUUID()}`;
    let now = Date.now();
    let fetches = 0;
    let failing = false;
    const spec: TokenSpec = {
      key,
      provider: 'mobilepay',
      async fetch() {
        fetches += 1;
        await sleep(50);
        if (failing) throw new ProviderError('mobilepay', 'access_token', 'unavailable', 'token endpoint down', { httpStatus: 503 });
        return { accessToken: `mp-${fetches}`, expiresInMs: 3_600_000 };
      },
    };
    const failures: string[] = [];
    const { logger, lines } = capturingLogger();
    const options = { now: () => now, refreshMarginMs: 300_000, logger, onRefreshFailure: (provider: string) => failures.push(provider) };
    const a = new OAuthTokenManager({ ...options, store: createPostgresTokenStore(workerA.db, KEY) });
    const b = new OAuthTokenManager({ ...options, store: createPostgresTokenStore(workerB.db, KEY) });
    expect(await a.accessToken(spec)).toBe('mp-1');
    expect(await b.accessToken(spec)).toBe('mp-1');

    now += 3_600_000 - 300_000 - 1_000; // not yet within the margin
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).accessToken(spec)));
    expect(fetches).toBe(1);
    now += 2_000; // inside the margin, before expiry
    const refreshed = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).accessToken(spec)));
    expect(new Set(refreshed)).toEqual(new Set(['mp-2']));
    expect(fetches).toBe(2);

    now += 3_600_000 - 300_000 + 1_000;
    failing = true;
    expect(await a.accessToken(spec)).toBe('mp-2');
    expect(failures).toEqual(['mobilepay']);
    expect(lines.some((line) => line.includes('OAuth token refresh failed') && line.includes('"level":50'))).toBe(true);
    const [row] = await workerA.db.select().from(oauthTokens).where(eq(oauthTokens.key, key));
    expect(row!.lastError).toMatch(/token endpoint down/);
  });

  it("manages Airbnb hosts' refresh tokens in channel_accounts: one refresh for concurrent callers, the rotated refresh token kept", async () => {
    const host = `host-${randomUUID().slice(0, 8)}`;
    const accounts = createChannelAccountStore(workerA.db, KEY);
    await accounts.connect('airbnb', host, { accessToken: 'airbnb-access-1', refreshToken: 'airbnb-refresh-1', expiresIn: 30, scope: 'property_management' });
    let fetches = 0;
    const spec: TokenSpec = {
      key: `airbnb:host:${host}`,
      provider: 'airbnb',
      requiredScopes: ['property_management'],
      async fetch(current) {
        fetches += 1;
        expect(current?.refreshToken).toBe(`airbnb-refresh-${fetches}`);
        await sleep(50);
        return { accessToken: `airbnb-access-${fetches + 1}`, refreshToken: `airbnb-refresh-${fetches + 1}`, expiresInMs: 3_600_000, scopes: ['property_management'] };
      },
    };
    // The stored token expires in 30 s, inside the 60 s margin: every caller needs a new one.
    const a = new OAuthTokenManager({ store: createChannelAccountTokenStore(workerA.db, KEY), refreshMarginMs: 60_000 });
    const b = new OAuthTokenManager({ store: createChannelAccountTokenStore(workerB.db, KEY), refreshMarginMs: 60_000 });
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).accessToken(spec)));
    expect(new Set(tokens)).toEqual(new Set(['airbnb-access-2']));
    expect(fetches).toBe(1);
    const [row] = await workerA.db.select().from(channelAccounts).where(eq(channelAccounts.externalAccountId, host));
    expect(row!.refreshCount).toBe(1);
    // The channel manager's own store reads what the manager wrote (same sealing).
    expect(await accounts.accessToken('airbnb', host, async () => ({ accessToken: 'never', refreshToken: 'never', expiresIn: 1 }))).toBe('airbnb-access-2');
  });
});

describe('one circuit breaker across workers (Postgres)', () => {
  const settings: BreakerSettings = { failureRateThreshold: 0.5, minimumCalls: 3, windowMs: 30_000, openMs: 800, maxOpenMs: 5_000, probeLeaseMs: 2_000 };
  const failure = async (promise: Promise<unknown>) => promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: ProviderError) => err,
  );

  it('opens from one worker, fails fast on the other, and closes after one health check', async () => {
    const provider = `test-provider-${randomUUID().slice(0, 8)}`;
    const { logger, lines } = capturingLogger();
    const a = new CircuitBreakers({ store: createPostgresBreakerStore(workerA.db), settings: () => settings, actor: 'worker-a', logger, stateTtlMs: 0 });
    const b = new CircuitBreakers({ store: createPostgresBreakerStore(workerB.db), settings: () => settings, actor: 'worker-b', logger, stateTtlMs: 0 });
    const down = () => Promise.reject(new ProviderError(provider, 'op', 'unavailable', 'HTTP 500', { httpStatus: 500 }));
    for (let i = 0; i < 3; i++) await failure(a.guard(provider, 'op', down));
    const fast = await failure(b.guard(provider, 'op', async () => 'not called'));
    expect(fast.kind).toBe('circuit_open');
    expect(fast.details.retryAfterMs).toBeGreaterThan(0);
    expect(fast.details.retryAfterMs).toBeLessThanOrEqual(800);

    await sleep(850);
    let checks = 0;
    const healthCheck = async () => {
      checks += 1;
      await sleep(100);
    };
    const outcomes = await Promise.allSettled([
      a.guard(provider, 'op', async () => 'a', healthCheck),
      b.guard(provider, 'op', async () => 'b', healthCheck),
      b.guard(provider, 'op', async () => 'b2', healthCheck),
    ]);
    expect(checks).toBe(1);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(await b.guard(provider, 'op', async () => 'closed')).toBe('closed');

    const events = await workerA.db.select().from(circuitBreakerEvents).where(eq(circuitBreakerEvents.provider, provider)).orderBy(circuitBreakerEvents.id);
    expect(events.map((event) => `${event.fromState}->${event.toState}`)).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
    expect(events[0]).toMatchObject({ calls: 3, failures: 3, actor: 'worker-a' });
    expect(events[1]!.actor).toMatch(/^worker-[ab]#\d+$/);
    expect(lines.filter((line) => line.includes('circuit breaker transition'))).toHaveLength(3);
  });
});

describe('response cache in Redis', () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('serves a 304 from the shared cache to another process, and reads in full after an invalidation', async () => {
    const prefix = `skerry-test:${randomUUID()}`;
    // Two gates, two caches on the same Redis: two worker processes.
    const first = createProviderGate('mobilepay', { cache: createRedisResponseCache(redis, { prefix, ttlSeconds: 60 }) });
    const second = createProviderGate('mobilepay', { cache: createRedisResponseCache(redis, { prefix, ttlSeconds: 60 }) });
    const seen: Array<string | undefined> = [];
    let body = '{"reference":"pay-abc123def","state":"CREATED"}';
    const server = async (headers: Record<string, string>) => {
      seen.push(headers['if-none-match']);
      const etag = `"${Buffer.from(body).toString('base64url').slice(-12)}"`;
      return headers['if-none-match'] === etag ? { status: 304, headers: {}, text: '' } : { status: 200, headers: { etag, 'content-type': 'application/json' }, text: body };
    };
    const url = 'https://api.example/epayment/v1/payments/pay-abc123def';
    await first.exchange('GET', url, server);
    const cached = await second.exchange('GET', url, server);
    expect(seen[1]).toBeDefined();
    expect(cached).toMatchObject({ status: 200, text: body, fromCache: true });

    body = '{"reference":"pay-abc123def","state":"AUTHORIZED"}';
    expect(await createRedisResponseCache(redis, { prefix }).invalidate('mobilepay', 'pay-abc123def')).toBe(1);
    const full = await second.exchange('GET', url, server);
    expect(seen[2]).toBeUndefined();
    expect(full).toMatchObject({ text: body, fromCache: false });
    await redis.del(...(await redis.keys(`${prefix}:*`)));
  });
});
