// GET /providers' answer (api/routes/providers.ts): its own module so the route file's other work can
// change beside it; providersView is typed by it, so the two cannot part.
import { z } from 'zod';

const Transition = z.object({ from: z.string(), to: z.string(), reason: z.string().nullable(), at: z.string(), by: z.string().nullable() });

const ProviderView = z.object({
  provider: z.string(),
  taskQueue: z.string().describe("The provider's own task queue, rate limited"),
  rateLimitPerSecond: z.number().optional(),
  circuitBreaker: z.object({
    state: z.string().describe('closed, open or half_open'),
    openUntil: z.string().nullable(),
    remainingOpenMs: z.number(),
    window: z.object({ startedAt: z.string().nullable(), calls: z.number(), failures: z.number(), failureRate: z.number() }),
    failedProbes: z.number(),
    lastFailure: z.string().nullable(),
    recentTransitions: z.array(Transition),
  }),
  quota: z.object({
    windowStartedAt: z.string().nullable(),
    windowSeconds: z.number(),
    calls: z.number().describe('Summed over the processes that reported in the current window'),
    processes: z.number(),
    limit: z.number().nullable(),
    remaining: z.number().nullable(),
    resetAt: z.string().nullable(),
    source: z.enum(['headers', 'counted']).describe("headers: the provider's own rate-limit headers; counted: Skerry's count"),
    usageRatio: z.number().nullable(),
    throttledMs: z.number(),
  }),
  oauth: z.array(
    z.object({
      key: z.string(),
      expiresAt: z.string().nullable(),
      refreshCount: z.number(),
      scopes: z.array(z.string()),
      lastError: z.string().nullable(),
      lastErrorAt: z.string().nullable(),
    }),
  ),
});

export const ProvidersAnswer = z.object({
  breakerEnabled: z.boolean(),
  responseCache: z.enum(['memory', 'redis', 'off']),
  providers: z.array(ProviderView),
});
export type ProvidersAnswerView = z.input<typeof ProvidersAnswer>;
