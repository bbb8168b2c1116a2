// What tells a circuit breaker that a provider is unwell: the failures that count against it, and
// the health check that decides whether a half-open breaker closes.
import { PROVIDER_ERROR_KINDS } from '../../domain/provider-errors';
import { ProviderError } from '../errors';

/** A failure that says the provider itself is unwell; a decline or a rate limit is a healthy answer. */
export function countsAgainstProvider(err: unknown): boolean {
  return err instanceof ProviderError && PROVIDER_ERROR_KINDS[err.kind].providerUnwell;
}

export type HealthVerdict = { ok: true } | { ok: false; reason: string };

/** Runs a provider's health check for at most `timeoutMs`. */
export async function probeHealth(healthCheck: () => Promise<unknown>, timeoutMs: number): Promise<HealthVerdict> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      healthCheck(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new ProviderError('health', 'health_check', 'timeout', `health check timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    // An answer that is not an outage (404 for a probe id, a refused credential) means the provider is up.
    if (!countsAgainstProvider(err) && err instanceof ProviderError) return { ok: true };
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
