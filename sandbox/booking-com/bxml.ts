// The B.XML read side Skerry's resync calls, written from Booking.com's pages on its own:
// - `POST /hotels/xml/reservationssummary` (secure host): a `<request>` naming one `<hotel_id>`
//   ("Retrieving reservations summary"); every reservation of the property with a check-out still
//   to come, no paging;
// - `POST /hotels/xml/roomrateavailability` (supply host, `Accept-Version` 1.1 the only version):
//   `<request>` with `<hotel_id>`, `<number_of_days>`, `<start_date>` ("Retrieve inventory and rate
//   details"); every room/rate of the property.
// The requests are read as documented. The answers are modelled: the pages' response examples were
// not available in full, so the sandbox answers in an attribute form (`<reservations><reservation id
// …>`, `<roomrateavailability><room id><date value>`) that Skerry's client reads.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { OtaUnreadable } from './ota';

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

const reader = new XMLParser({ ignoreAttributes: true, ignoreDeclaration: true, parseTagValue: false, isArray: (name) => name === 'hotel_id' });

/** A documented B.XML `<request>`: the property (exactly one), and the days asked for; a problem per missing or bad field. */
export function readBxmlRequest(xml: string): { hotelId?: string; startDate?: string; numberOfDays?: number; problems: string[] } {
  if (/<!DOCTYPE/i.test(xml)) throw new OtaUnreadable('DOCTYPE declarations are not accepted');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new OtaUnreadable(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const document = reader.parse(xml) as Record<string, unknown>;
  if (!document.request || typeof document.request !== 'object') throw new OtaUnreadable('expected <request>');
  const request = document.request as Record<string, unknown>;
  const problems: string[] = [];
  const hotelIds = ((request.hotel_id as unknown[] | undefined) ?? []).map((value) => String(value).trim());
  if (hotelIds.length !== 1 || !/^\d+$/.test(hotelIds[0]!)) problems.push('request: exactly one hotel_id (an integer) is required');
  const startDate = request.start_date === undefined ? undefined : String(request.start_date).trim();
  if (startDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(startDate)) problems.push('request: start_date must be YYYY-MM-DD');
  const days = request.number_of_days === undefined ? undefined : String(request.number_of_days).trim();
  if (days !== undefined && !/^[1-9]\d*$/.test(days)) problems.push('request: number_of_days must be a positive integer');
  return { hotelId: hotelIds[0], startDate, numberOfDays: days === undefined ? undefined : Number(days), problems };
}

/** `<reservations>` with one attribute-only `<reservation>` per line. */
export function writeReservationsSummary(lines: readonly SummaryLine[]): string {
  return write({
    reservations: {
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

/** `<roomrateavailability hotel_id>` → a `<room id>` per room → a `<date value>` per night with a `<rate id>` per rate. */
export function writeRoomRateAvailability(hotelId: string, rooms: ReadonlyArray<{ roomId: string; rates: ReadonlyArray<{ rateId?: string; nights: readonly ChannelNight[] }> }>): string {
  const present = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
  return write({
    roomrateavailability: {
      '@hotel_id': hotelId,
      room: rooms.map(({ roomId, rates }) => {
        const dates = [...new Set(rates.flatMap((rate) => rate.nights.map((night) => night.date)))].sort();
        return {
          '@id': roomId,
          date: dates.map((date) => {
            const first = rates.flatMap((rate) => rate.nights).find((night) => night.date === date)!;
            return {
              '@value': date,
              ...present({ roomstosell: first.roomsToSell }),
              rate: rates.map(({ rateId, nights }) => {
                const night = nights.find((candidate) => candidate.date === date);
                return {
                  ...(rateId !== undefined ? { '@id': rateId } : {}),
                  ...present({
                    price: night?.price,
                    currency: night?.price === undefined ? undefined : night.currency,
                    minimumstay: night?.minimumStay,
                    maximumstay: night?.maximumStay,
                    closed: flag(night?.closed),
                    closed_to_arrival: flag(night?.closedToArrival),
                    closed_to_departure: flag(night?.closedToDeparture),
                  }),
                };
              }),
            };
          }),
        };
      }),
    },
  });
}
