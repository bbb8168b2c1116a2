// Booking.com's connectivity API for one machine account: ARI pushed as OTA XML, reservations pulled
// from the OTA_HotelResNotif / OTA_HotelResModifyNotif queues and acknowledged, and the B.XML read
// side for the resync. HTTP Basic auth; every failure becomes a ProviderError with its retry class.
// Booking.com serves reservations (and their acknowledgements) only on its PCI host,
// secure-supply-xml.booking.com; ARI goes to supply-xml.booking.com.
import { createHash, randomUUID } from 'node:crypto';
import type { ChannelClient, PushProgress, ReservationRefusal } from '../channels';
import { ProviderError, kindFromHttpStatus, parseRetryAfter } from '../errors';
import { daysBetween } from '../../domain/dates';
import type { ChannelDay, ChannelMapping, ChannelReservationEvent } from '../../domain/bookings';
import type { DateRange } from '../../domain/dates';
import { buildBxmlRequest, parseReservationsSummary, parseRoomRateAvailability } from './bxml';
import { secureApiBaseFor } from '../../config/channels';
import {
  buildAvailNotif,
  buildRateAmountNotif,
  buildReservationAck,
  decimalPlacesOf,
  OTA_ERROR,
  parseReservationQueue,
  parseResponse,
  type AvailStatusItem,
  type OtaHeader,
  type OtaReservation,
  type RateAmountItem,
} from './ota';

export interface BookingComClientOptions {
  /** ARI pushes (supply-xml.booking.com). */
  apiBase: string;
  /**
   * Reservations, their acknowledgements and the reservation reads (secure-supply-xml.booking.com).
   * Left out: Booking.com's secure host when `apiBase` is its supply host, else `apiBase` itself.
   */
  secureApiBase?: string;
  /** An answer larger than this is refused unread (a queue of reservations stays far below it). */
  maxResponseBytes?: number;
  username: string;
  password: string;
  timeoutMs?: number;
  /** AvailStatusMessage / RateAmountMessage elements per request (Booking.com advises batching). */
  maxItemsPerRequest?: number;
  /** The HTTP client: the provider gate's (throttle, quota, conditional GETs) in a worker; default fetch. */
  fetch?: typeof fetch;
}

/** Consecutive nights with the same value of `key` become one [start, end] run (inclusive). */
export function runsOf<T>(days: readonly ChannelDay[], key: (day: ChannelDay) => T | undefined): Array<{ start: string; end: string; value: T }> {
  const runs: Array<{ start: string; end: string; value: T; signature: string }> = [];
  for (const day of [...days].sort((a, b) => a.date.localeCompare(b.date))) {
    const value = key(day);
    if (value === undefined) continue;
    const signature = JSON.stringify(value);
    const last = runs[runs.length - 1];
    if (last && last.signature === signature && daysBetween(last.end, day.date) === 1) last.end = day.date;
    else runs.push({ start: day.date, end: day.date, value, signature });
  }
  return runs.map(({ start, end, value }) => ({ start, end, value }));
}

/** The AvailStatusMessages for some nights: rooms to sell per room, restrictions per room-rate. */
export function availItems(mapping: ChannelMapping, days: readonly ChannelDay[]): AvailStatusItem[] {
  const room = mapping.externalListingId;
  const rate = mapping.externalRateId;
  const items: AvailStatusItem[] = runsOf(days, (day) => day.available).map((run) => ({
    start: run.start,
    end: run.end,
    invTypeCode: room,
    bookingLimit: run.value,
  }));
  if (rate) {
    for (const run of runsOf(days, (day) => ({ minLos: day.minNights, closed: day.closed }))) {
      items.push({ start: run.start, end: run.end, invTypeCode: room, ratePlanCode: rate, minLos: run.value.minLos, restriction: { status: run.value.closed ? 'Close' : 'Open', type: 'Master' } });
    }
    for (const run of runsOf(days, (day) => day.closedToArrival)) {
      items.push({ start: run.start, end: run.end, invTypeCode: room, ratePlanCode: rate, restriction: { status: run.value ? 'Close' : 'Open', type: 'Arrival' } });
    }
  }
  return items;
}

export function rateItems(mapping: ChannelMapping, days: readonly ChannelDay[]): RateAmountItem[] {
  if (!mapping.externalRateId) return [];
  return runsOf(days, (day) => (day.price !== undefined && day.currency ? { price: day.price, currency: day.currency } : undefined)).map((run) => ({
    start: run.start,
    end: run.end,
    invTypeCode: mapping.externalListingId,
    ratePlanCode: mapping.externalRateId!,
    amount: run.value.price,
    currency: run.value.currency,
    decimalPlaces: decimalPlacesOf(run.value.currency),
  }));
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

const KIND: Record<OtaReservation['status'], ChannelReservationEvent['kind']> = { Book: 'new', Modify: 'modified', Cancel: 'cancelled' };

/**
 * Booking.com gives queue messages no id of their own. Ours is derived from the content, so the same
 * message pulled again is recognized, and any change (even within LastModifyDateTime's second) is new.
 */
export function queueMessageId(reservation: OtaReservation, queue: 'new' | 'modify'): string {
  const content = [queue, reservation.status, reservation.lastModifiedAt, reservation.checkIn, reservation.checkOut, reservation.rooms, reservation.roomTypeCode].join('|');
  return `${reservation.resId}:${queue}:${createHash('sha256').update(content).digest('hex').slice(0, 16)}`;
}

export function reservationEvent(reservation: OtaReservation, queue: 'new' | 'modify'): ChannelReservationEvent {
  const messageId = queueMessageId(reservation, queue);
  const name = [reservation.guest?.givenName, reservation.guest?.surname].filter(Boolean).join(' ');
  return {
    eventId: `booking_com:${messageId}`,
    kind: queue === 'new' ? 'new' : KIND[reservation.status],
    channel: 'booking_com',
    channelReservationId: reservation.resId,
    externalAccountId: reservation.hotelCode,
    externalListingId: reservation.roomTypeCode,
    checkIn: reservation.checkIn,
    checkOut: reservation.checkOut,
    rooms: reservation.rooms,
    guest: name ? { name } : undefined,
    total: reservation.total ? { value: reservation.total.amount, currency: reservation.total.currency } : undefined,
    ack: { messageId, queue },
    occurredAt: reservation.lastModifiedAt || new Date().toISOString(),
  };
}

export { secureApiBaseFor };

const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** The body as text, refused once it grows past `limit` bytes (whatever Content-Length claims). */
async function boundedText(response: Response, limit: number, operation: string): Promise<string> {
  const tooLarge = () => new ProviderError('booking_com', operation, 'validation', `answer larger than ${limit} bytes refused`, { httpStatus: response.status });
  if (Number(response.headers.get('content-length') ?? 0) > limit) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createBookingComClient(options: BookingComClientOptions): ChannelClient {
  const base = options.apiBase.replace(/\/+$/, '');
  const secureBase = (options.secureApiBase ?? secureApiBaseFor(options.apiBase)).replace(/\/+$/, '');
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  const perRequest = options.maxItemsPerRequest ?? 200;
  const header = (): OtaHeader => ({ echoToken: randomUUID(), timeStamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });

  async function call(operation: string, method: 'GET' | 'POST', path: string, body?: string, host: 'supply' | 'secure' = 'supply', headers: Record<string, string> = {}): Promise<string> {
    const response = await (options.fetch ?? fetch)(`${host === 'secure' ? secureBase : base}${path}`, {
      method,
      headers: { authorization, accept: 'application/xml', ...(body ? { 'content-type': 'application/xml; charset=utf-8' } : {}), ...headers },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await boundedText(response, maxResponseBytes, operation);
    if (!response.ok) {
      throw new ProviderError('booking_com', operation, kindFromHttpStatus(response.status), `HTTP ${response.status}: ${text.slice(0, 300)}`, {
        httpStatus: response.status,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    }
    return text;
  }

  /** Posts an OTA request and checks its RS: `<Errors>` is a refusal no retry fixes. */
  async function post(operation: string, path: string, root: string, xml: string): Promise<void> {
    const result = parseResponse(await call(operation, 'POST', path, xml), root);
    if (!result.success) {
      const error = result.errors[0];
      throw new ProviderError('booking_com', operation, error?.code === OTA_ERROR.authentication ? 'authentication' : 'validation', result.errors.map((e) => `${e.code} ${e.text}`).join('; ') || 'no Success', {
        code: error?.code,
      });
    }
  }

  async function pullQueue(queue: 'new' | 'modify'): Promise<ChannelReservationEvent[]> {
    const path = queue === 'new' ? '/hotels/ota/OTA_HotelResNotif' : '/hotels/ota/OTA_HotelResModifyNotif';
    const parsed = parseReservationQueue(await call('pullReservations', 'GET', path, undefined, 'secure'));
    return parsed.reservations.map((reservation) => reservationEvent(reservation, queue));
  }

  async function acknowledge(event: ChannelReservationEvent, refusal?: ReservationRefusal): Promise<void> {
    const queue = event.ack?.queue ?? (event.kind === 'new' ? 'new' : 'modify');
    const path = queue === 'new' ? '/hotels/ota/OTA_HotelResNotif' : '/hotels/ota/OTA_HotelResModifyNotif';
    const root = queue === 'new' ? 'OTA_HotelResNotifRS' : 'OTA_HotelResModifyNotifRS';
    const error = refusal
      ? { type: '3', code: refusal.code === 'sold_out' ? OTA_ERROR.noAvailability : OTA_ERROR.invalidRoomType, text: refusal.reason }
      : undefined;
    const xml = buildReservationAck(header(), queue, [{ resId: event.channelReservationId, error }]);
    const answer = parseResponse(await call(refusal ? 'rejectReservation' : 'acknowledgeReservation', 'POST', path, xml, 'secure'), root);
    if (!answer.success) {
      throw new ProviderError('booking_com', 'acknowledgeReservation', 'validation', answer.errors.map((e) => `${e.code} ${e.text}`).join('; '), { code: answer.errors[0]?.code });
    }
  }

  return {
    channel: 'booking_com',

    async pushCalendar(mapping: ChannelMapping, days: readonly ChannelDay[], progress: PushProgress) {
      const requests: Array<() => Promise<void>> = [
        ...chunk(availItems(mapping, days), perRequest).map(
          (items) => () => post('pushAvailability', '/hotels/ota/OTA_HotelAvailNotif', 'OTA_HotelAvailNotifRS', buildAvailNotif(header(), mapping.externalAccountId, items)),
        ),
        ...chunk(rateItems(mapping, days), perRequest).map(
          (items) => () =>
            post('pushRates', '/hotels/ota/OTA_HotelRateAmountNotif', 'OTA_HotelRateAmountNotifRS', buildRateAmountNotif(header(), mapping.externalAccountId, items)),
        ),
      ];
      for (let index = progress.skipRequests; index < requests.length; index += 1) {
        await requests[index]!();
        progress.onRequest(index + 1);
      }
      return { requests: Math.max(0, requests.length - progress.skipRequests) };
    },

    async pullReservations() {
      return [...(await pullQueue('new')), ...(await pullQueue('modify'))];
    },

    async confirmReservation(event) {
      // Only messages pulled from a queue are acknowledged; a resync replay has nothing to ack.
      if (event.ack) await acknowledge(event);
    },

    // An acknowledgement with <Errors> ("unsuccessfully processed") rejects nothing: Booking.com keeps
    // the message queued, then e-mails it to the property, and the guest's reservation stands. The
    // reservation workflow therefore keeps what it cannot place as overbooked and acknowledges it.
    async rejectReservation(event, refusal) {
      await acknowledge(event, refusal);
    },

    async listReservations({ externalAccountIds, cursor, pageSize, from }) {
      // The documented summary answers one property whole, without paging: the cursor
      // "<property index>:<offset>" walks the properties and cuts each answer into pages, so the
      // resync's checkpoint stays small (a page re-reads its property's summary).
      const [hotelIndex = 0, offset = 0] = (cursor ?? '0:0').split(':').map(Number);
      const hotelId = externalAccountIds[hotelIndex];
      if (hotelId === undefined) return { reservations: [] };
      const summary = parseReservationsSummary(await call('listReservations', 'POST', '/hotels/xml/reservationssummary', buildBxmlRequest(hotelId), 'secure'));
      const stays = summary.reservations.filter((reservation) => reservation.checkOut >= from).sort((a, b) => a.id.localeCompare(b.id));
      const page = stays.slice(offset, offset + pageSize);
      const nextCursor = offset + pageSize < stays.length ? `${hotelIndex}:${offset + pageSize}` : hotelIndex + 1 < externalAccountIds.length ? `${hotelIndex + 1}:0` : undefined;
      return {
        nextCursor,
        reservations: page.map((reservation) => ({
          eventId: `booking_com:summary:${reservation.id}@${reservation.lastModifiedAt}`,
          kind: reservation.status === 'cancelled' ? 'cancelled' : reservation.status === 'modified' ? 'modified' : 'new',
          channel: 'booking_com',
          channelReservationId: reservation.id,
          externalAccountId: reservation.hotelId || hotelId,
          externalListingId: reservation.roomId,
          checkIn: reservation.checkIn,
          checkOut: reservation.checkOut,
          rooms: reservation.rooms,
          guest: reservation.guestName ? { name: reservation.guestName } : undefined,
          total: reservation.total ? { value: reservation.total.amount, currency: reservation.total.currency } : undefined,
          occurredAt: reservation.lastModifiedAt,
        })),
      };
    },

    async readCalendar(mapping: ChannelMapping, range: DateRange) {
      // The property's every room/rate for the days asked; this mapping's room and rate are kept.
      const request = buildBxmlRequest(mapping.externalAccountId, { startDate: range.from, numberOfDays: daysBetween(range.from, range.to) + 1 });
      const answer = await call('readCalendar', 'POST', '/hotels/xml/roomrateavailability', request, 'supply', { 'accept-version': '1.1' });
      const days = parseRoomRateAvailability(answer, mapping.externalListingId, mapping.externalRateId);
      return days.map((day) => ({
        date: day.date,
        available: day.roomsToSell,
        price: day.price,
        currency: day.currency,
        minNights: day.minimumStay,
        closedToArrival: day.closedToArrival,
        closed: day.closed,
      }));
    },
  };
}

