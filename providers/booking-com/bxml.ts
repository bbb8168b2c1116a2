// Booking.com's read side, used by the full resync (B.XML, lower-case elements):
// - the reservations summary: POST secure-supply-xml.booking.com/hotels/xml/reservationssummary with
//   `<request><hotel_id>` (one property per request, every reservation with a check-out date still
//   to come, no paging), as documented on "Retrieving reservations summary";
// - the room-rate availability: POST supply-xml.booking.com/hotels/xml/roomrateavailability with
//   `<request><hotel_id><number_of_days><start_date>` and `Accept-Version: 1.1`, every active
//   room/rate of the property, as documented on "Retrieve inventory and rate details".
// The requests are as documented. The answers are modelled, not documented: the pages' response
// examples were not available in full (only their opening `<reservations><reservation><customer>`),
// so they are read in an attribute form of Skerry's own, which the sandbox writes.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { checkXml, OtaParseError } from './ota';

export interface SummaryReservation {
  id: string;
  hotelId: string;
  roomId: string;
  rateId?: string;
  status: 'new' | 'modified' | 'cancelled';
  checkIn: string;
  checkOut: string;
  rooms: number;
  guestName?: string;
  total?: { amount: number; currency: string };
  lastModifiedAt: string;
}

export interface RoomRateDay {
  date: string;
  roomsToSell?: number;
  price?: number;
  currency?: string;
  minimumStay?: number;
  closed?: boolean;
  closedToArrival?: boolean;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => name === 'reservation' || name === 'date' || name === 'room' || name === 'rate',
});

type Node = Record<string, unknown>;
const asNode = (value: unknown): Node => (value && typeof value === 'object' ? (value as Node) : {});
const asArray = (value: unknown): Node[] => (Array.isArray(value) ? value.map(asNode) : value === undefined ? [] : [asNode(value)]);
const attr = (node: Node, name: string) => (node[`@_${name}`] === undefined ? undefined : String(node[`@_${name}`]));

function parse(xml: string, root: string): Node {
  checkXml(xml);
  const parsed = asNode(parser.parse(xml));
  if (!(root in parsed)) throw new OtaParseError(`expected <${root}>`);
  return asNode(parsed[root]);
}

/** The documented request body of both calls: the property, and for availability the days asked for. */
export function buildBxmlRequest(hotelId: string, days?: { startDate: string; numberOfDays: number }): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    request: { hotel_id: hotelId, ...(days ? { number_of_days: days.numberOfDays, start_date: days.startDate } : {}) },
  }) as string;
}

export function buildReservationsSummary(reservations: readonly SummaryReservation[]): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    reservations: {
      reservation: reservations.map((reservation) => ({
        '@_id': reservation.id,
        '@_hotel_id': reservation.hotelId,
        '@_room_id': reservation.roomId,
        ...(reservation.rateId ? { '@_rate_id': reservation.rateId } : {}),
        '@_status': reservation.status,
        '@_checkin': reservation.checkIn,
        '@_checkout': reservation.checkOut,
        '@_rooms': reservation.rooms,
        '@_last_modified': reservation.lastModifiedAt,
        ...(reservation.guestName ? { '@_guest_name': reservation.guestName } : {}),
        ...(reservation.total ? { '@_total': reservation.total.amount, '@_currency': reservation.total.currency } : {}),
      })),
    },
  }) as string;
}

export function parseReservationsSummary(xml: string): { reservations: SummaryReservation[] } {
  const root = parse(xml, 'reservations');
  return {
    reservations: asArray(root.reservation).map((node) => ({
      id: attr(node, 'id') ?? '',
      hotelId: attr(node, 'hotel_id') ?? '',
      roomId: attr(node, 'room_id') ?? '',
      rateId: attr(node, 'rate_id'),
      status: (attr(node, 'status') ?? 'new') as SummaryReservation['status'],
      checkIn: attr(node, 'checkin') ?? '',
      checkOut: attr(node, 'checkout') ?? '',
      rooms: Number(attr(node, 'rooms') ?? 1),
      guestName: attr(node, 'guest_name'),
      total: attr(node, 'total') !== undefined ? { amount: Number(attr(node, 'total')), currency: attr(node, 'currency') ?? '' } : undefined,
      lastModifiedAt: attr(node, 'last_modified') ?? '',
    })),
  };
}

export function buildRoomRateAvailability(hotelId: string, rooms: ReadonlyArray<{ roomId: string; rateId?: string; days: readonly RoomRateDay[] }>): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    roomrateavailability: {
      '@_hotel_id': hotelId,
      room: rooms.map(({ roomId, rateId, days }) => ({
        '@_id': roomId,
        date: days.map((day) => ({
          '@_value': day.date,
          ...(day.roomsToSell !== undefined ? { roomstosell: day.roomsToSell } : {}),
          rate: {
            ...(rateId ? { '@_id': rateId } : {}),
            ...(day.price !== undefined ? { price: day.price, currency: day.currency } : {}),
            ...(day.minimumStay !== undefined ? { minimumstay: day.minimumStay } : {}),
            ...(day.closed !== undefined ? { closed: day.closed ? 1 : 0 } : {}),
            ...(day.closedToArrival !== undefined ? { closed_to_arrival: day.closedToArrival ? 1 : 0 } : {}),
          },
        })),
      })),
    },
  }) as string;
}

/** The nights of one room (and rate) out of the property's answer; another room's, or another rate's, are left out. */
export function parseRoomRateAvailability(xml: string, roomId: string, rateId?: string): RoomRateDay[] {
  const root = parse(xml, 'roomrateavailability');
  const num = (value: unknown) => (value === undefined || value === '' ? undefined : Number(value));
  const room = asArray(root.room).find((node) => attr(node, 'id') === roomId);
  return asArray(room?.date).map((node) => {
    const rates = asArray(node.rate);
    const rate = rates.find((candidate) => !rateId || attr(candidate, 'id') === undefined || attr(candidate, 'id') === rateId) ?? {};
    return {
      date: attr(node, 'value') ?? '',
      roomsToSell: num(node.roomstosell),
      price: num(rate.price),
      currency: rate.currency === undefined ? undefined : String(rate.currency),
      minimumStay: num(rate.minimumstay),
      closed: rate.closed === undefined ? undefined : String(rate.closed) === '1',
      closedToArrival: rate.closed_to_arrival === undefined ? undefined : String(rate.closed_to_arrival) === '1',
    };
  });
}
