// Airbnb's calendar sync, as hosts without a channel manager's API access use it: a listing exports
// its reservations as an iCal feed (`/calendar/ical/<listing>.ics?s=<secret>`, the secret in the
// query as on airbnb.com), and imports other calendars by URL — every event in an imported calendar
// blocks its nights. Airbnb re-reads imported calendars every few hours; here a control call does it
// at once. Exported: Airbnb's own reservations only, never what it imported (that would echo).
import { randomToken } from '../shared/ids';
import { addDays, isIsoDate, nightsOf } from '../shared/dates';
import ICAL from 'ical.js';
import ical from 'ical-generator';
import { AirbnbError, type AirbnbSandbox } from './sandbox';


/** An imported event's nights: all-day dates as they are; a date-time by its UTC date, as Airbnb reads them. */
function nightsOfEvent(event: ICAL.Component): string[] {
  const start = event.getFirstPropertyValue('dtstart');
  if (!(start instanceof ICAL.Time)) throw new AirbnbError(422, 'invalid_calendar', 'an event has no DTSTART');
  const end = event.getFirstPropertyValue('dtend');
  const day = (time: ICAL.Time) => (time.isDate ? time.toString().slice(0, 10) : time.convertToZone(ICAL.Timezone.utcTimezone).toString().slice(0, 10));
  const from = day(start);
  const to = end instanceof ICAL.Time ? day(end) : addDays(from, 1);
  if (!isIsoDate(from) || !isIsoDate(to)) throw new AirbnbError(422, 'invalid_calendar', `an event has an invalid date (${from} → ${to})`);
  return nightsOf(from, to > from ? to : addDays(from, 1));
}

export class AirbnbIcalCalendars {
  counts = { exports: 0, importSyncs: 0 };

  // The secrets and imports live in the sandbox's state, so they are saved with it across restarts.
  constructor(private readonly sandbox: AirbnbSandbox) {}

  get #secrets() {
    return this.sandbox.ical.exportSecrets;
  }

  get #imports() {
    return this.sandbox.ical.imports;
  }

  /** The secret of a listing's export URL (made on first use, as Airbnb shows "Export calendar"). */
  exportSecret(listingId: string): string {
    let secret = this.#secrets.get(listingId);
    if (!secret) {
      secret = randomToken(32);
      this.#secrets.set(listingId, secret);
    }
    return secret;
  }

  /** The listing's reservations as an iCal feed; undefined when the secret is not the listing's. */
  exportFeed(listingId: string, secret: string | undefined): string | undefined {
    if (!secret || this.#secrets.get(listingId) !== secret) return undefined;
    this.counts.exports += 1;
    const calendar = ical({ prodId: { company: 'Airbnb Inc', product: 'Hosting Calendar', language: 'EN' }, name: 'Airbnb calendar' });
    for (const reservation of this.sandbox.reservations()) {
      if (reservation.listing_id !== listingId || reservation.status.startsWith('cancelled')) continue;
      calendar.createEvent({
        id: `${reservation.confirmation_code.toLowerCase()}@airbnb.com`,
        start: new Date(`${reservation.start_date}T00:00:00Z`),
        end: new Date(`${reservation.end_date}T00:00:00Z`),
        allDay: true,
        summary: 'Reserved',
        description: `Reservation URL: https://www.airbnb.com/hosting/reservations/details/${reservation.confirmation_code}`,
      });
    }
    return calendar.toString();
  }

  setImport(listingId: string, url: string): void {
    const existing = this.#imports.get(listingId);
    this.#imports.set(listingId, { url, blocked: existing?.blocked ?? new Map() });
  }

  importState(listingId: string) {
    const entry = this.#imports.get(listingId);
    return entry ? { url: entry.url, lastSyncAt: entry.lastSyncAt, lastError: entry.lastError, blockedNights: [...entry.blocked.keys()].sort() } : undefined;
  }

  /** Reads the imported calendar now: its events' nights are blocked, nights no event covers any more are open again. */
  async syncImport(listingId: string): Promise<{ events: number; blockedNights: string[] }> {
    const entry = this.#imports.get(listingId);
    if (!entry) throw new AirbnbError(404, 'not_found', `listing ${listingId} imports no calendar`);
    this.counts.importSyncs += 1;
    let wanted: Set<string>;
    let events: number;
    try {
      const response = await fetch(entry.url, { signal: AbortSignal.timeout(15_000) });
      if (!response.ok) throw new AirbnbError(502, 'calendar_unreachable', `the calendar answered HTTP ${response.status}`);
      const root = new ICAL.Component(ICAL.parse(await response.text()) as unknown[]);
      const vevents = root.getAllSubcomponents('vevent');
      events = vevents.length;
      wanted = new Set(vevents.flatMap(nightsOfEvent));
    } catch (err) {
      entry.lastError = err instanceof Error ? err.message : String(err);
      throw err instanceof AirbnbError ? err : new AirbnbError(422, 'invalid_calendar', entry.lastError);
    }
    for (const [date, before] of entry.blocked) {
      if (wanted.has(date)) continue;
      this.sandbox.setAvailability(listingId, date, date, before);
      entry.blocked.delete(date);
    }
    for (const date of wanted) {
      if (entry.blocked.has(date)) continue;
      const [night] = this.sandbox.calendar(listingId, date, date);
      entry.blocked.set(date, night?.availability === 'available' ? night.available_count : 0);
      this.sandbox.setAvailability(listingId, date, date, 0);
    }
    entry.lastSyncAt = new Date().toISOString();
    entry.lastError = undefined;
    return { events, blockedNights: [...entry.blocked.keys()].sort() };
  }
}
