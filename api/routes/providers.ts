// GET /providers: each provider's resilience state as every worker shares it — the circuit breaker
// (state, counts, recent transitions), the quota in use (summed over the processes that reported in
// the current window), the rate limit of its task queue, and its OAuth tokens' health (never a token).
import type { FastifyInstance } from 'fastify';
import { and, desc, gt, inArray, ne, sql } from 'drizzle-orm';
import { PACER_PROCESS } from '../../providers/resilience/pacer';
import type { Database } from '../../db/client';
import { circuitBreakerEvents, providerQuotaUsage } from '../../db/schema';
import type { Config } from '../../config';
import { enabledPaymentProviders } from '../../config';
import { scopedProvider, type ResilientProvider } from '../../config/resilience';
import { createPostgresBreakerStore } from '../../providers/resilience/breaker-store-postgres';
import { usageRatio } from '../../providers/resilience/quota';
import { tokenStatuses } from '../../providers/oauth/postgres-token-store';
import { providerTaskQueue } from '../../workflows/shared/retry-policies';
import { ProvidersAnswer, type ProvidersAnswerView } from './provider-views';

export interface ProvidersRoutesDeps {
  db: Database;
  config: Config;
}

/** Every provider and channel this deployment calls. */
function configuredProviders(config: Config): ResilientProvider[] {
  return [
    ...enabledPaymentProviders(config),
    ...(config.channels.bookingCom.enabled ? (['booking_com'] as const) : []),
    ...(config.channels.airbnb.enabled ? (['airbnb'] as const) : []),
  ];
}

export async function providersView(deps: ProvidersRoutesDeps): Promise<ProvidersAnswerView> {
  const { db, config } = deps;
  const providers = configuredProviders(config);
  const breakers = new Map((await createPostgresBreakerStore(db).list()).map((row) => [row.provider, row]));
  const events = providers.length
    ? await db
        .select()
        .from(circuitBreakerEvents)
        .where(inArray(circuitBreakerEvents.provider, providers.map((provider) => scopedProvider(config.resilience, provider))))
        .orderBy(desc(circuitBreakerEvents.id))
        .limit(100)
    : [];
  // Processes report every few seconds; rows older than two windows are processes that stopped.
  const usage = await db
    .select()
    .from(providerQuotaUsage)
    .where(
      and(gt(providerQuotaUsage.updatedAt, sql`now() - make_interval(secs => ${2 * config.resilience.quotaWindowSeconds})`), ne(providerQuotaUsage.process, PACER_PROCESS)),
    );
  const tokens = await tokenStatuses(db);

  return {
    breakerEnabled: Boolean(config.resilience.breaker),
    responseCache: config.resilience.responseCache,
    providers: providers.map((provider) => {
      const stored = scopedProvider(config.resilience, provider);
      const breaker = breakers.get(stored);
      const rows = usage.filter((row) => row.provider === stored);
      const windowStart = Math.max(0, ...rows.map((row) => row.windowStartedAt.getTime()));
      const current = rows.filter((row) => row.windowStartedAt.getTime() === windowStart);
      const withLimit = [...rows].filter((row) => row.limit !== null).sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())[0];
      const calls = current.reduce((sum, row) => sum + row.calls, 0);
      const windowSeconds = current[0]?.windowSeconds ?? 60;
      const rate = config.resilience.rateLimits[provider];
      return {
        provider,
        taskQueue: providerTaskQueue(config.temporal.taskQueue, provider),
        rateLimitPerSecond: rate,
        circuitBreaker: breaker
          ? {
              state: breaker.state,
              openUntil: breaker.state === 'open' ? (breaker.openUntil?.toISOString() ?? null) : null,
              remainingOpenMs: breaker.remainingOpenMs,
              window: {
                startedAt: breaker.windowStartedAt.toISOString(),
                calls: breaker.windowCalls,
                failures: breaker.windowFailures,
                failureRate: breaker.windowCalls > 0 ? breaker.windowFailures / breaker.windowCalls : 0,
              },
              failedProbes: breaker.failedProbes,
              lastFailure: breaker.lastFailure ?? null,
              recentTransitions: events
                .filter((event) => event.provider === stored)
                .slice(0, 10)
                .map((event) => ({ from: event.fromState, to: event.toState, reason: event.reason, at: event.at.toISOString(), by: event.actor })),
            }
          : { state: 'closed', openUntil: null, remainingOpenMs: 0, window: { startedAt: null, calls: 0, failures: 0, failureRate: 0 }, failedProbes: 0, lastFailure: null, recentTransitions: [] },
        quota: {
          windowStartedAt: windowStart ? new Date(windowStart).toISOString() : null,
          windowSeconds,
          calls,
          processes: current.length,
          limit: withLimit?.limit ?? null,
          remaining: withLimit?.remaining ?? null,
          resetAt: withLimit?.resetAt?.toISOString() ?? null,
          source: withLimit ? 'headers' : 'counted',
          usageRatio: usageRatio({ calls, windowSeconds, limit: withLimit?.limit ?? undefined, remaining: withLimit?.remaining ?? undefined }, rate) ?? null,
          throttledMs: current.reduce((sum, row) => sum + row.throttledMs, 0),
        },
        oauth: tokens
          .filter((token) => token.provider === provider)
          .map((token) => ({
            key: token.key,
            expiresAt: token.expiresAt,
            refreshCount: token.refreshCount,
            scopes: token.scopes?.split(' ') ?? [],
            lastError: token.lastError,
            lastErrorAt: token.lastErrorAt,
          })),
      };
    }),
  };
}

export async function providersRoutes(app: FastifyInstance, deps: ProvidersRoutesDeps): Promise<void> {
  app.get('/providers', { schema: { summary: 'Provider resilience: circuit breakers, quotas, rate limits, OAuth tokens', tags: ['operations'], response: { 200: ProvidersAnswer } } }, async () =>
    providersView(deps),
  );
}
