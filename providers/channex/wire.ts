// Channex's JSON as its documentation gives it (docs.channex.io, "Availability and Rates", "Bookings
// Collection", "Webhook Collection", "API Rate Limits"), and the pure codec between it and Skerry's
// channel shapes: a run of nights with the same values becomes one date range in a `values` array.
import type { ChannelDay, ChannelMapping, ChannelReservationEvent } from '../../domain/bookings';
import { fromDayNumber, toDayNumber } from '../../domain/dates';

export const CHANNEX_API_KEY_HEADER = 'user-api-key';

export interface ChannexAvailabilityValue {
  property_id: string;
  room_type_id: string;
  date_from: string;
  date_to: string;
  availability: number;
}

export interface ChannexRestrictionValue {
  property_id: string;
  rate_plan_id: string;
  date_from: string;
  date_to: string;
  rate?: string;
  min_stay_arrival: number;
  min_stay_through: number;
  /** 0: no maximum. */
  max_stay: number;
  closed_to_arrival: boolean;
  closed_to_departure: boolean;
  stop_sell: boolean;
}

/** `meta.warnings` of an ARI answer: changes Channex refused, on a 200. */
export interface ChannexAriAnswer {
  data?: Array<{ id: string; type: string }>;
  meta?: { message?: string; warnings?: unknown[] };
}

export interface ChannexBookingRoom {
  room_type_id: string;
  rate_plan_id: string;
  checkin_date: string;
  checkout_date: string;
  amount?: string;
  days?: Record<string, string>;
}

export interface ChannexRevision {
  id: string;
  booking_id: string;
  property_id: string;
  unique_id: string;
  ota_reservation_code: string;
  ota_name: string;
  status: 'new' | 'modified' | 'cancelled';
  arrival_date: string;
  departure_date: string;
  amount?: string;
  currency?: string;
  customer?: { name?: string; surname?: string };
  rooms: ChannexBookingRoom[];
  inserted_at?: string;
}

export interface ChannexFeedPage {
  data: Array<{ type: string; id: string; attributes: ChannexRevision }>;
  meta?: { page?: number; limit?: number; total?: number };
}

/** A webhook as Channex POSTs it: `{ event, property_id, payload, timestamp, user_id }`. */
export interface ChannexWebhook {
  event: string;
  property_id?: string;
  timestamp?: string;
  user_id?: string | null;
  payload?: { booking_id?: string; revision_id?: string; property_id?: string; [key: string]: unknown };
}

const ZERO_DECIMAL = new Set(['JPY', 'KRW', 'ISK', 'CLP', 'VND']);
const digits = (currency: string) => (ZERO_DECIMAL.has(currency.toUpperCase()) ? 0 : 2);
export const toDecimalString = (minor: number, currency: string) => (minor / 10 ** digits(currency)).toFixed(digits(currency));
export const toMinorUnits = (decimal: string, currency: string) => Math.round(Number(decimal) * 10 ** digits(currency));

/** Consecutive nights whose `key` is equal, as `[first, last, day]` runs. */
function runs<T>(days: readonly ChannelDay[], key: (day: ChannelDay) => T): Array<{ from: string; to: string; day: ChannelDay }> {
  const sorted = [...days].sort((a, b) => a.date.localeCompare(b.date));
  const out: Array<{ from: string; to: string; day: ChannelDay; key: string }> = [];
  for (const day of sorted) {
    const k = JSON.stringify(key(day));
    const last = out[out.length - 1];
    if (last && last.key === k && toDayNumber(day.date) === toDayNumber(last.to) + 1) last.to = fromDayNumber(toDayNumber(day.date));
    else out.push({ from: day.date, to: day.date, day, key: k });
  }
  return out.map(({ from, to, day }) => ({ from, to, day }));
}

/** The availability of a mapping's room type, one value per run of equal nights. */
export function availabilityValues(mapping: ChannelMapping, days: readonly ChannelDay[]): ChannexAvailabilityValue[] {
  return runs(days, (day) => day.available).map(({ from, to, day }) => ({
    property_id: mapping.externalAccountId,
    room_type_id: mapping.externalListingId,
    date_from: from,
    date_to: to,
    availability: day.available,
  }));
}

const restrictionsOf = (day: ChannelDay) => ({
  ...(day.price !== undefined && day.currency ? { rate: toDecimalString(day.price, day.currency) } : {}),
  min_stay_arrival: day.minNights,
  min_stay_through: day.minStayThrough ?? 1,
  max_stay: day.maxStay ?? 0,
  closed_to_arrival: day.closedToArrival,
  closed_to_departure: day.closedToDeparture ?? false,
  stop_sell: day.closed,
});

/** The rate and restrictions of a mapping's rate plan, one value per run of equal nights. */
export function restrictionValues(mapping: ChannelMapping, days: readonly ChannelDay[]): ChannexRestrictionValue[] {
  if (!mapping.externalRateId) return [];
  return runs(days, restrictionsOf).map(({ from, to, day }) => ({
    property_id: mapping.externalAccountId,
    rate_plan_id: mapping.externalRateId!,
    date_from: from,
    date_to: to,
    ...restrictionsOf(day),
  }));
}

/**
 * A booking revision as a channel reservation event. The booking id is the reservation's identity
 * across its revisions; the revision id is the message to acknowledge.
 */
export function revisionEvent(revision: ChannexRevision): ChannelReservationEvent {
  const room = revision.rooms[0];
  const guest = [revision.customer?.name, revision.customer?.surname].filter(Boolean).join(' ').trim();
  return {
    eventId: `channex:${revision.id}`,
    kind: revision.status,
    channel: 'channex',
    channelReservationId: revision.booking_id,
    externalAccountId: revision.property_id,
    externalListingId: room?.room_type_id ?? '',
    checkIn: revision.arrival_date,
    checkOut: revision.departure_date,
    rooms: Math.max(1, revision.rooms.filter((candidate) => candidate.room_type_id === room?.room_type_id).length),
    ...(guest ? { guest: { name: guest } } : {}),
    ...(revision.amount && revision.currency ? { total: { value: toMinorUnits(revision.amount, revision.currency), currency: revision.currency } } : {}),
    ack: { messageId: revision.id, queue: revision.status === 'new' ? 'new' : 'modify' },
    occurredAt: revision.inserted_at ?? new Date().toISOString(),
  };
}

/** Why a revision names a room type or rate plan the mapping does not (Channex's unmapped events, seen from here). */
export function unmappedReason(revision: ChannexRevision, mapping: Pick<ChannelMapping, 'externalListingId' | 'externalRateId'> | undefined): 'booking_unmapped_room' | 'booking_unmapped_rate' | undefined {
  const room = revision.rooms[0];
  if (!mapping || !room || room.room_type_id !== mapping.externalListingId) return 'booking_unmapped_room';
  if (mapping.externalRateId && room.rate_plan_id !== mapping.externalRateId) return 'booking_unmapped_rate';
  return undefined;
}
