// The read side Skerry's resync calls, in Booking.com's B.XML style (lower-case elements). These are
// not Booking.com's documented messages: the documented `xml/reservationssummary` and
// `xml/roomrateavailability` are POSTs of a `<request><hotel_id>…</hotel_id></request>` body that
// answer `<reservations><reservation><customer>…` and `<result><room room_id><date … rooms_to_sell>`.
// Skerry's client asks with GET and query parameters (several hotels, paging, a checkout date) and
// reads attributes, so the sandbox answers in that modelled form, written here on its own.
import { XMLBuilder } from 'fast-xml-parser';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, suppressEmptyNode: true });
const write = (document: Record<string, unknown>) => builder.build({ '?xml': { '@version': '1.0', '@encoding': 'UTF-8' }, ...document }) as string;

/** One reservation of the summary; the total in minor units. */
export interface SummaryLine {
  id: string;
  hotelId: string;
  roomId: string;
  rateId?: string;
  status: 'new' | 'modified' | 'cancelled';
  checkIn: string;
  checkOut: string;
  rooms: number;
  guestName: string;
  total?: { amount: number; currency: string };
  lastModifiedAt: string;
}

/** `<reservations next_cursor>` with one attribute-only `<reservation>` per line. */
export function writeReservationsSummary(lines: readonly SummaryLine[], nextCursor: string | undefined): string {
  return write({
    reservations: {
      ...(nextCursor !== undefined ? { '@next_cursor': nextCursor } : {}),
      reservation: lines.map((line) => ({
        '@id': line.id,
        '@hotel_id': line.hotelId,
        '@room_id': line.roomId,
        ...(line.rateId !== undefined ? { '@rate_id': line.rateId } : {}),
        '@status': line.status,
        '@checkin': line.checkIn,
        '@checkout': line.checkOut,
        '@rooms': line.rooms,
        '@guest_name': line.guestName,
        ...(line.total ? { '@total': line.total.amount, '@currency': line.total.currency } : {}),
        '@last_modified': line.lastModifiedAt,
      })),
    },
  });
}

/** What the channel shows for a room (and rate) on one night; price in minor units. */
export interface ChannelNight {
  date: string;
  roomsToSell?: number;
  price?: number;
  currency?: string;
  minimumStay?: number;
  maximumStay?: number;
  closed?: boolean;
  closedToArrival?: boolean;
  closedToDeparture?: boolean;
}

const flag = (value: boolean | undefined) => (value === undefined ? undefined : value ? 1 : 0);

/** `<roomrateavailability hotel_id>` → `<room id>` → a `<date value>` per night with its `<rate>`. */
export function writeRoomRateAvailability(hotelId: string, roomId: string, rateId: string | undefined, nights: readonly ChannelNight[]): string {
  const present = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
  return write({
    roomrateavailability: {
      '@hotel_id': hotelId,
      room: {
        '@id': roomId,
        date: nights.map((night) => ({
          '@value': night.date,
          ...present({ roomstosell: night.roomsToSell }),
          rate: {
            ...(rateId !== undefined ? { '@id': rateId } : {}),
            ...present({
              price: night.price,
              currency: night.price === undefined ? undefined : night.currency,
              minimumstay: night.minimumStay,
              maximumstay: night.maximumStay,
              closed: flag(night.closed),
              closed_to_arrival: flag(night.closedToArrival),
              closed_to_departure: flag(night.closedToDeparture),
            }),
          },
        })),
      },
    },
  });
}
