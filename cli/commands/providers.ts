// `skerry providers status`: circuit breakers, quotas and tokens per provider.
import { Command } from 'commander';
import { callFeature, type GlobalOptions } from '../http';
import { print, table } from '../output';

/** What GET /providers reports per provider (only the fields the table shows; --json prints all). */
interface ProviderStatus {
  provider: string;
  rateLimitPerSecond?: number;
  circuitBreaker?: { state?: string; openUntil?: string | null; lastFailure?: unknown; window?: { calls?: number; failures?: number } };
  quota?: { calls?: number; limit?: number | null; windowSeconds?: number; usageRatio?: number | null };
  oauth?: Array<{ key: string; lastError?: string | null }>;
}

export function providersCommand(globals: () => GlobalOptions): Command {
  const providers = new Command('providers').description('provider health: circuit breakers, quotas, tokens');
  providers
    .command('status')
    .description('circuit breaker state and quota usage per provider (GET /providers)')
    .action(async () => {
      const data = await callFeature<{ providers?: ProviderStatus[] }>(globals(), 'Provider status (circuit breakers and quotas)', 'GET', '/providers');
      const rows = data?.providers ?? [];
      print(globals(), data, () =>
        rows.length
          ? table(
              rows.map((p) => ({
                provider: p.provider,
                breaker: p.circuitBreaker?.state ?? '',
                'window failures': p.circuitBreaker?.window ? `${p.circuitBreaker.window.failures ?? 0}/${p.circuitBreaker.window.calls ?? 0}` : '',
                'open until': p.circuitBreaker?.openUntil ?? '',
                'last failure': p.circuitBreaker?.lastFailure ?? '',
                quota: p.quota ? `${p.quota.calls ?? 0}${p.quota.limit != null ? `/${p.quota.limit}` : ''} per ${p.quota.windowSeconds ?? '?'}s` : '',
                usage: typeof p.quota?.usageRatio === 'number' ? `${Math.round(p.quota.usageRatio * 100)}%` : '',
                'rate limit/s': p.rateLimitPerSecond ?? '',
                tokens: p.oauth?.length ? p.oauth.map((t) => (t.lastError ? `${t.key}: ${t.lastError}` : `${t.key}: ok`)).join('; ') : '',
              })),
            )
          : 'no providers reported',
      );
    });
  return providers;
}
