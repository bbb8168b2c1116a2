// The one place a provider client's HTTP requests pass, whatever library sends them: the
// per-process throttle (requests wait for a token), the quota count (and the provider's own
// rate-limit headers), and conditional GETs against the response cache. Each client hooks its
// single HTTP choke point here (Stripe's HttpClient, PayPal's request interceptor, MobilePay's and
// Swish's `send`); a client built without a gate gets a pass-through one.
import type { QuotaTracker } from './quota';
import { cacheTagsOf, type ResponseCache } from './response-cache';
import type { TokenBucket } from './token-bucket';

export type HttpHeaders = Record<string, string | string[] | undefined>;

/** An HTTP answer whose body has been read. */
export interface HttpExchange {
  status: number;
  headers: HttpHeaders;
  text: string;
}

/** Where a conditional GET stands: the header to send, and how to turn the answer into the result. */
export interface ConditionalRead {
  /** `If-None-Match`, when a cached answer exists. */
  headers: Record<string, string>;
  /**
   * The answer as the client should see it: a 304 becomes the cached 200; a fresh 200 with an ETag
   * is remembered.
   */
  resolve(answer: HttpExchange): Promise<HttpExchange & { fromCache: boolean }>;
}

export interface ProviderGate {
  readonly provider: string;
  /**
   * Waits for the throttle's token and the shared slot, and counts the request against the quota:
   * the last step before sending (a slot is a moment, not a permit to keep).
   */
  admit(): Promise<void>;
  /** Reads quota figures from an answer's headers. */
  observe(headers: HttpHeaders): void;
  /** For a GET: the conditional request to make (undefined when caching is off for this read). */
  conditional(method: string, url: string): Promise<ConditionalRead | undefined>;
  /** Everything at once, for a client that buffers its answers: admit, conditional GET, observe. */
  exchange(method: string, url: string, send: (extraHeaders: Record<string, string>) => Promise<HttpExchange>): Promise<HttpExchange>;
  /** Conditional GETs answered from the cache, and full reads, since start. */
  readonly stats: { notModified: number; fullReads: number };
}

const header = (headers: HttpHeaders, name: string): string | undefined => {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
};

export interface ProviderGateOptions {
  bucket?: TokenBucket;
  /** Waits for the provider's next request slot shared by every process (providers/resilience/pacer.ts). */
  pace?: () => Promise<void>;
  quota?: QuotaTracker;
  cache?: ResponseCache;
  /**
   * Separates cache entries of different accounts at the same provider (a merchant serial number,
   * a client id): never a secret.
   */
  cacheScope?: string;
  /** Called when the cache itself fails (Redis down): the read goes on without it. */
  onCacheError?: (err: unknown) => void;
}

export function createProviderGate(provider: string, options: ProviderGateOptions = {}): ProviderGate {
  const { bucket, quota, cache } = options;
  const stats = { notModified: 0, fullReads: 0 };
  const keyOf = (url: string) => {
    const parsed = new URL(url, 'http://provider.invalid');
    return `${options.cacheScope ?? '-'}:${parsed.pathname}${parsed.search}`;
  };
  const quietly = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      options.onCacheError?.(err);
      return undefined;
    }
  };

  const gate: ProviderGate = {
    provider,
    stats,
    async admit() {
      await bucket?.acquire();
      await options.pace?.();
      quota?.count();
    },
    observe(headers) {
      quota?.observe(headers);
    },
    async conditional(method, url) {
      if (!cache || method.toUpperCase() !== 'GET') return undefined;
      const key = keyOf(url);
      const cached = await quietly(() => cache.get(provider, key));
      const headers: Record<string, string> = cached ? { 'if-none-match': cached.etag } : {};
      return {
        headers,
        async resolve(answer) {
          if (answer.status === 304 && cached) {
            stats.notModified += 1;
            return { status: cached.status, headers: { ...cached.headers, etag: cached.etag }, text: cached.body, fromCache: true };
          }
          stats.fullReads += 1;
          const etag = header(answer.headers, 'etag');
          if (answer.status === 200 && etag) {
            const contentType = header(answer.headers, 'content-type');
            await quietly(() =>
              cache.set(
                provider,
                key,
                { etag, status: 200, headers: contentType ? { 'content-type': contentType } : {}, body: answer.text, storedAt: Date.now() },
                cacheTagsOf(url),
              ),
            );
          }
          return { ...answer, fromCache: false };
        },
      };
    },
    async exchange(method, url, send) {
      // The cache lookup first: admit() ends on the request's slot, and the request must leave then.
      const read = await gate.conditional(method, url);
      await gate.admit();
      const answer = await send(read?.headers ?? {});
      gate.observe(answer.headers);
      return read ? read.resolve(answer) : answer;
    },
  };
  return gate;
}

/** A gate that only passes requests through: clients built outside a worker (tests, tools). */
export const passThroughGate = (provider: string): ProviderGate => createProviderGate(provider);

/**
 * A `fetch` whose requests pass the gate, for clients built on fetch (Booking.com, Airbnb). The
 * answer is buffered (a conditional GET may be answered from the cache).
 */
export function gatedFetch(gate: ProviderGate, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const answer = await gate.exchange(method, url, async (extra) => {
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      for (const [name, value] of Object.entries(extra)) headers.set(name, value);
      const response = await inner(input, { ...init, headers });
      return { status: response.status, headers: Object.fromEntries(response.headers), text: await response.text() };
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const empty = answer.status === 204 || answer.status === 304 || method === 'HEAD';
    return new Response(empty ? null : answer.text, { status: answer.status, headers });
  };
}
