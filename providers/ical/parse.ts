// An OTA's iCal export (RFC 5545), read with ical.js, as the stays it blocks: one per VEVENT, keyed by
// its UID, in the property's own dates. A feed with one event Skerry cannot read is refused whole: a
// half-read calendar would release the nights of the events it skipped.
//
// Dates as RFC 5545 says (3.3.4, 3.3.5, 3.6.1): an all-day DTSTART;VALUE=DATE with an exclusive
// DTEND (or DURATION; neither: one day); a DATE-TIME in UTC (`Z`) or with a TZID (the VTIMEZONE the
// file carries, else the IANA zone of that name) is converted to the property's time zone; a floating
// DATE-TIME is already the property's local time. An unknown TZID is an error, never a guess.
import ICAL from 'ical.js';
import { addDays } from '../../domain/dates';

export type IcalFeedErrorCode = 'malformed' | 'missing_uid' | 'bad_date' | 'unknown_timezone' | 'unsupported' | 'too_large' | 'http' | 'forbidden_url' | 'too_many_redirects';

export class IcalFeedError extends Error {
  override readonly name = 'IcalFeedError';
  constructor(
    readonly code: IcalFeedErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A VEVENT as the nights it blocks: check-in and exclusive check-out, in the property's dates. */
export interface IcalStay {
  uid: string;
  checkIn: string;
  checkOut: string;
}

/** UIDs are arbitrary text; anything longer than this is not an OTA's. */
const MAX_UID_LENGTH = 1_000;

const dateFormatters = new Map<string, Intl.DateTimeFormat>();
function localDateFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = dateFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    dateFormatters.set(timeZone, formatter);
  }
  return formatter;
}

export function isKnownTimeZone(timeZone: string): boolean {
  try {
    localDateFormatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function wallClock(utcMs: number, timeZone: string): { date: string; asUtcMs: number } {
  const parts = Object.fromEntries(localDateFormatter(timeZone).formatToParts(new Date(utcMs)).map((part) => [part.type, part.value]));
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return { date, asUtcMs: Date.parse(`${date}T${parts.hour}:${parts.minute}:${parts.second}Z`) };
}

/** The UTC instant of a wall-clock time in an IANA zone (a time in a DST gap moves forward, as RFC 5545 3.3.5 says). */
export function zonedWallTimeToUtc(wall: { year: number; month: number; day: number; hour: number; minute: number; second: number }, timeZone: string): number {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  let guess = asUtc;
  for (let i = 0; i < 3; i += 1) guess = asUtc - (wallClock(guess, timeZone).asUtcMs - guess);
  return guess;
}

/** The property's local date of a UTC instant. */
export function localDate(utcMs: number, timeZone: string): string {
  return wallClock(utcMs, timeZone).date;
}

function isoDate(time: ICAL.Time): string {
  return `${String(time.year).padStart(4, '0')}-${String(time.month).padStart(2, '0')}-${String(time.day).padStart(2, '0')}`;
}

/** The property's date of a DTSTART/DTEND value. */
function propertyDate(property: ICAL.Property, time: ICAL.Time, zones: ReadonlyMap<string, ICAL.Timezone>, propertyTimeZone: string, uid: string): string {
  if (time.isDate) return isoDate(time);
  const tzid = property.getParameter('tzid') as string | undefined;
  if (tzid) {
    const zone = zones.get(tzid);
    if (zone) {
      const zoned = time.clone();
      zoned.zone = zone;
      return localDate(zoned.toUnixTime() * 1000, propertyTimeZone);
    }
    if (!isKnownTimeZone(tzid)) {
      throw new IcalFeedError('unknown_timezone', `event ${uid}: ${property.name.toUpperCase()} has TZID=${tzid}, which is neither a VTIMEZONE in the file nor a known time zone`);
    }
    return localDate(zonedWallTimeToUtc(time, tzid), propertyTimeZone);
  }
  if (time.zone === ICAL.Timezone.utcTimezone) return localDate(Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second), propertyTimeZone);
  // Floating: the property's local time already.
  return isoDate(time);
}

/** ical.js rolls an impossible date (2027-02-30) over into the next month; the raw value tells. */
function checkDateValue(property: ICAL.Property, time: ICAL.Time, uid: string): void {
  const raw = String((property.toJSON() as unknown[])[3] ?? '');
  const wanted = raw.slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || wanted !== isoDate(time) || (!time.isDate && (time.hour > 23 || time.minute > 59 || time.second > 60))) {
    throw new IcalFeedError('bad_date', `event ${uid}: ${property.name.toUpperCase()} ${raw || '(empty)'} is not a valid date`);
  }
}

function dateProperty(event: ICAL.Component, name: 'dtstart' | 'dtend', uid: string): { property: ICAL.Property; time: ICAL.Time } | undefined {
  const property = event.getFirstProperty(name);
  if (!property) return undefined;
  const time = property.getFirstValue();
  if (!(time instanceof ICAL.Time)) throw new IcalFeedError('bad_date', `event ${uid}: ${name.toUpperCase()} is not a date`);
  checkDateValue(property, time, uid);
  return { property, time };
}

/**
 * The stays of a feed. Cancelled events (STATUS:CANCELLED) block nothing and are left out; every
 * other VEVENT needs a UID, a valid DTSTART and an end after it, or the whole feed is refused.
 */
export function parseIcalFeed(text: string, propertyTimeZone: string): IcalStay[] {
  let root: ICAL.Component;
  try {
    root = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch (err) {
    throw new IcalFeedError('malformed', `not an iCalendar file: ${(err as Error).message}`);
  }
  if (root.name !== 'vcalendar') throw new IcalFeedError('malformed', `not an iCalendar file: the top component is ${root.name.toUpperCase()}, not VCALENDAR`);
  const zones = new Map<string, ICAL.Timezone>();
  for (const component of root.getAllSubcomponents('vtimezone')) {
    const tzid = component.getFirstPropertyValue('tzid');
    if (typeof tzid === 'string') zones.set(tzid, new ICAL.Timezone(component));
  }
  const stays: IcalStay[] = [];
  const seen = new Set<string>();
  root.getAllSubcomponents('vevent').forEach((event, index) => {
    const uidValue = event.getFirstPropertyValue('uid');
    const uid = typeof uidValue === 'string' ? uidValue.trim() : '';
    if (!uid) throw new IcalFeedError('missing_uid', `event #${index + 1} has no UID (RFC 5545 requires one; Skerry keys reservations by it)`);
    if (uid.length > MAX_UID_LENGTH) throw new IcalFeedError('malformed', `event #${index + 1}: UID longer than ${MAX_UID_LENGTH} characters`);
    if (event.hasProperty('rrule') || event.hasProperty('rdate')) throw new IcalFeedError('unsupported', `event ${uid}: recurring events (RRULE/RDATE) are not bookings`);
    const status = event.getFirstPropertyValue('status');
    if (typeof status === 'string' && status.toUpperCase() === 'CANCELLED') return;
    if (seen.has(uid)) {
      // RECURRENCE-ID overrides share their UID; an OTA's bookings never do.
      throw new IcalFeedError('unsupported', `event ${uid}: more than one VEVENT with this UID`);
    }
    seen.add(uid);

    const start = dateProperty(event, 'dtstart', uid);
    if (!start) throw new IcalFeedError('bad_date', `event ${uid}: no DTSTART`);
    const checkIn = propertyDate(start.property, start.time, zones, propertyTimeZone, uid);
    const end = dateProperty(event, 'dtend', uid);
    let checkOut: string;
    if (end) {
      if (end.time.isDate !== start.time.isDate) throw new IcalFeedError('bad_date', `event ${uid}: DTSTART and DTEND must both be dates or both date-times`);
      if (end.time.compare(start.time) < 0 && end.property.getParameter('tzid') === start.property.getParameter('tzid')) {
        throw new IcalFeedError('bad_date', `event ${uid}: DTEND ${isoDate(end.time)} is before DTSTART ${isoDate(start.time)}`);
      }
      checkOut = propertyDate(end.property, end.time, zones, propertyTimeZone, uid);
    } else {
      const duration = event.getFirstPropertyValue('duration');
      if (duration instanceof ICAL.Duration) {
        const until = start.time.clone();
        until.addDuration(duration);
        checkOut = propertyDate(start.property, until, zones, propertyTimeZone, uid);
      } else {
        checkOut = addDays(checkIn, 1);
      }
    }
    if (checkOut < checkIn) throw new IcalFeedError('bad_date', `event ${uid}: it ends (${checkOut}) before it starts (${checkIn})`);
    // A timed event inside one day still blocks that night.
    if (checkOut === checkIn) checkOut = addDays(checkIn, 1);
    stays.push({ uid, checkIn, checkOut });
  });
  return stays;
}
