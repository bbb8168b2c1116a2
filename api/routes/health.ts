// Readiness, apart from liveness: GET /health says the process answers (restart it if not);
// GET /ready says whether it can do its work now — Postgres, Temporal and, when configured, Redis
// each answer within a short time — so a load balancer or Compose sends traffic only when they do.
import type { FastifyInstance } from 'fastify';
import type { Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import type postgres from 'postgres';
import { z } from 'zod';

/** Resolves when the dependency answers; rejects (or outlasts the timeout) when it does not. */
export type ReadinessCheck = () => Promise<unknown>;

export interface ReadinessDeps {
  checks: Readonly<Record<string, ReadinessCheck>>;
  /** How long each check may take before its dependency counts as down. */
  timeoutMs?: number;
}

const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

export interface ReadinessReport {
  ready: boolean;
  /** Each dependency: 'up', or why it is down. */
  checks: Record<string, 'up' | { down: string }>;
  /** The dependencies that did not answer, by name. */
  down: string[];
}

export async function checkReadiness(deps: ReadinessDeps): Promise<ReadinessReport> {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const entries = await Promise.all(
    Object.entries(deps.checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, 'up'] as const;
      } catch (err) {
        return [name, { down: (err as Error).message || 'unavailable' }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checks = Object.fromEntries(entries) as ReadinessReport['checks'];
  const down = entries.filter(([, result]) => result !== 'up').map(([name]) => name);
  return { ready: down.length === 0, checks, down };
}

const Readiness = z.object({
  ready: z.boolean(),
  checks: z.record(z.string(), z.union([z.literal('up'), z.object({ down: z.string() })])),
  down: z.array(z.string()),
});

export async function readinessRoutes(app: FastifyInstance, deps: ReadinessDeps): Promise<void> {
  // Hidden from the API document (a probe's route, on both doors), described all the same.
  app.get('/ready', { schema: { hide: true, response: { 200: Readiness, 503: Readiness } } }, async (_request, reply) => {
    const report = await checkReadiness(deps);
    if (!report.ready) return reply.code(503).header('retry-after', '5').send(report);
    return report;
  });
}

/** The checks of an API process: the database, the Temporal frontend and the response cache's Redis. */
export function dependencyChecks(deps: { sql: postgres.Sql; temporal: Connection; redisUrl?: string; timeoutMs?: number }) {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const redis = deps.redisUrl ? new Redis(deps.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false }) : undefined;
  // A refused connection is reported by the ping; the client's own error events add nothing.
  redis?.on('error', () => undefined);
  const checks: Record<string, ReadinessCheck> = {
    postgres: () => deps.sql`select 1`,
    temporal: () => deps.temporal.withDeadline(Date.now() + timeoutMs, () => deps.temporal.workflowService.getSystemInfo({})),
  };
  if (redis) {
    checks.redis = async () => {
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
      await redis.ping();
    };
  }
  return {
    checks,
    timeoutMs,
    close: async () => {
      redis?.disconnect();
    },
  };
}
