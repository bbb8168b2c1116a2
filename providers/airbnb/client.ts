// Airbnb for Skerry's connected hosts: OAuth (authorization code, refresh tokens), calendar
// operations per listing, reservations by confirmation code. Each call carries the host's access
// token from the token source; a 401 refreshes it once (single writer, see channel-accounts.ts).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ChannelClient, PushProgress } from '../channels';
import { ProviderError, kindFromHttpStatus, parseRetryAfter } from '../errors';
import { runsOf } from '../booking-com/client';
import type { ChannelDay, ChannelMapping } from '../../domain/bookings';
import type { DateRange } from '../../domain/dates';
import type { OAuthTokens } from '../../store/channel-accounts';
import { toDecimal, toMinor, type AirbnbCalendarDay, type AirbnbCalendarOperation, type AirbnbReservation, type AirbnbTokenResponse } from './api';
import { airbnbReservationEvent } from './webhooks';

export interface AirbnbOAuthOptions {
  apiBase: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
  /** The HTTP client: the provider gate's (throttle, quota) in a worker; default fetch. */
  fetch?: typeof fetch;
}

async function failure(operation: string, response: Response): Promise<ProviderError> {
  const text = await response.text().catch(() => '');
  return new ProviderError('airbnb', operation, kindFromHttpStatus(response.status), `HTTP ${response.status}: ${text.slice(0, 300)}`, {
    httpStatus: response.status,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
  });
}

/** The OAuth side: the consent URL, the code exchange, and refreshing (refresh tokens rotate). */
export function createAirbnbOAuth(options: AirbnbOAuthOptions) {
  const base = options.apiBase.replace(/\/+$/, '');
  const token = async (operation: string, body: Record<string, string>): Promise<AirbnbTokenResponse> => {
    const response = await (options.fetch ?? fetch)(`${base}/oauth2/auth_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ ...body, client_id: options.clientId, client_secret: options.clientSecret }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    if (!response.ok) throw await failure(operation, response);
    return (await response.json()) as AirbnbTokenResponse;
  };
  const toTokens = (answer: AirbnbTokenResponse): OAuthTokens & { hostId: string } => ({
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token,
    expiresIn: answer.expires_in,
    scope: answer.scope,
    hostId: answer.user_id,
  });
  return {
    authorizeUrl(redirectUri: string, state: string): string {
      const query = new URLSearchParams({ client_id: options.clientId, redirect_uri: redirectUri, state, scope: 'property_management,reservations_web_hooks' });
      return `${base}/oauth2/authorize?${query}`;
    },
    async exchangeCode(code: string, redirectUri: string) {
      return toTokens(await token('exchangeCode', { grant_type: 'authorization_code', code, redirect_uri: redirectUri }));
    },
    async refresh(refreshToken: string): Promise<OAuthTokens> {
      return toTokens(await token('refreshToken', { grant_type: 'refresh_token', refresh_token: refreshToken }));
    },
  };
}

export type AirbnbOAuth = ReturnType<typeof createAirbnbOAuth>;

/** Signs the OAuth `state` so the callback knows it started here (CSRF), with an expiry. */
export function signOAuthState(key: string, payload: { hostHint?: string; exp: number }): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

export function verifyOAuthState(key: string, state: string): { hostHint?: string; exp: number } | undefined {
  const [body, mac] = state.split('.');
  if (!body || !mac) return undefined;
  const expected = createHmac('sha256', key).update(body).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { hostHint?: string; exp: number };
  return payload.exp > Date.now() ? payload : undefined;
}

/** Where a host's access token comes from (the encrypted account store, refreshing as needed). */
export interface AirbnbTokenSource {
  accessToken(hostId: string, options?: { force?: boolean; rejected?: string }): Promise<string>;
}

/** Calendar operations for some nights: one per run of identical nights. */
export function calendarOperations(days: readonly ChannelDay[]): AirbnbCalendarOperation[] {
  return runsOf(days, (day) => ({
    available: day.available,
    closed: day.closed,
    price: day.price,
    currency: day.currency,
    minNights: day.minNights,
    cta: day.closedToArrival,
  })).map((run) => ({
    dates: [run.start === run.end ? run.start : `${run.start}:${run.end}`],
    availability: run.value.available > 0 && !run.value.closed ? 'available' : 'unavailable',
    available_count: run.value.closed ? 0 : run.value.available,
    ...(run.value.price !== undefined && run.value.currency ? { daily_price: toDecimal(run.value.price, run.value.currency), currency: run.value.currency } : {}),
    min_nights: run.value.minNights,
    closed_to_arrival: run.value.cta,
  }));
}

export function createAirbnbClient(options: {
  apiBase: string;
  tokens: AirbnbTokenSource;
  timeoutMs?: number;
  operationsPerRequest?: number;
  /** The HTTP client: the provider gate's (throttle, quota, conditional GETs) in a worker; default fetch. */
  fetch?: typeof fetch;
}): ChannelClient {
  const base = options.apiBase.replace(/\/+$/, '');
  const perRequest = options.operationsPerRequest ?? 100;

  /** One API call as a host; a 401 gets one forced refresh and one more try. */
  async function call<T>(operation: string, hostId: string, method: string, path: string, body?: unknown): Promise<T> {
    let token = await options.tokens.accessToken(hostId);
    for (let attempt = 0; ; attempt += 1) {
      const response = await (options.fetch ?? fetch)(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      if (response.status === 401 && attempt === 0) {
        await response.arrayBuffer().catch(() => undefined);
        token = await options.tokens.accessToken(hostId, { force: true, rejected: token });
        continue;
      }
      if (!response.ok) throw await failure(operation, response);
      const text = await response.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }

  return {
    channel: 'airbnb',

    async pushCalendar(mapping: ChannelMapping, days: readonly ChannelDay[], progress: PushProgress) {
      const operations = calendarOperations(days);
      let sent = 0;
      for (let index = 0, request = 0; index < operations.length; index += perRequest, request += 1) {
        if (request < progress.skipRequests) continue;
        await call('pushCalendar', mapping.externalAccountId, 'PUT', `/v2/calendars/${encodeURIComponent(mapping.externalListingId)}`, {
          operations: operations.slice(index, index + perRequest),
        });
        sent += 1;
        progress.onRequest(request + 1);
      }
      return { requests: sent };
    },

    // Airbnb pushes reservations (webhooks, answered 2xx by the inbox): there is nothing to acknowledge.
    async confirmReservation() {},

    async rejectReservation(event, refusal) {
      // An alteration Airbnb already accepted cannot be declined alone, and cancelling the guest's
      // whole stay over it would be worse: the reservation stays, the overbooking alert asks the host.
      if (event.kind === 'modified') return;
      await call('rejectReservation', event.externalAccountId, 'POST', `/v2/reservations/${encodeURIComponent(event.channelReservationId)}/cancel`, {
        reason: refusal.code === 'sold_out' ? 'overbooked' : 'other',
        message: refusal.reason,
      });
    },

    async listReservations({ externalAccountIds, cursor, pageSize, from }) {
      // The cursor walks the hosts in order: "<host index>:<offset>".
      const [hostIndex = 0, offset = 0] = (cursor ?? '0:0').split(':').map(Number);
      const hostId = externalAccountIds[hostIndex];
      if (hostId === undefined) return { reservations: [] };
      const query = new URLSearchParams({ host_id: hostId, _offset: String(offset), _limit: String(pageSize), end_date_from: from });
      const page = await call<{ reservations: AirbnbReservation[]; next_offset?: number }>('listReservations', hostId, 'GET', `/v2/reservations?${query}`);
      const nextCursor = page.next_offset !== undefined ? `${hostIndex}:${page.next_offset}` : hostIndex + 1 < externalAccountIds.length ? `${hostIndex + 1}:0` : undefined;
      return {
        nextCursor,
        reservations: page.reservations.map((reservation) =>
          airbnbReservationEvent(
            reservation,
            reservation.status.startsWith('cancelled') ? 'cancelled' : reservation.status === 'altered' ? 'modified' : 'new',
            `airbnb:list:${reservation.confirmation_code}@${reservation.updated_at}`,
            reservation.updated_at,
          ),
        ),
      };
    },

    async readCalendar(mapping: ChannelMapping, range: DateRange) {
      const query = new URLSearchParams({ start_date: range.from, end_date: range.to });
      const answer = await call<{ days: AirbnbCalendarDay[] }>('readCalendar', mapping.externalAccountId, 'GET', `/v2/calendars/${encodeURIComponent(mapping.externalListingId)}?${query}`);
      return answer.days.map((day) => ({
        date: day.date,
        // Airbnb knows sellable or not, not why: a stop sell shows as unavailable.
        available: day.availability === 'available' ? day.available_count : 0,
        price: day.daily_price !== undefined && day.currency ? toMinor(day.daily_price, day.currency) : undefined,
        currency: day.currency,
        minNights: day.min_nights,
        closedToArrival: day.closed_to_arrival,
      }));
    },
  };
}
