// Usage of a provider's quota as this process sees it: requests counted per window, and the
// provider's own figures when its answers carry rate-limit headers (the IETF `RateLimit-*` fields,
// or the common `X-RateLimit-*` ones). Stripe sends none; where nothing is sent, the count against
// the configured rate is the usage.

export interface QuotaSnapshot {
  provider: string;
  windowStartedAt: string;
  windowSeconds: number;
  /** Requests this process sent in the current window. */
  calls: number;
  /** What the provider said in its last answer that carried rate-limit headers. */
  limit?: number;
  remaining?: number;
  resetAt?: string;
  /** Requests that waited for the client-side throttle, and how long in total. */
  throttled: number;
  throttledMs: number;
  source: 'headers' | 'counted';
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, ...names: string[]): string | undefined {
  for (const name of names) {
    const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
    const value = key === undefined ? undefined : headers[key];
    const text = Array.isArray(value) ? value[0] : value;
    if (text !== undefined && text !== '') return text;
  }
  return undefined;
}

const int = (text: string | undefined) => {
  if (text === undefined) return undefined;
  const value = Number.parseInt(text.split(/[;,]/)[0]!.trim(), 10);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
};

/** Rate-limit figures from an answer's headers, if it has any. */
export function rateLimitFromHeaders(headers: Headers, now = Date.now()): { limit?: number; remaining?: number; resetAt?: number } | undefined {
  const limit = int(header(headers, 'ratelimit-limit', 'x-ratelimit-limit', 'x-rate-limit-limit'));
  const remaining = int(header(headers, 'ratelimit-remaining', 'x-ratelimit-remaining', 'x-rate-limit-remaining'));
  const resetText = header(headers, 'ratelimit-reset', 'x-ratelimit-reset', 'x-rate-limit-reset');
  if (limit === undefined && remaining === undefined) return undefined;
  let resetAt: number | undefined;
  const reset = int(resetText);
  if (reset !== undefined) {
    // Delta seconds (IETF), or an epoch timestamp (GitHub-style X-RateLimit-Reset).
    resetAt = reset > 1_000_000_000 ? reset * 1000 : now + reset * 1000;
  }
  return { limit, remaining, resetAt };
}

export class QuotaTracker {
  readonly provider: string;
  readonly windowMs: number;
  readonly #now: () => number;
  #windowStartedAt: number;
  #calls = 0;
  #fromHeaders: { limit?: number; remaining?: number; resetAt?: number; seenAt: number } | undefined;
  #changed = true;

  constructor(provider: string, options: { windowMs?: number; now?: () => number } = {}) {
    this.provider = provider;
    this.windowMs = options.windowMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#windowStartedAt = this.#windowStart(this.#now());
  }

  #windowStart(at: number): number {
    return at - (at % this.windowMs);
  }

  #roll(): void {
    const start = this.#windowStart(this.#now());
    if (start !== this.#windowStartedAt) {
      this.#windowStartedAt = start;
      this.#calls = 0;
      this.#changed = true;
    }
  }

  /** One request sent. */
  count(): void {
    this.#roll();
    this.#calls += 1;
    this.#changed = true;
  }

  /** An answer came back: keep what its headers say about the quota. */
  observe(headers: Headers): void {
    const figures = rateLimitFromHeaders(headers, this.#now());
    if (!figures) return;
    this.#fromHeaders = { ...figures, seenAt: this.#now() };
    this.#changed = true;
  }

  /** True once after each change: the flusher writes only what moved. */
  takeChanged(): boolean {
    this.#roll();
    const changed = this.#changed;
    this.#changed = false;
    return changed;
  }

  snapshot(throttle: { throttled: number; waitedMs: number } = { throttled: 0, waitedMs: 0 }): QuotaSnapshot {
    this.#roll();
    const headers = this.#fromHeaders;
    // Figures from an answer older than their own reset time say nothing any more.
    const current = headers && (headers.resetAt === undefined || headers.resetAt > this.#now()) ? headers : undefined;
    return {
      provider: this.provider,
      windowStartedAt: new Date(this.#windowStartedAt).toISOString(),
      windowSeconds: this.windowMs / 1000,
      calls: this.#calls,
      limit: current?.limit,
      remaining: current?.remaining,
      resetAt: current?.resetAt === undefined ? undefined : new Date(current.resetAt).toISOString(),
      throttled: throttle.throttled,
      throttledMs: Math.round(throttle.waitedMs),
      source: current ? 'headers' : 'counted',
    };
  }
}

/** Share of the quota in use: the provider's own figures, else calls against the configured rate. */
export function usageRatio(snapshot: Pick<QuotaSnapshot, 'limit' | 'remaining' | 'calls' | 'windowSeconds'>, ratePerSecond?: number): number | undefined {
  if (snapshot.limit !== undefined && snapshot.limit > 0 && snapshot.remaining !== undefined) {
    return Math.min(1, Math.max(0, (snapshot.limit - snapshot.remaining) / snapshot.limit));
  }
  if (ratePerSecond && ratePerSecond > 0) return Math.min(1, snapshot.calls / (ratePerSecond * snapshot.windowSeconds));
  return undefined;
}
