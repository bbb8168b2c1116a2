// The OTA XML messages Skerry's Booking.com client sends (built) and receives (parsed), with
// fast-xml-parser. Booking.com's side (the sandbox) has its own codec, written from the documents:
//   OTA_HotelAvailNotifRQ/RS       rooms to sell, minimum stay, stop sell, closed to arrival
//   OTA_HotelRateAmountNotifRQ/RS  nightly prices (BaseByGuestAmts, decimal amounts as documented)
//   OTA_HotelResNotifRQ/RS         new reservations (pulled) and their acknowledgement
//   OTA_HotelResModifyNotifRQ/RS   modified and cancelled reservations and their acknowledgement
// Element and attribute names follow the OTA 2003B schema as Booking.com documents it. Dates in
// StatusApplicationControl are inclusive on both ends.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { addDays } from '../../domain/dates';

export const OTA_NAMESPACE = 'http://www.opentravel.org/OTA/2003/05';
export const OTA_VERSION = '1.000';

/** OTA error codes used here (OTA code list ERR). */
export const OTA_ERROR = {
  noAvailability: '322',
  invalidHotelCode: '392',
  invalidRoomType: '402',
  authentication: '497',
  systemError: '448',
  invalidValue: '320',
} as const;

export interface OtaHeader {
  echoToken: string;
  timeStamp: string;
  target?: 'Production' | 'Test';
}

export interface OtaError {
  /** OTA error type: 1 unknown, 3 business rule, 4 authentication, 12 processing. */
  type: string;
  code: string;
  text: string;
  /** The record (a reservation id) the error is about. */
  recordId?: string;
}

/** One AvailStatusMessage. A BookingLimit applies to the room; restrictions to its room-rate. */
export interface AvailStatusItem {
  start: string;
  end: string;
  invTypeCode: string;
  ratePlanCode?: string;
  bookingLimit?: number;
  minLos?: number;
  /** Master (stop sell) or Arrival (closed to arrival). */
  restriction?: { status: 'Open' | 'Close'; type: 'Master' | 'Arrival' };
}

export interface RateAmountItem {
  start: string;
  end: string;
  invTypeCode: string;
  ratePlanCode: string;
  /** Minor units; sent as a decimal with `decimalPlaces` digits after the point. */
  amount: number;
  currency: string;
  decimalPlaces: number;
}

export type OtaReservationStatus = 'Book' | 'Modify' | 'Cancel';

export interface OtaReservation {
  resId: string;
  createdAt: string;
  lastModifiedAt: string;
  status: OtaReservationStatus;
  hotelCode: string;
  roomTypeCode: string;
  ratePlanCode?: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  guest?: { givenName?: string; surname?: string };
  total?: { amount: number; currency: string };
}

export interface OtaAck {
  resId: string;
  error?: OtaError;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });
const ARRAYS = new Set([
  'AvailStatusMessage',
  'RateAmountMessage',
  'BaseByGuestAmt',
  'LengthOfStay',
  'HotelReservation',
  'HotelResModify',
  'RoomStay',
  'RoomRate',
  'HotelReservationID',
  'Error',
  'Warning',
  'ResGuest',
]);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => ARRAYS.has(name),
});

export class OtaParseError extends Error {
  override readonly name = 'OtaParseError';
}

type Node = Record<string, unknown>;
const asNode = (value: unknown): Node => (value && typeof value === 'object' ? (value as Node) : {});
const asArray = (value: unknown): Node[] => (Array.isArray(value) ? value.map(asNode) : value === undefined ? [] : [asNode(value)]);
const attr = (node: Node, name: string): string | undefined => {
  const value = node[`@_${name}`];
  return value === undefined ? undefined : String(value);
};
const required = (node: Node, name: string, where: string): string => {
  const value = attr(node, name);
  if (value === undefined || value === '') throw new OtaParseError(`${where}: attribute ${name} is required`);
  return value;
};

function rootAttributes(header: OtaHeader): Node {
  return {
    '@_xmlns': OTA_NAMESPACE,
    '@_EchoToken': header.echoToken,
    '@_TimeStamp': header.timeStamp,
    '@_Target': header.target ?? 'Production',
    '@_Version': OTA_VERSION,
  };
}

function document(root: string, body: Node): string {
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, [root]: body }) as string;
}

/**
 * Checks a document before it is parsed. Booking.com sends no DTD, so a DOCTYPE is refused rather than
 * read: no declared entity is ever expanded (no entity bombs, no external entities); only XML's five
 * predefined entities (&amp; …) are decoded.
 */
export function checkXml(xml: string): void {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new OtaParseError('a DOCTYPE or entity declaration is refused');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new OtaParseError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
}

/** Parses an OTA document, checking it is well formed, has the expected root and the OTA namespace. */
export function parseOta(xml: string, expectedRoots: readonly string[]): { root: string; node: Node; header: OtaHeader } {
  checkXml(xml);
  const parsed = asNode(parser.parse(xml));
  const root = Object.keys(parsed).find((key) => key !== '?xml');
  if (!root || !expectedRoots.includes(root)) throw new OtaParseError(`expected ${expectedRoots.join(' or ')}, got ${root ?? 'nothing'}`);
  const node = asNode(parsed[root]);
  if (attr(node, 'xmlns') !== OTA_NAMESPACE) throw new OtaParseError(`${root}: namespace must be ${OTA_NAMESPACE}`);
  return {
    root,
    node,
    header: { echoToken: attr(node, 'EchoToken') ?? '', timeStamp: attr(node, 'TimeStamp') ?? '', target: attr(node, 'Target') as OtaHeader['target'] },
  };
}

// ─── Amounts ────────────────────────────────────────────────────────────────────────────────────

/** The currency's minor unit digits (SEK 2, JPY 0). */
export function decimalPlacesOf(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Minor units as Booking.com documents an amount: a decimal in the currency (125050 SEK → "1250.50"). */
export function decimalAmount(minor: number, decimalPlaces: number): string {
  return (minor / 10 ** decimalPlaces).toFixed(decimalPlaces);
}

/** An OTA amount into minor units: `12500` with DecimalPlaces 2, or `125.00`, both give 12500. */
export function parseOtaAmount(amount: string, decimalPlaces: string | undefined, currency: string): number {
  const places = decimalPlaces !== undefined ? Number(decimalPlaces) : undefined;
  if (amount.includes('.')) return Math.round(Number(amount) * 10 ** (places ?? decimalPlacesOf(currency)));
  const value = Number(amount);
  if (!Number.isFinite(value)) throw new OtaParseError(`invalid amount ${amount}`);
  return places !== undefined ? value : value * 10 ** decimalPlacesOf(currency);
}

// ─── Responses ──────────────────────────────────────────────────────────────────────────────────

export function parseResponse(xml: string, root: string): { success: boolean; errors: OtaError[]; echoToken: string; node: Node } {
  const { node, header } = parseOta(xml, [root]);
  const errors = asArray(asNode(node.Errors).Error).map((error) => ({
    type: attr(error, 'Type') ?? '1',
    code: attr(error, 'Code') ?? '',
    text: String(error['#text'] ?? attr(error, 'ShortText') ?? ''),
    recordId: attr(error, 'RecordID'),
  }));
  return { success: node.Success !== undefined && errors.length === 0, errors, echoToken: header.echoToken, node };
}

// ─── ARI ────────────────────────────────────────────────────────────────────────────────────────

export function buildAvailNotif(header: OtaHeader, hotelCode: string, items: readonly AvailStatusItem[]): string {
  return document('OTA_HotelAvailNotifRQ', {
    ...rootAttributes(header),
    AvailStatusMessages: {
      '@_HotelCode': hotelCode,
      AvailStatusMessage: items.map((item) => ({
        ...(item.bookingLimit !== undefined ? { '@_BookingLimit': item.bookingLimit } : {}),
        StatusApplicationControl: {
          '@_Start': item.start,
          '@_End': item.end,
          '@_InvTypeCode': item.invTypeCode,
          ...(item.ratePlanCode ? { '@_RatePlanCode': item.ratePlanCode } : {}),
        },
        ...(item.minLos !== undefined
          ? { LengthsOfStay: { LengthOfStay: [{ '@_Time': item.minLos, '@_TimeUnit': 'Day', '@_MinMaxMessageType': 'SetMinLOS' }] } }
          : {}),
        ...(item.restriction
          ? {
              RestrictionStatus: {
                '@_Status': item.restriction.status,
                ...(item.restriction.type === 'Arrival' ? { '@_Restriction': 'Arrival' } : {}),
              },
            }
          : {}),
      })),
    },
  });
}

export function buildRateAmountNotif(header: OtaHeader, hotelCode: string, items: readonly RateAmountItem[]): string {
  return document('OTA_HotelRateAmountNotifRQ', {
    ...rootAttributes(header),
    RateAmountMessages: {
      '@_HotelCode': hotelCode,
      RateAmountMessage: items.map((item) => ({
        StatusApplicationControl: { '@_Start': item.start, '@_End': item.end, '@_InvTypeCode': item.invTypeCode, '@_RatePlanCode': item.ratePlanCode },
        Rates: {
          Rate: {
            BaseByGuestAmts: {
              BaseByGuestAmt: [{ '@_AmountAfterTax': decimalAmount(item.amount, item.decimalPlaces), '@_CurrencyCode': item.currency }],
            },
          },
        },
      })),
    },
  });
}

// ─── Reservations ───────────────────────────────────────────────────────────────────────────────

export function parseReservationQueue(xml: string): { queue: 'new' | 'modify'; reservations: OtaReservation[] } {
  const { root, node } = parseOta(xml, ['OTA_HotelResNotifRQ', 'OTA_HotelResModifyNotifRQ']);
  const queue = root === 'OTA_HotelResNotifRQ' ? 'new' : 'modify';
  const list = queue === 'new' ? asArray(asNode(node.HotelReservations).HotelReservation) : asArray(asNode(node.HotelResModifies).HotelResModify);
  const reservations = list.map((entry, index): OtaReservation => {
    const where = `${queue === 'new' ? 'HotelReservation' : 'HotelResModify'}[${index}]`;
    const stays = asArray(asNode(entry.RoomStays).RoomStay);
    const first = stays[0];
    const global = asNode(entry.ResGlobalInfo);
    const id = asArray(asNode(global.HotelReservationIDs).HotelReservationID)[0];
    if (!id) throw new OtaParseError(`${where}: ResGlobalInfo/HotelReservationIDs/HotelReservationID is required`);
    const resId = required(id, 'ResID_Value', `${where}/HotelReservationID`);
    const status = (attr(entry, 'ResStatus') ?? (queue === 'new' ? 'Book' : 'Modify')) as OtaReservationStatus;
    if (!first && status !== 'Cancel') throw new OtaParseError(`${where}: RoomStays/RoomStay is required`);
    // Booking.com documents the stay per night (one RoomRate per night, its EffectiveDate) and no
    // TimeSpan; a TimeSpan (the OTA schema's) is read only when a message carries no nights.
    const roomRates = asArray(asNode(first?.RoomRates).RoomRate);
    const nights = roomRates.map((rate) => required(rate, 'EffectiveDate', `${where}/RoomStay/RoomRate`)).sort();
    const span = asNode(first?.TimeSpan);
    const totalNode = global.Total ? asNode(global.Total) : undefined;
    const person = asNode(asNode(asNode(asNode(asNode(asNode(asArray(asNode(entry.ResGuests).ResGuest)[0]).Profiles).ProfileInfo).Profile).Customer).PersonName);
    const currency = totalNode ? required(totalNode, 'CurrencyCode', `${where}/Total`) : undefined;
    // Booking.com's pages show no CreateDateTime/LastModifyDateTime: ResID_Date is the documented time.
    const createdAt = attr(entry, 'CreateDateTime') ?? attr(id, 'ResID_Date') ?? '';
    return {
      resId,
      createdAt,
      lastModifiedAt: attr(entry, 'LastModifyDateTime') ?? createdAt,
      status,
      hotelCode: first ? required(asNode(first.BasicPropertyInfo), 'HotelCode', `${where}/RoomStay/BasicPropertyInfo`) : '',
      roomTypeCode: first ? required(asNode(asNode(first.RoomTypes).RoomType), 'RoomTypeCode', `${where}/RoomStay/RoomType`) : '',
      // In a reservation, RatePlanCode is documented on RoomRate; RatePlan carries only the commission.
      ratePlanCode: first ? (attr(roomRates[0] ?? {}, 'RatePlanCode') ?? attr(asNode(asNode(first.RatePlans).RatePlan), 'RatePlanCode')) : undefined,
      checkIn: !first ? '' : nights.length > 0 ? nights[0]! : required(span, 'Start', `${where}/RoomStay/TimeSpan`),
      checkOut: !first ? '' : nights.length > 0 ? addDays(nights[nights.length - 1]!, 1) : required(span, 'End', `${where}/RoomStay/TimeSpan`),
      rooms: Math.max(1, stays.length),
      guest: person.GivenName !== undefined || person.Surname !== undefined ? { givenName: String(person.GivenName ?? ''), surname: String(person.Surname ?? '') } : undefined,
      total:
        totalNode && currency
          ? { amount: parseOtaAmount(required(totalNode, 'AmountAfterTax', `${where}/Total`), attr(totalNode, 'DecimalPlaces'), currency), currency }
          : undefined,
    };
  });
  return { queue, reservations };
}

/** An RS document: Success, or Errors with one Error per refused record. */
function buildResponse(root: string, header: OtaHeader, outcome: { errors?: OtaError[]; extra?: Node } = {}): string {
  const body: Node = rootAttributes(header);
  if (outcome.errors && outcome.errors.length > 0) {
    body.Errors = {
      Error: outcome.errors.map((error) => ({
        '@_Type': error.type,
        '@_Code': error.code,
        '@_ShortText': error.text.slice(0, 64),
        ...(error.recordId ? { '@_RecordID': error.recordId } : {}),
        '#text': error.text,
      })),
    };
  } else {
    body.Success = '';
  }
  Object.assign(body, outcome.extra ?? {});
  return document(root, body);
}

/** The acknowledgement of a queue: Success with the processed ids, or Errors naming each refused id. */
export function buildReservationAck(header: OtaHeader, queue: 'new' | 'modify', acks: readonly OtaAck[]): string {
  const root = queue === 'new' ? 'OTA_HotelResNotifRS' : 'OTA_HotelResModifyNotifRS';
  const listName = queue === 'new' ? 'HotelReservations' : 'HotelResModifies';
  const itemName = queue === 'new' ? 'HotelReservation' : 'HotelResModify';
  const errors = acks.filter((ack) => ack.error).map((ack) => ({ ...ack.error!, recordId: ack.resId }));
  const processed = acks.filter((ack) => !ack.error);
  return buildResponse(root, header, {
    errors,
    extra:
      processed.length > 0
        ? { [listName]: { [itemName]: processed.map((ack) => ({ ResGlobalInfo: { HotelReservationIDs: { HotelReservationID: [{ '@_ResID_Value': ack.resId }] } } })) } }
        : undefined,
  });
}
