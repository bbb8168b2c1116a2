// Booking.com's end of its OTA 2003B interface, written from Booking.com's connectivity documentation
// (developers.booking.com/connectivity/docs: ota-hotelavailnotif, ota-rateamountnotif, the
// reservations API pages and the api-reference element pages). It reads what a connectivity partner
// POSTs — OTA_HotelAvailNotifRQ (rooms to sell, stay limits, closures) and OTA_HotelRateAmountNotifRQ
// (prices) — writes the reservation queues it serves — OTA_HotelResNotifRQ (new) and
// OTA_HotelResModifyNotifRQ (modified, cancelled) — reads the RS that acknowledges them, and writes
// its own RS answers. It shares no code with Skerry's client on purpose: a misreading of the
// protocol on one side must show up as a failing test, not be repeated on the other.
import { randomBytes } from 'node:crypto';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

export const OTA_NAMESPACE = 'http://www.opentravel.org/OTA/2003/05';
const XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance';

/** OTA error codes (code list ERR) in Booking.com's answers, with the ShortText each carries. */
export const OTA_CODES = {
  invalidValue: { code: '320', shortText: 'Invalid value' },
  noAvailability: { code: '322', shortText: 'No availability' },
  invalidHotelCode: { code: '392', shortText: 'Invalid hotel code' },
  invalidRoomType: { code: '402', shortText: 'Invalid room type' },
  systemError: { code: '448', shortText: 'System error' },
  authorization: { code: '497', shortText: 'Authorization error' },
} as const;

/** OTA error types (code list EWT). */
export const OTA_ERROR_TYPES = { unknown: '1', businessRule: '3', authentication: '4', processing: '12' } as const;

/** One `<Error>` of an answer, or one the partner sent to refuse a reservation. */
export interface OtaFault {
  type: string;
  code: string;
  /** The element's text: what went wrong in this case. */
  text: string;
  /** A reservation id the error is about (OTA's RecordID). */
  recordId?: string;
}

/** A document that cannot be read as the message it claims to be (not XML, another root, no namespace). */
export class OtaUnreadable extends Error {
  override readonly name = 'OtaUnreadable';
}

// ─── Reading ─────────────────────────────────────────────────────────────────────────────────────

type Element = Record<string, unknown>;

// Entity processing stays off: no DOCTYPE entity can expand. The five predefined entities and
// character references are decoded by hand below.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  ignoreDeclaration: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  trimValues: true,
  // Every element as a list, so one AvailStatusMessage reads like many.
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_all, name: string) =>
    name.startsWith('#x') ? String.fromCodePoint(parseInt(name.slice(2), 16)) : name.startsWith('#') ? String.fromCodePoint(Number(name.slice(1))) : PREDEFINED[name]!,
  );
}

function children(element: Element | undefined, name: string): Element[] {
  const value = element?.[name];
  if (!Array.isArray(value)) return [];
  return value.map((child) => (child !== null && typeof child === 'object' ? (child as Element) : { '#text': String(child) }));
}

const child = (element: Element | undefined, name: string): Element | undefined => children(element, name)[0];
const attribute = (element: Element | undefined, name: string): string | undefined => {
  const value = element?.[`@${name}`];
  return value === undefined ? undefined : decode(String(value));
};
const textOf = (element: Element | undefined): string => decode(String(element?.['#text'] ?? ''));

/** Reads a document whose root must be one of `roots`. */
function readDocument(xml: string, roots: readonly string[]): { root: string; element: Element } {
  if (/<!DOCTYPE/i.test(xml)) throw new OtaUnreadable('DOCTYPE declarations are not accepted');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new OtaUnreadable(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const document = parser.parse(xml) as Element;
  const names = Object.keys(document);
  const root = names.find((name) => roots.includes(name));
  if (!root) throw new OtaUnreadable(`expected ${roots.join(' or ')}, got ${names.join(', ') || 'no element'}`);
  return { root, element: child(document, root)! };
}

/** The partner's request header: namespace, the Target it names, its EchoToken. */
function readHeader(root: string, element: Element): { target?: string; echoToken?: string } {
  if (attribute(element, 'xmlns') !== OTA_NAMESPACE) throw new OtaUnreadable(`${root}: the namespace must be ${OTA_NAMESPACE}`);
  return { target: attribute(element, 'Target'), echoToken: attribute(element, 'EchoToken') };
}

function wholeNumber(value: string | undefined, min: number): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const number = Number(value);
  return number >= min ? number : undefined;
}

/** StatusApplicationControl: the dates (Start and End both included) and the room, and maybe the rate. */
function readControl(message: Element, where: string, problems: string[]) {
  const control = child(message, 'StatusApplicationControl');
  if (!control) {
    problems.push(`${where}: StatusApplicationControl is required`);
    return undefined;
  }
  const start = attribute(control, 'Start');
  const end = attribute(control, 'End');
  const roomId = attribute(control, 'InvTypeCode');
  for (const [name, value] of [['Start', start], ['End', end], ['InvTypeCode', roomId]] as const) {
    if (!value) problems.push(`${where}/StatusApplicationControl: attribute ${name} is required`);
  }
  if (!start || !end || !roomId) return undefined;
  return { start, end, roomId, rateId: attribute(control, 'RatePlanCode') || undefined };
}

/** A restriction: stop sell for the whole stay (Master), or closed to arrival or departure. */
export interface Restriction {
  applies: 'stay' | 'arrival' | 'departure';
  open: boolean;
}

/** One AvailStatusMessage: rooms to sell per room; stay limits and restrictions per room-rate. */
export interface AvailStatus {
  start: string;
  end: string;
  roomId: string;
  rateId?: string;
  /** BookingLimit: rooms left to sell. */
  roomsToSell?: number;
  /** LengthOfStay SetMinLOS / SetMaxLOS, in nights. */
  minStay?: number;
  maxStay?: number;
  restriction?: Restriction;
}

/**
 * Reads an OTA_HotelAvailNotifRQ. Only a document that is not this message at all throws; what is
 * wrong inside one (a missing attribute, a value out of range) is listed in `problems`, as Booking.com
 * lists every error of a request in one answer. `hotelCode` is absent where the partner left out
 * AvailStatusMessages@HotelCode.
 */
export function readAvailNotif(xml: string): { hotelCode?: string; target?: string; echoToken?: string; messages: AvailStatus[]; problems: string[] } {
  const { root, element } = readDocument(xml, ['OTA_HotelAvailNotifRQ']);
  const header = readHeader(root, element);
  const problems: string[] = [];
  const container = child(element, 'AvailStatusMessages');
  if (!container) problems.push('AvailStatusMessages is required');
  const messages = children(container, 'AvailStatusMessage').flatMap((message, index): AvailStatus[] => {
    const where = `AvailStatusMessage[${index}]`;
    const control = readControl(message, where, problems);
    const limit = attribute(message, 'BookingLimit');
    const roomsToSell = limit === undefined ? undefined : wholeNumber(limit, 0);
    if (limit !== undefined && roomsToSell === undefined) problems.push(`${where}: BookingLimit must be a whole number, 0 or more`);
    const stay: { minStay?: number; maxStay?: number } = {};
    for (const length of children(child(message, 'LengthsOfStay'), 'LengthOfStay')) {
      const kind = attribute(length, 'MinMaxMessageType');
      const nights = wholeNumber(attribute(length, 'Time'), 0);
      if (nights === undefined) problems.push(`${where}/LengthOfStay: Time must be a whole number of nights`);
      else if (kind === 'SetMinLOS') stay.minStay = nights;
      else if (kind === 'SetMaxLOS') stay.maxStay = nights;
      else problems.push(`${where}/LengthOfStay: MinMaxMessageType ${kind ?? '(none)'} is not supported`);
    }
    let restriction: Restriction | undefined;
    const status = child(message, 'RestrictionStatus');
    if (status) {
      const open = attribute(status, 'Status');
      const kind = attribute(status, 'Restriction') ?? 'Master';
      const applies = ({ Master: 'stay', Arrival: 'arrival', Departure: 'departure' } as const)[kind as 'Master'];
      if (open !== 'Open' && open !== 'Close') problems.push(`${where}/RestrictionStatus: Status must be Open or Close`);
      else if (!applies) problems.push(`${where}/RestrictionStatus: Restriction ${kind} is not supported`);
      else restriction = { applies, open: open === 'Open' };
    }
    if (!control) return [];
    return [{ ...control, ...(roomsToSell !== undefined ? { roomsToSell } : {}), ...stay, ...(restriction ? { restriction } : {}) }];
  });
  return { hotelCode: attribute(container, 'HotelCode') || undefined, ...header, messages, problems };
}

/** Digits of a currency's minor unit (EUR 2, JPY 0, KWD 3). */
export function minorUnitDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * An OTA amount in the currency's minor units. With a decimal point it is the amount itself
 * ("38.00"); without one, DecimalPlaces says how many of its digits are decimals ("3800" with
 * DecimalPlaces 2 is 38.00), and no DecimalPlaces means a whole amount ("38").
 */
export function amountInMinorUnits(amount: string, currency: string, decimalPlaces?: string): number | undefined {
  const digits = minorUnitDigits(currency);
  if (/^\d+\.\d+$/.test(amount)) return Math.round(Number(amount) * 10 ** digits);
  if (!/^\d+$/.test(amount)) return undefined;
  const implied = decimalPlaces === undefined ? 0 : wholeNumber(decimalPlaces, 0);
  if (implied === undefined) return undefined;
  return Math.round(Number(amount) * 10 ** (digits - implied));
}

/** One BaseByGuestAmt: the price per night, for a number of guests when NumberOfGuests is given. */
export interface GuestPrice {
  amount: number;
  currency: string;
  guests?: number;
}

/** One RateAmountMessage: the prices of a room-rate on the dates Start to End. */
export interface RateAmount {
  start: string;
  end: string;
  roomId: string;
  rateId: string;
  prices: GuestPrice[];
}

/** Reads an OTA_HotelRateAmountNotifRQ; like readAvailNotif, lists what is wrong inside it in `problems`. */
export function readRateAmountNotif(xml: string): { hotelCode?: string; target?: string; echoToken?: string; messages: RateAmount[]; problems: string[] } {
  const { root, element } = readDocument(xml, ['OTA_HotelRateAmountNotifRQ']);
  const header = readHeader(root, element);
  const problems: string[] = [];
  const container = child(element, 'RateAmountMessages');
  if (!container) problems.push('RateAmountMessages is required');
  const messages = children(container, 'RateAmountMessage').flatMap((message, index): RateAmount[] => {
    const where = `RateAmountMessage[${index}]`;
    const control = readControl(message, where, problems);
    if (control && !control.rateId) problems.push(`${where}/StatusApplicationControl: attribute RatePlanCode is required`);
    const amounts = children(child(child(child(message, 'Rates'), 'Rate'), 'BaseByGuestAmts'), 'BaseByGuestAmt');
    if (amounts.length === 0) problems.push(`${where}: Rates/Rate/BaseByGuestAmts/BaseByGuestAmt is required`);
    const prices = amounts.flatMap((amount, at): GuestPrice[] => {
      const place = `${where}/BaseByGuestAmt[${at}]`;
      const currency = attribute(amount, 'CurrencyCode');
      const value = attribute(amount, 'AmountAfterTax');
      // Booking.com would fall back to the property's currency; the sandbox knows of none.
      if (!currency || !/^[A-Z]{3}$/.test(currency)) {
        problems.push(`${place}: CurrencyCode (ISO 4217) is required`);
        return [];
      }
      const minor = value === undefined ? undefined : amountInMinorUnits(value, currency, attribute(amount, 'DecimalPlaces'));
      if (minor === undefined) {
        problems.push(`${place}: AmountAfterTax must be an amount, 0 or more`);
        return [];
      }
      const guests = attribute(amount, 'NumberOfGuests');
      return [{ amount: minor, currency, ...(guests !== undefined ? { guests: Number(guests) } : {}) }];
    });
    if (!control?.rateId || prices.length === 0) return [];
    return [{ start: control.start, end: control.end, roomId: control.roomId, rateId: control.rateId, prices }];
  });
  return { hotelCode: attribute(container, 'HotelCode') || undefined, ...header, messages, problems };
}

/** What a partner's RS says of one reservation: processed, or refused with an error. */
export interface Acknowledgement {
  resId: string;
  refusal?: OtaFault;
}

/**
 * Reads the RS a partner POSTs to acknowledge queue messages: every HotelReservationID it lists was
 * processed, unless an `<Error>` names it (RecordID); an Error naming none refuses every listed id.
 */
export function readAcknowledgement(xml: string): { queue: 'new' | 'modify'; target?: string; acknowledgements: Acknowledgement[]; problems: string[] } {
  const { root, element } = readDocument(xml, ['OTA_HotelResNotifRS', 'OTA_HotelResModifyNotifRS']);
  const queue = root === 'OTA_HotelResNotifRS' ? 'new' : 'modify';
  const problems: string[] = [];
  const namespace = attribute(element, 'xmlns');
  if (namespace !== undefined && namespace !== OTA_NAMESPACE) problems.push(`${root}: the namespace must be ${OTA_NAMESPACE}`);
  const [listName, itemName] = queue === 'new' ? ['HotelReservations', 'HotelReservation'] : ['HotelResModifies', 'HotelResModify'];
  const listed = children(child(element, listName), itemName).flatMap((item) =>
    children(child(child(item, 'ResGlobalInfo'), 'HotelReservationIDs'), 'HotelReservationID').map((id) => attribute(id, 'ResID_Value')),
  );
  if (listed.some((id) => !id)) problems.push(`${itemName}/ResGlobalInfo/HotelReservationIDs/HotelReservationID: attribute ResID_Value is required`);
  const ids = [...new Set(listed.filter((id): id is string => Boolean(id)))];
  const errors = children(child(element, 'Errors'), 'Error').map(
    (error): OtaFault => ({
      type: attribute(error, 'Type') ?? OTA_ERROR_TYPES.unknown,
      code: attribute(error, 'Code') ?? '',
      text: textOf(error) || attribute(error, 'ShortText') || '',
      recordId: attribute(error, 'RecordID'),
    }),
  );
  const succeeded = child(element, 'Success') !== undefined;
  if (!succeeded && errors.length === 0) problems.push(`${root}: Success or Errors is required`);
  if (ids.length === 0 && !errors.some((error) => error.recordId)) problems.push(`${root}: no HotelReservationID to acknowledge`);
  const refusals = new Map<string, OtaFault>();
  for (const error of errors) {
    if (error.recordId) refusals.set(error.recordId, error);
    else if (!succeeded) for (const id of ids) if (!refusals.has(id)) refusals.set(id, error);
  }
  const acknowledgements: Acknowledgement[] = [...new Set([...ids, ...refusals.keys()])].map((resId) =>
    refusals.has(resId) ? { resId, refusal: refusals.get(resId)! } : { resId },
  );
  return { queue, target: attribute(element, 'Target'), acknowledgements, problems };
}

// ─── Writing ─────────────────────────────────────────────────────────────────────────────────────

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, suppressEmptyNode: true });

/** Booking.com's timestamps: `2018-08-17T07:47:43+00:00`. */
export function otaTimeStamp(at: Date): string {
  return `${at.toISOString().slice(0, 19)}+00:00`;
}

/** Every Booking.com answer ends with an RUID in a comment, the id its support asks for. */
function withRuid(body: string): string {
  return `${body}<!-- RUID: [${randomBytes(24).toString('base64')}] -->\n`;
}

function writeDocument(root: string, content: Element): string {
  return withRuid(builder.build({ '?xml': { '@version': '1.0', '@encoding': 'UTF-8' }, [root]: content }) as string);
}

/** Turns an OTA fault into its `<Error>`: Type, Code, ShortText (the kind), RecordID, the details as text. */
function errorElement(fault: OtaFault): Element {
  const known = Object.values(OTA_CODES).find((entry) => entry.code === fault.code);
  return {
    '@Type': fault.type,
    '@Code': fault.code,
    '@ShortText': known?.shortText ?? fault.text.slice(0, 64),
    ...(fault.recordId ? { '@RecordID': fault.recordId } : {}),
    '#text': fault.text,
  };
}

/** An RS answer: `<Success/>`, or `<Errors>` with one `<Error>` per fault. */
export function writeAnswer(root: string, faults: readonly OtaFault[], options: { at: Date; echoToken?: string }): string {
  return writeDocument(root, {
    '@xmlns': OTA_NAMESPACE,
    ...(options.echoToken ? { '@EchoToken': options.echoToken } : {}),
    '@TimeStamp': otaTimeStamp(options.at),
    '@Target': 'Production',
    '@Version': '2.001',
    ...(faults.length === 0 ? { Success: '' } : { Errors: { Error: faults.map(errorElement) } }),
  });
}

/** What Booking.com knows of any reservation: where, when, how many rooms, for how much (minor units). */
export interface ReservationCore {
  resId: string;
  hotelId: string;
  roomId: string;
  rateId?: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  /** ISO 8601 instants. */
  createdAt: string;
  lastModifiedAt: string;
  /** The whole reservation: every room, every night. */
  total?: { amount: number; currency: string };
  /** Each night of one room, with its price (in the total's currency) where it is known. */
  nights: ReadonlyArray<{ date: string; price?: number }>;
}

/** A reservation as the queues serve it. */
export interface QueuedReservation extends ReservationCore {
  status: 'booked' | 'modified' | 'cancelled';
  guest: { givenName: string; surname: string };
}

/** Booking.com's commission on a stay; properties contract their own, 15% is a common one. */
const COMMISSION_RATE = 0.15;

function decimalAmount(minor: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  return (minor / 10 ** digits).toFixed(digits);
}

/** `{ Total: … }` with the amount as a decimal in its currency, or nothing when the amount is unknown. */
const total = (minor: number | undefined, currency: string | undefined): Element =>
  minor === undefined || currency === undefined ? {} : { Total: { '@AmountAfterTax': decimalAmount(minor, currency), '@CurrencyCode': currency } };

/**
 * A HotelReservation (or HotelResModify) with the elements Booking.com's api-reference lists:
 * RoomStays with one RoomStay per room (IndexNumber, RoomTypes, RatePlans, RoomRates with a RoomRate
 * per night, GuestCounts, Total, BasicPropertyInfo, ResGuestRPHs), Services, ResGuests and ResGlobalInfo
 * (Total, HotelReservationIDs). Booking.com's pages show no ResStatus, CreateDateTime or
 * LastModifyDateTime attribute and no RoomStay/TimeSpan; Skerry's client needs them to tell a
 * modification from a cancellation and to read the stay, so the sandbox adds them as the OTA schema
 * defines them.
 */
function reservationElement(reservation: QueuedReservation, queue: 'new' | 'modify'): Element {
  const currency = reservation.total?.currency;
  const priced = reservation.nights.every((night) => night.price !== undefined) && currency !== undefined;
  const roomTotal = priced ? reservation.nights.reduce((sum, night) => sum + night.price!, 0) : undefined;
  const stays = Array.from({ length: reservation.rooms }, (_, room) => ({
    '@IndexNumber': room + 1,
    RoomTypes: { RoomType: { '@RoomTypeCode': reservation.roomId } },
    // In a reservation, RatePlan only carries Booking.com's commission: an integer Amount with DecimalPlaces.
    ...(roomTotal === undefined || currency === undefined
      ? {}
      : {
          RatePlans: {
            RatePlan: {
              Commission: {
                CommissionPayableAmount: { '@Amount': Math.round(roomTotal * COMMISSION_RATE), '@CurrencyCode': currency, '@DecimalPlaces': minorUnitDigits(currency) },
              },
            },
          },
        }),
    RoomRates: {
      RoomRate: reservation.nights.map((night) => ({
        '@EffectiveDate': night.date,
        ...(reservation.rateId ? { '@RatePlanCode': reservation.rateId } : {}),
        Rates: { Rate: total(night.price, currency) },
      })),
    },
    GuestCounts: { GuestCount: { '@Count': 1 } },
    ...total(roomTotal, currency),
    BasicPropertyInfo: { '@HotelCode': reservation.hotelId },
    ResGuestRPHs: { ResGuestRPH: { '@RPH': 1 } },
    TimeSpan: { '@Start': reservation.checkIn, '@End': reservation.checkOut },
  }));
  const resStatus = queue === 'new' ? 'Book' : reservation.status === 'cancelled' ? 'Cancel' : 'Modify';
  return {
    '@ResStatus': resStatus,
    '@CreateDateTime': reservation.createdAt,
    '@LastModifyDateTime': reservation.lastModifiedAt,
    RoomStays: { RoomStay: stays },
    Services: '',
    ResGuests: {
      ResGuest: {
        '@ResGuestRPH': 1,
        Profiles: { ProfileInfo: { Profile: { Customer: { PersonName: { GivenName: reservation.guest.givenName, Surname: reservation.guest.surname } } } } },
      },
    },
    ResGlobalInfo: {
      ...total(reservation.total?.amount, currency),
      // ResID_Date without a zone, as Booking.com documents it (YYYY-MM-DDTHH:MM:SS).
      HotelReservationIDs: { HotelReservationID: { '@ResID_Value': reservation.resId, '@ResID_Date': reservation.createdAt.slice(0, 19) } },
    },
  };
}

/** A GET of a queue: OTA_HotelResNotifRQ (new) or OTA_HotelResModifyNotifRQ (modified and cancelled). */
export function writeReservationQueue(queue: 'new' | 'modify', reservations: readonly QueuedReservation[], at: Date): string {
  const root = queue === 'new' ? 'OTA_HotelResNotifRQ' : 'OTA_HotelResModifyNotifRQ';
  const list = queue === 'new' ? { HotelReservations: { HotelReservation: reservations.map((r) => reservationElement(r, queue)) } } : { HotelResModifies: { HotelResModify: reservations.map((r) => reservationElement(r, queue)) } };
  return writeDocument(root, {
    '@xmlns': OTA_NAMESPACE,
    '@xmlns:xsi': XSI_NAMESPACE,
    '@xsi:schemaLocation': `${OTA_NAMESPACE} ${root}.xsd`,
    '@TimeStamp': otaTimeStamp(at),
    '@Target': 'Production',
    '@Version': '2.001',
    ...list,
  });
}
