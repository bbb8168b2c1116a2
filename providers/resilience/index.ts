// The resilience mechanisms of one process, built once from configuration and handed to every
// provider client (gates, tokens) and to the activity runner (breakers): one mechanism each,
// configured per provider. Workers and the API build it the same way; state that must be shared
// between processes (breakers, tokens, quota usage) lives in Postgres, the response cache in Redis
// when REDIS_URL is set.
import type { Sql } from 'postgres';
import type { Config } from '../../config';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import type { KeyMaterial } from '../../security/keys';
import { providerQuotaUsage } from '../../db/schema';
import { scopedProvider, type ResilienceConfig, type ResilientProvider } from '../../config/resilience';
import type { Logger } from '../../observability/logger';
import { getProcessMetrics, type Metrics } from '../../observability/metrics';
import { OAuthTokenManager, createMemoryTokenStore } from '../oauth/token-manager';
import { createChannelAccountTokenStore, createPostgresTokenStore } from '../oauth/postgres-token-store';
import { CircuitBreakers, circuitStateNumber } from './circuit-breaker';
import { createPostgresBreakerStore } from './breaker-store-postgres';
import type { BreakerRow } from './breaker-store';
import { createProviderGate, type ProviderGate } from './gate';
import { QuotaTracker, usageRatio, type QuotaSnapshot } from './quota';
import { createMemoryResponseCache, createRedisResponseCache, type ResponseCache } from './response-cache';
import { TokenBucket } from './token-bucket';
import { RequestSlotMissedError, createPostgresPacer, waitForSlot, type RequestPacer } from './pacer';

export interface ProviderResilience {
  /** This process, as it appears in breaker events and quota rows. */
  readonly processId: string;
  readonly config: ResilienceConfig;
  /** The HTTP gate of a provider's clients: throttle, quota, conditional GETs. */
  gate(provider: string): ProviderGate;
  readonly tokens: OAuthTokenManager;
  /** The same manager over the channel manager's channel_accounts (Airbnb hosts' tokens); absent without a database. */
  readonly channelAccountTokens?: OAuthTokenManager;
  readonly breakers?: CircuitBreakers;
  readonly cache?: ResponseCache;
  /**
   * Request slots in Postgres shared by every process, for limits a channel sets per key of its own
   * (Channex: per property and kind); present whenever there is a database.
   */
  readonly requestPacer?: RequestPacer;
  /** Runs one provider call through the provider's circuit breaker (no breaker: just runs it). */
  guard<T>(provider: string, operation: string, fn: () => Promise<T>, healthCheck?: () => Promise<unknown>): Promise<T>;
  /** Drops cached reads of a payment (a webhook reported a change). */
  invalidate(provider: string, providerReference: string): Promise<void>;
  quotaSnapshots(): QuotaSnapshot[];
  /** Writes this process's quota usage to provider_quota_usage (also every few seconds). */
  flushQuotas(): Promise<void>;
  close(): Promise<void>;
}

export interface ProviderResilienceOptions {
  config: ResilienceConfig;
  /** AES-256-GCM key for tokens at rest (config.channels.tokenEncryptionKey). */
  tokenEncryptionKey: KeyMaterial;
  /** Without a database: in-process breakers off, tokens and quotas in memory only. */
  db?: Database;
  /**
   * The shared request pacer's own connection (db/client.ts pacerConnection). Without it the pacer
   * asks on `db`'s pool, where a busy pool's queue reads as lateness.
   */
  pacerConnection?: () => Sql;
  logger: Logger;
  metrics?: Pick<Metrics, 'counter' | 'registerGauge'>;
  processId?: string;
  /** How often quota usage is written to Postgres. */
  quotaFlushMs?: number;
}

// One in-process response cache per process: under `npm start` the API (which invalidates on
// webhooks) and the worker (which reads) share it.
let processCache: ResponseCache | undefined;
const redisCaches = new Map<string, { redis: Redis; cache: ResponseCache; users: number }>();

function responseCacheFor(config: ResilienceConfig): { cache?: ResponseCache; release: () => Promise<void> } {
  if (config.responseCache === 'off') return { release: async () => {} };
  if (config.responseCache === 'memory' || !config.redisUrl) {
    processCache ??= createMemoryResponseCache({ ttlMs: config.responseCacheTtlSeconds * 1000 });
    return { cache: processCache, release: async () => {} };
  }
  const url = config.redisUrl;
  let shared = redisCaches.get(url);
  if (!shared) {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
    // A cache that cannot reach Redis reads in full; errors are reported by the gate.
    redis.on('error', () => undefined);
    shared = { redis, cache: createRedisResponseCache(redis, { ttlSeconds: config.responseCacheTtlSeconds }), users: 0 };
    redisCaches.set(url, shared);
  }
  shared.users += 1;
  const entry = shared;
  return {
    cache: entry.cache,
    release: async () => {
      entry.users -= 1;
      if (entry.users > 0) return;
      redisCaches.delete(url);
      await entry.redis.quit().catch(() => entry.redis.disconnect());
    },
  };
}

/**
 * A process's resilience on its database (the worker's and the API's alike): the tokens sealed with
 * the channels' key, and the shared pacer on the database's own pacer connection.
 */
export function createProcessResilience(
  config: Pick<Config, 'resilience' | 'channels'>,
  database: { db: Database; pacerConnection: () => Sql },
  logger: Logger,
  metrics?: ProviderResilienceOptions['metrics'],
): ProviderResilience {
  return createProviderResilience({
    config: config.resilience,
    tokenEncryptionKey: config.channels.tokenEncryptionKey,
    db: database.db,
    pacerConnection: database.pacerConnection,
    logger,
    metrics,
  });
}

export function createProviderResilience(options: ProviderResilienceOptions): ProviderResilience {
  const { config, db, logger } = options;
  const metrics = options.metrics ?? getProcessMetrics();
  const processId = options.processId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const log = logger.child({ component: 'resilience' });
  const { cache, release } = responseCacheFor(config);

  const refreshFailures = metrics.counter('skerry_oauth_refresh_failures_total', 'OAuth token refreshes that failed (alert on any increase)', ['provider']);
  const transitions = metrics.counter('skerry_circuit_breaker_transitions_total', 'Circuit breaker transitions made by this process', ['provider', 'to']);
  const cacheErrors = metrics.counter('skerry_response_cache_errors_total', 'Response cache operations that failed (the read went on without the cache)', ['provider']);

  const tokenOptions = { refreshMarginMs: config.oauthRefreshMarginMs, logger: log, onRefreshFailure: (provider: string) => refreshFailures.inc({ provider }) };
  const tokens = new OAuthTokenManager({ ...tokenOptions, store: db ? createPostgresTokenStore(db, options.tokenEncryptionKey) : createMemoryTokenStore() });
  const channelAccountTokens = db ? new OAuthTokenManager({ ...tokenOptions, store: createChannelAccountTokenStore(db, options.tokenEncryptionKey) }) : undefined;

  const breakerSettings = config.breaker;
  const breakers =
    breakerSettings && db
      ? new CircuitBreakers({
          store: createPostgresBreakerStore(db),
          settings: () => breakerSettings,
          actor: processId,
          keyOf: (provider) => scopedProvider(config, provider),
          logger: log,
          onTransition: (event) => transitions.inc({ provider: event.provider, to: event.toState }),
        })
      : undefined;

  const pacerConnection = () => options.pacerConnection?.() ?? db!.$client;
  const pacer = db && config.sharedPacing ? createPostgresPacer(pacerConnection()) : undefined;
  const gates = new Map<string, { gate: ProviderGate; bucket: TokenBucket; quota: QuotaTracker; pacedMs: number }>();
  const gateEntry = (provider: string) => {
    let entry = gates.get(provider);
    if (!entry) {
      const rate = config.rateLimits[provider as ResilientProvider] ?? 10;
      const bucket = new TokenBucket({ ratePerSecond: rate, burst: config.throttleBurst });
      const quota = new QuotaTracker(scopedProvider(config, provider), { windowMs: config.quotaWindowSeconds * 1_000 });
      const pace = pacer
        ? async () => {
            try {
              current.pacedMs += await waitForSlot(pacer, scopedProvider(config, provider), rate, {
                onLate: (lateMs) => log.debug({ provider, lateMs: Math.round(lateMs) }, 'request slot missed; taking the next one'),
              });
            } catch (err) {
              // A request that missed its slots is not sent: late, it would break the provider's rate.
              if (err instanceof RequestSlotMissedError) throw err;
              // Without the shared slots the task queue's limit and this process's throttle still hold.
              log.warn({ provider, err: (err as Error).message }, 'shared request pacing unavailable');
            }
          }
        : undefined;
      const gate = createProviderGate(provider, {
        bucket,
        pace,
        quota,
        cache,
        onCacheError: (err) => {
          cacheErrors.inc({ provider });
          log.warn({ provider, err: (err as Error).message }, 'response cache unavailable; reading in full');
        },
      });
      const current = { gate, bucket, quota, pacedMs: 0 };
      entry = current;
      gates.set(provider, entry);
    }
    return entry;
  };

  const throttleOf = (entry: { bucket: TokenBucket; pacedMs: number }) => ({ throttled: entry.bucket.throttled, waitedMs: entry.bucket.waitedMs + entry.pacedMs });
  const quotaSnapshots = () => [...gates.values()].map((entry) => entry.quota.snapshot(throttleOf(entry)));

  const flushQuotas = async () => {
    if (!db) return;
    for (const entry of gates.values()) {
      const { quota, bucket } = entry;
      if (!quota.takeChanged()) continue;
      const snapshot = quota.snapshot(throttleOf(entry));
      const values = {
        provider: snapshot.provider,
        process: processId,
        windowStartedAt: new Date(snapshot.windowStartedAt),
        windowSeconds: snapshot.windowSeconds,
        calls: snapshot.calls,
        throttledMs: snapshot.throttledMs,
        limit: snapshot.limit ?? null,
        remaining: snapshot.remaining ?? null,
        resetAt: snapshot.resetAt ? new Date(snapshot.resetAt) : null,
        details: { throttled: snapshot.throttled, source: snapshot.source, queued: bucket.queued },
      };
      await db
        .insert(providerQuotaUsage)
        .values(values)
        .onConflictDoUpdate({ target: [providerQuotaUsage.provider, providerQuotaUsage.process], set: { ...values, updatedAt: sql`now()` } });
    }
  };
  const flushTimer = db
    ? setInterval(() => {
        flushQuotas().catch((err: Error) => log.warn({ err: err.message }, 'could not record provider quota usage'));
      }, options.quotaFlushMs ?? 5_000)
    : undefined;
  flushTimer?.unref();

  // Scrape-time gauges (the operations metrics registry reads them at every scrape).
  if (breakers) {
    metrics.registerGauge({
      name: 'skerry_circuit_breaker_state',
      help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open (shared by every worker)',
      labelNames: ['provider'],
      collect: async () =>
        (await breakers.store.list())
          .filter((row: BreakerRow) => (config.scope ? row.provider.endsWith(`@${config.scope}`) : !row.provider.includes('@')))
          .map((row: BreakerRow) => ({ labels: { provider: row.provider.split('@')[0]! }, value: circuitStateNumber(row.state) })),
    });
  }
  metrics.registerGauge({
    name: 'skerry_provider_quota_usage_ratio',
    help: "Share of the provider's quota this process used in the current window (the provider's own figures when it sends them)",
    labelNames: ['provider'],
    collect: () =>
      quotaSnapshots().flatMap((snapshot) => {
        const provider = snapshot.provider.split('@')[0]!;
        const ratio = usageRatio(snapshot, config.rateLimits[provider as ResilientProvider]);
        return ratio === undefined ? [] : [{ labels: { provider }, value: ratio }];
      }),
  });

  return {
    processId,
    config,
    gate: (provider) => gateEntry(provider).gate,
    tokens,
    channelAccountTokens,
    breakers,
    cache,
    requestPacer: db ? (pacer ?? createPostgresPacer(pacerConnection())) : undefined,
    guard: (provider, operation, fn, healthCheck) => (breakers ? breakers.guard(provider, operation, fn, healthCheck) : fn()),
    async invalidate(provider, providerReference) {
      if (!cache) return;
      try {
        await cache.invalidate(provider, providerReference);
      } catch (err) {
        cacheErrors.inc({ provider });
        log.warn({ provider, err: (err as Error).message }, 'response cache invalidation failed');
      }
    },
    quotaSnapshots,
    flushQuotas,
    async close() {
      if (flushTimer) clearInterval(flushTimer);
      await flushQuotas().catch(() => undefined);
      await release();
    },
  };
}

export type { ProviderGate } from './gate';
export type { QuotaSnapshot } from './quota';
