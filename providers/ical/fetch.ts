// Reads an OTA's iCal export: a conditional GET (If-None-Match / If-Modified-Since from the last
// answer), the body counted while it streams and dropped past the cap (a 10 MB "calendar" never sits
// in memory), within a deadline. The URL was typed by an admin, so every hop is held to the URL
// policy (url-policy.ts): the scheme and host before the request, the resolved addresses inside the
// socket's own lookup (what is checked is what is connected to), and redirects followed by hand, a
// few at most, each one checked again.
//
// An answer that says the feed's host is unwell (no connection, a timeout, a 5xx) is a ProviderError,
// which the provider-call runner and the host's circuit breaker count; a feed Skerry will not read
// (too large, a refused address) is an IcalFeedError, which says nothing about the host's health.
import { Agent, fetch as undiciFetch, type Dispatcher, type Response } from 'undici';
import { ProviderError, classifyTransportError, kindFromHttpStatus, parseRetryAfter } from '../errors';
import { IcalFeedError } from './parse';
import { IcalUrlError, checkIcalUrlSyntax, guardedLookup, type IcalUrlPolicy, type LookupAll } from './url-policy';

export interface IcalFetchResult {
  status: 'not_modified' | 'ok';
  text?: string;
  etag?: string | null;
  lastModified?: string | null;
}

export interface IcalFetchOptions {
  etag?: string | null;
  lastModified?: string | null;
  maxBytes: number;
  timeoutMs: number;
  policy: IcalUrlPolicy;
  /** Redirects followed at most (each re-checked); one more is refused. */
  maxRedirects?: number;
  /** Name resolution (tests resolve names of their own); the system's by default. */
  lookupAll?: LookupAll;
}

/** The provider name iCal fetches are logged, counted and limited under. */
export const ICAL_PROVIDER = 'ical';
const OPERATION = 'fetchFeed';
const DEFAULT_MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

interface Dispatchers {
  guarded: Dispatcher;
  trusted: Dispatcher;
}
const systemDispatchers: { value?: Dispatchers } = {};
const dispatchersByLookup = new WeakMap<LookupAll, Dispatchers>();

function dispatchersFor(lookupAll: LookupAll | undefined): Dispatchers {
  const build = (): Dispatchers => {
    const plain = lookupAll
      ? (hostname: string, options: { all?: boolean }, callback: (err: Error | null, address: unknown, family?: number) => void) =>
          lookupAll(hostname).then(
            (addresses) => (options?.all ? callback(null, addresses) : callback(null, addresses[0]?.address, addresses[0]?.family)),
            (err: Error) => callback(err, options?.all ? [] : ''),
          )
      : undefined;
    return {
      guarded: new Agent({ connect: { lookup: guardedLookup(lookupAll) as never } }),
      trusted: new Agent(plain ? { connect: { lookup: plain as never } } : {}),
    };
  };
  if (!lookupAll) return (systemDispatchers.value ??= build());
  let entry = dispatchersByLookup.get(lookupAll);
  if (!entry) dispatchersByLookup.set(lookupAll, (entry = build()));
  return entry;
}

/** The URL policy's refusal of a hop, as the feed error the channel's health shows. */
function refused(err: IcalUrlError): IcalFeedError {
  return new IcalFeedError('forbidden_url', `${err.reason}: ${err.message}`);
}

function refusalInside(err: unknown): IcalUrlError | undefined {
  for (let current: unknown = err, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    if (current instanceof IcalUrlError) return current;
  }
  return undefined;
}

export async function fetchIcalFeed(url: string, options: IcalFetchOptions): Promise<IcalFetchResult> {
  const headers: Record<string, string> = { accept: 'text/calendar, */*;q=0.5', 'user-agent': 'Skerry-iCal/1.0' };
  if (options.etag) headers['if-none-match'] = options.etag;
  if (options.lastModified) headers['if-modified-since'] = options.lastModified;
  const dispatchers = dispatchersFor(options.lookupAll);
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const signal = AbortSignal.timeout(options.timeoutMs);

  let current = url;
  let response: Response | undefined;
  for (let hop = 0; ; hop += 1) {
    let checked: { url: URL; allowListed: boolean };
    try {
      checked = checkIcalUrlSyntax(current, options.policy);
    } catch (err) {
      if (err instanceof IcalUrlError) throw refused(err);
      throw err;
    }
    const origin = checked.url.origin;
    try {
      response = await undiciFetch(checked.url, { headers, redirect: 'manual', signal, dispatcher: checked.allowListed ? dispatchers.trusted : dispatchers.guarded });
    } catch (err) {
      const refusal = refusalInside(err);
      if (refusal) throw refused(refusal);
      const cause = (err as { cause?: unknown }).cause ?? err;
      const failure = classifyTransportError(ICAL_PROVIDER, OPERATION, cause);
      throw new ProviderError(ICAL_PROVIDER, OPERATION, failure.kind, `could not fetch the feed from ${origin}: ${(cause as Error).message ?? String(cause)}`, failure.details);
    }
    if (!REDIRECTS.has(response.status)) break;
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) throw new ProviderError(ICAL_PROVIDER, OPERATION, 'validation', `the feed at ${origin} answered HTTP ${response.status} without a Location`, { httpStatus: response.status });
    if (hop >= maxRedirects) throw new IcalFeedError('too_many_redirects', `the feed at ${new URL(url).origin} redirected more than ${maxRedirects} times`);
    current = new URL(location, checked.url).href;
  }

  const origin = new URL(current).origin;
  if (response.status === 304) return { status: 'not_modified' };
  if (!response.ok) {
    await response.body?.cancel();
    throw new ProviderError(ICAL_PROVIDER, OPERATION, kindFromHttpStatus(response.status), `the feed at ${origin} answered HTTP ${response.status}`, {
      httpStatus: response.status,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > options.maxBytes) {
    await response.body?.cancel();
    throw new IcalFeedError('too_large', `the feed is ${declared} bytes, more than the ${options.maxBytes} bytes a calendar may have`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > options.maxBytes) {
          await reader.cancel();
          throw new IcalFeedError('too_large', `the feed is more than the ${options.maxBytes} bytes a calendar may have (stopped reading)`);
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof IcalFeedError) throw err;
      const failure = classifyTransportError(ICAL_PROVIDER, OPERATION, err);
      throw new ProviderError(ICAL_PROVIDER, OPERATION, failure.kind, `the feed at ${origin} broke off: ${(err as Error).message}`, failure.details);
    }
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
  return { status: 'ok', text, etag: response.headers.get('etag'), lastModified: response.headers.get('last-modified') };
}
