// GET /providers/calls: each provider's calls per hour with their error rate and latency, from the
// hourly rollup every worker writes as its provider calls return (store/provider-call-hours.ts).
// The console's overview draws it; an hour without calls is listed too, so every provider shares
// the same x axis.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../db/client';
import { enabledPaymentProviders, type Config } from '../../config';
import { createProviderCallHours } from '../../store/provider-call-hours';

export interface ProviderCallRoutesDeps {
  db: Database;
  config: Config;
}

const HOUR_MS = 3_600_000;

const CallHour = z.object({
  hour: z.string().describe('Start of the hour (UTC)'),
  calls: z.number().int(),
  errors: z.number().int().describe('Calls that did not answer ok (unavailable, rate limited, refused…)'),
  errorRate: z.number().nullable().describe('errors / calls; null for an hour without calls'),
  meanLatencyMs: z.number().nullable(),
  maxLatencyMs: z.number().nullable(),
});

export const ProviderCalls = z.object({
  from: z.string().describe('Start of the first hour'),
  to: z.string().describe('End of the last hour (the current one, still filling)'),
  providers: z.array(z.object({ provider: z.string(), calls: z.number().int(), errors: z.number().int(), hours: z.array(CallHour) })),
});

export async function providerCallsView(deps: ProviderCallRoutesDeps, hours: number, now = Date.now()): Promise<z.infer<typeof ProviderCalls>> {
  const currentHour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const fromMs = currentHour - (hours - 1) * HOUR_MS;
  const rows = await createProviderCallHours(deps.db).since(new Date(fromMs));
  // The payment providers always show (a flat line says "no calls"); channels once they were called.
  const names = [...new Set<string>([...enabledPaymentProviders(deps.config), ...rows.map((row) => row.provider)])].sort();
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(currentHour + HOUR_MS).toISOString(),
    providers: names.map((provider) => {
      const mine = new Map(rows.filter((row) => row.provider === provider).map((row) => [Date.parse(row.hour), row]));
      const series = Array.from({ length: hours }, (_, index) => {
        const hourMs = fromMs + index * HOUR_MS;
        const row = mine.get(hourMs);
        const calls = row?.calls ?? 0;
        return {
          hour: new Date(hourMs).toISOString(),
          calls,
          errors: row?.errors ?? 0,
          errorRate: row && calls > 0 ? row.errors / calls : null,
          meanLatencyMs: row && calls > 0 ? Math.round((row.latencyMsSum / calls) * 10) / 10 : null,
          maxLatencyMs: row && calls > 0 ? row.latencyMsMax : null,
        };
      });
      return { provider, calls: series.reduce((sum, hour) => sum + hour.calls, 0), errors: series.reduce((sum, hour) => sum + hour.errors, 0), hours: series };
    }),
  };
}

export async function providerCallRoutes(app: FastifyInstance, deps: ProviderCallRoutesDeps): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/providers/calls',
    {
      schema: {
        summary: "Each provider's calls, error rate and latency per hour (the overview's chart)",
        description: 'Counted by the workers as every provider call returns, summed over every worker, kept for the retention period.',
        tags: ['operations'],
        querystring: z.object({ hours: z.coerce.number().int().min(1).max(168).default(24).describe('How many hours back, the current one included') }),
        response: { 200: ProviderCalls },
      },
    },
    async (request) => providerCallsView(deps, request.query.hours),
  );
}
