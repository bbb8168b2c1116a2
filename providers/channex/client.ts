// Channex as a booking channel (ChannelClient): a push is at most two calls for a whole property —
// every changed night of its room types' availability in one `POST /api/v1/availability`, and of its
// rate plans' rates and restrictions in one `POST /api/v1/restrictions` — each waiting first for
// the property's slot in the shared Postgres pacer, so Channex's 10 + 10 requests per minute per
// property hold across every worker. Bookings come from the revisions feed; a revision is acknowledged once applied.
import type { ChannelClient, ChannelReservationPage, PushProgress } from '../channels';
import type { ChannelDay, ChannelMapping, ChannelReservationEvent } from '../../domain/bookings';
import { classifyTransportError, kindFromHttpStatus, parseRetryAfter, ProviderError } from '../errors';
import type { RequestPacer } from '../resilience/pacer';
import { waitForSlot } from '../resilience/pacer';
import {
  availabilityValues,
  CHANNEX_API_KEY_HEADER,
  restrictionValues,
  revisionEvent,
  type ChannexAriAnswer,
  type ChannexFeedPage,
  type ChannexRevision,
} from './wire';

export interface ChannexClientOptions {
  apiBase: string;
  apiKey: string;
  fetch?: typeof fetch;
  /** The deployment-wide request slots; without it (no database) only this process paces. */
  pacer?: RequestPacer;
  /** Requests of each kind per property per window (Channex: 10 a minute). */
  requestsPerWindow: number;
  rateWindowSeconds: number;
  /** Called while a request waits for its slot, so a long wait still heartbeats. */
  heartbeatEveryMs?: number;
}

/** The pacer's key of one kind of ARI request of one property. */
export const channexPacerKey = (kind: 'availability' | 'restrictions', propertyId: string) => `channex:${kind}:${propertyId}`;

const FEED_PAGES_PER_PULL = 10;

export function createChannexClient(options: ChannexClientOptions): ChannelClient & { pullRevisions(): Promise<ChannexRevision[]> } {
  const send = options.fetch ?? fetch;
  const base = options.apiBase.replace(/\/$/, '');
  const ratePerSecond = options.requestsPerWindow / options.rateWindowSeconds;
  // Without the shared pacer: this process's own slots per key, the same spacing.
  const localNext = new Map<string, number>();
  const localPacer: RequestPacer = {
    async reserve(key, rate) {
      const interval = 1_000 / rate + Math.min(25, 100 / rate);
      const at = Math.max(Date.now(), (localNext.get(key) ?? 0) + interval);
      localNext.set(key, at);
      return Math.max(0, at - Date.now());
    },
  };
  const pacer = options.pacer ?? localPacer;

  async function call<T>(operation: string, method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await send(`${base}${path}`, {
        method,
        headers: { [CHANNEX_API_KEY_HEADER]: options.apiKey, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(25_000),
      });
    } catch (err) {
      throw classifyTransportError('channex', operation, err);
    }
    const text = await response.text();
    if (!response.ok) {
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { errors?: { code?: string } }).errors?.code;
      } catch {
        // Not JSON (a proxy's page): the status says enough.
      }
      throw new ProviderError('channex', operation, kindFromHttpStatus(response.status), `Channex answered ${response.status}${code ? ` (${code})` : ''} to ${method} ${path}`, {
        httpStatus: response.status,
        code,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    }
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch (err) {
      throw new ProviderError('channex', operation, 'unavailable', `Channex answered ${method} ${path} with a body that is not JSON`, { cause: err });
    }
  }

  /** Waits for the property's next slot of this kind, heartbeating meanwhile. */
  async function paced(kind: 'availability' | 'restrictions', propertyId: string, beat: () => void): Promise<void> {
    const timer = setInterval(beat, options.heartbeatEveryMs ?? 5_000);
    try {
      await waitForSlot(pacer, channexPacerKey(kind, propertyId), ratePerSecond);
    } finally {
      clearInterval(timer);
    }
  }

  /** ARI changes Channex refused come back on a 200 as `meta.warnings`: a push that lost them failed. */
  function refusedValues(operation: string, answer: ChannexAriAnswer): void {
    const warnings = answer.meta?.warnings ?? [];
    if (warnings.length > 0) {
      throw new ProviderError('channex', operation, 'validation', `Channex refused ${warnings.length} change(s): ${JSON.stringify(warnings).slice(0, 500)}`, { code: 'meta.warnings' });
    }
  }

  /**
   * Every mapping's changed nights of one property in at most two calls: the availability of all
   * its room types in one request, the rates and restrictions of all its rate plans in the other.
   */
  async function pushProperty(propertyId: string, entries: ReadonlyArray<{ mapping: ChannelMapping; days: readonly ChannelDay[] }>, progress: PushProgress): Promise<{ requests: number }> {
    const requests = [
      { kind: 'availability' as const, path: '/api/v1/availability', values: entries.flatMap((entry) => availabilityValues(entry.mapping, entry.days)) },
      { kind: 'restrictions' as const, path: '/api/v1/restrictions', values: entries.flatMap((entry) => restrictionValues(entry.mapping, entry.days)) },
    ].filter((request) => request.values.length > 0);
    let done = 0;
    for (const request of requests) {
      done += 1;
      // Accepted in an earlier attempt (heartbeat details): not sent twice.
      if (done <= progress.skipRequests) continue;
      await paced(request.kind, propertyId, () => progress.onRequest(done - 1));
      const answer = await call<ChannexAriAnswer>('pushCalendar', 'POST', request.path, { values: request.values });
      refusedValues('pushCalendar', answer);
      progress.onRequest(done);
    }
    return { requests: requests.length };
  }

  async function pullRevisions(): Promise<ChannexRevision[]> {
    const revisions: ChannexRevision[] = [];
    for (let page = 1; page <= FEED_PAGES_PER_PULL; page += 1) {
      const answer = await call<ChannexFeedPage>('pullReservations', 'GET', `/api/v1/booking_revisions/feed?pagination[page]=${page}&pagination[limit]=100`);
      revisions.push(...answer.data.map((entry) => ({ ...entry.attributes, id: entry.attributes.id ?? entry.id })));
      const total = answer.meta?.total ?? revisions.length;
      if (answer.data.length === 0 || revisions.length >= total) break;
    }
    return revisions;
  }

  return {
    channel: 'channex',
    pullRevisions,

    pushCalendar: (mapping: ChannelMapping, days: readonly ChannelDay[], progress: PushProgress) => pushProperty(mapping.externalAccountId, [{ mapping, days }], progress),
    pushPropertyCalendar: pushProperty,

    async pullReservations(): Promise<ChannelReservationEvent[]> {
      return (await pullRevisions()).map(revisionEvent);
    },

    async confirmReservation(event) {
      if (!event.ack) return;
      await call('confirmReservation', 'POST', `/api/v1/booking_revisions/${encodeURIComponent(event.ack.messageId)}/ack`);
    },

    // Channex has no way for a PMS to decline an OTA's booking: the guest's booking stands there and
    // Skerry's overbooking event is for a person to relocate or cancel it. The revision is processed,
    // so it is acknowledged (an unacknowledged one would be served, and alerted on, for ever).
    async rejectReservation(event) {
      if (!event.ack) return;
      await call('rejectReservation', 'POST', `/api/v1/booking_revisions/${encodeURIComponent(event.ack.messageId)}/ack`);
    },

    async listReservations({ externalAccountIds, cursor, pageSize }): Promise<ChannelReservationPage> {
      const [accountIndex, page] = (cursor ?? '0:1').split(':').map(Number) as [number, number];
      const propertyId = externalAccountIds[accountIndex];
      if (propertyId === undefined) return { reservations: [] };
      const answer = await call<{ data: Array<{ id: string; attributes: ChannexRevision & { revision_id?: string } }>; meta?: { total?: number } }>(
        'listReservations',
        'GET',
        `/api/v1/bookings?filter[property_id]=${encodeURIComponent(propertyId)}&pagination[page]=${page}&pagination[limit]=${pageSize}`,
      );
      const reservations = answer.data.map((entry) => {
        const event = revisionEvent({ ...entry.attributes, booking_id: entry.id, id: entry.attributes.revision_id ?? entry.attributes.id });
        // A listing is not a message: nothing to acknowledge.
        return { ...event, eventId: `channex:resync:${event.ack?.messageId ?? entry.id}`, ack: undefined };
      });
      const more = page * pageSize < (answer.meta?.total ?? 0);
      const nextCursor = more ? `${accountIndex}:${page + 1}` : accountIndex + 1 < externalAccountIds.length ? `${accountIndex + 1}:1` : undefined;
      return { reservations, ...(nextCursor ? { nextCursor } : {}) };
    },

    async readCalendar(mapping, range) {
      const query = `filter[property_id]=${encodeURIComponent(mapping.externalAccountId)}&filter[date][gte]=${range.from}&filter[date][lte]=${range.to}`;
      const [availability, restrictions] = await Promise.all([
        call<{ data: Record<string, Record<string, number>> }>('readCalendar', 'GET', `/api/v1/availability?${query}`),
        mapping.externalRateId
          ? call<{ data: Record<string, Record<string, Record<string, unknown>>> }>('readCalendar', 'GET', `/api/v1/restrictions?${query}&filter[restrictions]=rate,min_stay_arrival,min_stay_through,max_stay,closed_to_arrival,closed_to_departure,stop_sell`)
          : Promise.resolve({ data: {} as Record<string, Record<string, Record<string, unknown>>> }),
      ]);
      const available = availability.data[mapping.externalListingId] ?? {};
      const rates = mapping.externalRateId ? (restrictions.data[mapping.externalRateId] ?? {}) : {};
      const dates = new Set([...Object.keys(available), ...Object.keys(rates)]);
      return [...dates].sort().map((date) => {
        const rate = rates[date] ?? {};
        const day: Partial<ChannelDay> & { date: string } = { date };
        if (available[date] !== undefined) day.available = available[date];
        if (typeof rate.min_stay_arrival === 'number') day.minNights = rate.min_stay_arrival;
        if (typeof rate.closed_to_arrival === 'boolean') day.closedToArrival = rate.closed_to_arrival;
        if (typeof rate.stop_sell === 'boolean') day.closed = rate.stop_sell;
        return day;
      });
    },
  };
}
