// A stateful Channex for a property management system: properties with room types and rate plans,
// the ARI a PMS pushes (availability per room type, rate and restrictions per rate plan), the
// documented per-property limits (10 availability + 10 restriction/price requests per minute, then
// 429), guests' bookings on the OTAs Channex connects as booking revisions in a feed that serves each
// revision until it is acknowledged, and webhooks sent with the headers the webhook was configured with.
import { FaultInjector, FaultSettingsSchema, type FaultSettings } from '../shared/faults';
import { newId, randomToken } from '../shared/ids';
import { channelSandboxEvents } from '../shared/events';
import { WebhookQueue, type WebhookDeliveryOptions, type WebhookQueueLogger } from '../shared/webhook-queue';
import { datesThrough, isIsoDate, nightsOf } from '../shared/dates';
import { mapEntries, refill } from '../shared/persistence';
import { SandboxUpkeep } from '../shared/upkeep';
import {
  RESTRICTION_FIELDS,
  WEBHOOK_EVENTS,
  type AvailabilityValue,
  type BookingRevision,
  type RestrictionState,
  type RestrictionValue,
  type RevisionStatus,
  type Webhook,
  type WebhookEvent,
} from './api';

/** The API key Skerry's development configuration uses (a test checks the two agree). */
export const CHANNEX_DEVELOPMENT_ACCOUNT = { apiKey: 'skerry-sandbox-channex-api-key' } as const;

export interface ChannexSandboxOptions {
  apiKey: string;
  /** Channex's window is a minute; tests shorten it (the limit per window stays 10 + 10). */
  rateWindowSeconds?: number;
  requestsPerWindow?: number;
  webhooks?: WebhookDeliveryOptions;
  logger?: WebhookQueueLogger;
  seed?: number;
}

export class ChannexError extends Error {
  override readonly name = 'ChannexError';
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {
    super(JSON.stringify(body));
  }
}

export type AriKind = 'availability' | 'restrictions';

/** One API request as the sandbox saw it: what the rate-limit test reads. */
export interface RequestLogEntry {
  at: string;
  atMs: number;
  method: string;
  path: string;
  kind?: AriKind;
  propertyIds: string[];
  status: number;
  values?: number;
  /** The room types (availability) or rate plans (restrictions) the request's values named. */
  targets?: string[];
}

interface Property {
  id: string;
  title: string;
  currency: string;
}
interface RoomType {
  id: string;
  property_id: string;
  title: string;
  count_of_rooms: number;
}
interface RatePlan {
  id: string;
  property_id: string;
  room_type_id: string;
  title: string;
}
interface StoredRevision {
  revision: BookingRevision;
  acked: boolean;
  ackedAt?: string;
}

const REQUEST_LOG_LIMIT = 50_000;

export class ChannexSandbox {
  readonly faults: FaultInjector<FaultSettings>;
  readonly webhooks: WebhookQueue;
  readonly upkeep: SandboxUpkeep;
  readonly events = channelSandboxEvents();
  readonly options: ChannexSandboxOptions;
  rateWindowSeconds: number;
  /** Faults reach only API paths matching this (a test failing acknowledgements alone); undefined: every API path. */
  faultScope: RegExp | undefined;
  readonly #properties = new Map<string, Property>();
  readonly #roomTypes = new Map<string, RoomType>();
  readonly #ratePlans = new Map<string, RatePlan>();
  /** `<room type>|<date>` → availability. */
  readonly #availability = new Map<string, number>();
  /** `<rate plan>|<date>` → rate and restrictions. */
  readonly #restrictions = new Map<string, RestrictionState>();
  readonly #revisions = new Map<string, StoredRevision>();
  /** booking id → its latest revision id. */
  readonly #bookings = new Map<string, string>();
  readonly #webhooks = new Map<string, Webhook>();
  #requestLog: RequestLogEntry[] = [];
  /** `<kind>|<property>` → times of accepted requests in the current window (not persisted: a restart forgets, as a limiter does). */
  readonly #windows = new Map<string, number[]>();

  constructor(options: ChannexSandboxOptions) {
    this.options = options;
    this.rateWindowSeconds = options.rateWindowSeconds ?? 60;
    this.faults = new FaultInjector({ schema: FaultSettingsSchema, seed: options.seed });
    this.webhooks = new WebhookQueue({ ...options.webhooks, faults: this.faults, logger: options.logger });
    this.upkeep = new SandboxUpkeep({ faults: this.faults, webhooks: this.webhooks });
  }

  authenticate(key: string | string[] | undefined): void {
    const given = Array.isArray(key) ? key[0] : key;
    if (!given || given !== this.options.apiKey) throw new ChannexError(401, { errors: { code: 'unauthorized', title: 'Unauthorized' } });
  }

  log(entry: Omit<RequestLogEntry, 'at' | 'atMs'>): void {
    const atMs = Date.now();
    this.#requestLog.push({ at: new Date(atMs).toISOString(), atMs, ...entry });
    if (this.#requestLog.length > REQUEST_LOG_LIMIT) this.#requestLog = this.#requestLog.slice(-REQUEST_LOG_LIMIT);
  }

  requestLog(sinceMs = 0): RequestLogEntry[] {
    return this.#requestLog.filter((entry) => entry.atMs >= sinceMs);
  }

  /** Takes one request of `kind` for each property, or throws the documented 429 when any is over its limit. */
  admit(kind: AriKind, propertyIds: readonly string[]): void {
    const now = Date.now();
    const windowMs = this.rateWindowSeconds * 1000;
    const limit = this.options.requestsPerWindow ?? 10;
    const windows = propertyIds.map((id) => {
      const key = `${kind}|${id}`;
      const recent = (this.#windows.get(key) ?? []).filter((at) => at > now - windowMs);
      this.#windows.set(key, recent);
      return recent;
    });
    if (windows.some((recent) => recent.length >= limit)) throw new ChannexError(429, { errors: { code: 'http_too_many_requests', title: 'Too Many Requests' } });
    for (const recent of windows) recent.push(now);
  }

  // ─── Properties (the Channex UI, here a control) ─────────────────────────────────────────────
  createProperty(input: { title: string; currency: string; roomTypes: Array<{ title: string; count: number }> }) {
    const property: Property = { id: crypto.randomUUID(), title: input.title, currency: input.currency };
    this.#properties.set(property.id, property);
    const roomTypes = input.roomTypes.map((room) => {
      const roomType: RoomType = { id: crypto.randomUUID(), property_id: property.id, title: room.title, count_of_rooms: room.count };
      this.#roomTypes.set(roomType.id, roomType);
      const ratePlan: RatePlan = { id: crypto.randomUUID(), property_id: property.id, room_type_id: roomType.id, title: `${room.title} BAR` };
      this.#ratePlans.set(ratePlan.id, ratePlan);
      return { id: roomType.id, title: roomType.title, ratePlanId: ratePlan.id };
    });
    return { id: property.id, title: property.title, currency: property.currency, roomTypes };
  }

  // ─── ARI ─────────────────────────────────────────────────────────────────────────────────────
  #dates(value: { date?: string; date_from?: string; date_to?: string }): string[] | string {
    if (value.date !== undefined && (value.date_from !== undefined || value.date_to !== undefined)) return 'date and date_from/date_to are mutually exclusive';
    if (value.date !== undefined) return isIsoDate(value.date) ? [value.date] : 'date must be YYYY-MM-DD';
    if (!value.date_from || !value.date_to) return 'date or date_from and date_to are required';
    if (!isIsoDate(value.date_from) || !isIsoDate(value.date_to)) return 'date_from and date_to must be YYYY-MM-DD';
    if (value.date_to < value.date_from) return 'date_to must not be before date_from';
    return datesThrough(value.date_from, value.date_to);
  }

  /** Applies availability values; an invalid one is refused alone and reported as a warning (200 all the same). */
  updateAvailability(values: readonly AvailabilityValue[]): { warnings: unknown[] } {
    const warnings: unknown[] = [];
    values.forEach((value, index) => {
      const roomType = this.#roomTypes.get(value.room_type_id);
      const dates = this.#dates(value);
      const refuse = (reason: string) => warnings.push({ index, room_type_id: value.room_type_id, warning: reason });
      if (!this.#properties.has(value.property_id)) return refuse('property_id: not found');
      if (!roomType || roomType.property_id !== value.property_id) return refuse('room_type_id: not found in this property');
      if (typeof dates === 'string') return refuse(dates);
      if (!Number.isInteger(value.availability) || value.availability < 0) return refuse('availability: must be a non-negative integer');
      for (const date of dates) this.#availability.set(`${roomType.id}|${date}`, value.availability);
      this.events.emit('calendar', { listing: `${value.property_id}/${roomType.id}`, dates, atMs: Date.now() });
    });
    return { warnings };
  }

  updateRestrictions(values: readonly RestrictionValue[]): { warnings: unknown[] } {
    const warnings: unknown[] = [];
    values.forEach((value, index) => {
      const ratePlan = this.#ratePlans.get(value.rate_plan_id);
      const dates = this.#dates(value);
      const refuse = (reason: string) => warnings.push({ index, rate_plan_id: value.rate_plan_id, warning: reason });
      if (!this.#properties.has(value.property_id)) return refuse('property_id: not found');
      if (!ratePlan || ratePlan.property_id !== value.property_id) return refuse('rate_plan_id: not found in this property');
      if (typeof dates === 'string') return refuse(dates);
      const change: RestrictionState = {};
      if (value.rate !== undefined) {
        const rate = typeof value.rate === 'number' ? (value.rate / 100).toFixed(2) : value.rate;
        if (!/^\d+(\.\d{1,2})?$/.test(rate)) return refuse('rate: must be a decimal amount');
        change.rate = Number(rate).toFixed(2);
      }
      const minStay = value.min_stay_arrival ?? value.min_stay;
      for (const [field, given] of [['min_stay_arrival', minStay], ['min_stay_through', value.min_stay_through], ['max_stay', value.max_stay]] as const) {
        if (given === undefined) continue;
        if (!Number.isInteger(given) || given < 0) return refuse(`${field}: must be a non-negative integer`);
        change[field] = given;
      }
      for (const field of ['closed_to_arrival', 'closed_to_departure', 'stop_sell'] as const) {
        const given = value[field];
        if (given === undefined) continue;
        if (typeof given !== 'boolean') return refuse(`${field}: must be true or false`);
        change[field] = given;
      }
      if (Object.keys(change).length === 0) return refuse(`nothing to change: give one of ${RESTRICTION_FIELDS.join(', ')}`);
      for (const date of dates) {
        const key = `${ratePlan.id}|${date}`;
        this.#restrictions.set(key, { ...this.#restrictions.get(key), ...change });
      }
    });
    return { warnings };
  }

  availability(propertyId: string, from: string, to: string): Record<string, Record<string, number>> {
    const result: Record<string, Record<string, number>> = {};
    for (const roomType of this.#roomTypes.values()) {
      if (roomType.property_id !== propertyId) continue;
      const days: Record<string, number> = {};
      for (const date of datesThrough(from, to)) days[date] = this.#availability.get(`${roomType.id}|${date}`) ?? 0;
      result[roomType.id] = days;
    }
    return result;
  }

  restrictions(propertyId: string, from: string, to: string): Record<string, Record<string, RestrictionState>> {
    const result: Record<string, Record<string, RestrictionState>> = {};
    for (const ratePlan of this.#ratePlans.values()) {
      if (ratePlan.property_id !== propertyId) continue;
      const days: Record<string, RestrictionState> = {};
      for (const date of datesThrough(from, to)) days[date] = this.#restrictions.get(`${ratePlan.id}|${date}`) ?? {};
      result[ratePlan.id] = days;
    }
    return result;
  }

  // ─── Bookings: revisions and the feed ──────────────────────────────────────────────────────────
  /** Unacknowledged revisions, oldest first (each is served until it is acknowledged). */
  feed(propertyId?: string): BookingRevision[] {
    const pending = [...this.#revisions.values()]
      .filter((stored) => !stored.acked && (!propertyId || stored.revision.property_id === propertyId))
      .map((stored) => stored.revision);
    for (const revision of pending) this.events.emit('retrieved', { reservationId: revision.id, atMs: Date.now() });
    return pending;
  }

  ack(revisionId: string): void {
    const stored = this.#revisions.get(revisionId);
    if (!stored) throw new ChannexError(404, { errors: { code: 'resource_not_found', title: 'Resource Not Found' } });
    if (!stored.acked) Object.assign(stored, { acked: true, ackedAt: new Date().toISOString() });
  }

  revisions(): Array<BookingRevision & { acked: boolean; acked_at?: string }> {
    return [...this.#revisions.values()].map((stored) => ({ ...stored.revision, acked: stored.acked, acked_at: stored.ackedAt }));
  }

  /** The latest revision of each booking, newest first (`GET /api/v1/bookings`). */
  bookings(propertyId?: string): BookingRevision[] {
    return [...this.#bookings.values()]
      .map((revisionId) => this.#revisions.get(revisionId)!.revision)
      .filter((revision) => !propertyId || revision.property_id === propertyId)
      .reverse();
  }

  /** A guest books on an OTA Channex is connected to; the OTA sells what Channex last said is available. */
  guestBooking(input: { ratePlanId: string; arrivalDate: string; departureDate: string; otaName?: string; guestName?: string; force?: boolean }): BookingRevision {
    const ratePlan = this.#ratePlans.get(input.ratePlanId);
    if (!ratePlan) throw new ChannexError(404, { errors: { code: 'resource_not_found', title: 'Resource Not Found', details: 'rate plan' } });
    const nights = this.#sellable(ratePlan, input.arrivalDate, input.departureDate, input.force, undefined);
    const otaName = input.otaName ?? 'Booking.com';
    const code = randomToken(10, '0123456789');
    const [name = 'Guest', ...rest] = (input.guestName ?? 'Sandbox Guest').split(' ');
    return this.#revise(newIdFor('booking'), 'new', {
      ratePlan,
      otaName,
      code,
      nights,
      arrival: input.arrivalDate,
      departure: input.departureDate,
      customer: { name, surname: rest.join(' '), mail: `guest-${code}@guest.booking.invalid` },
    });
  }

  modifyBooking(bookingId: string, input: { arrivalDate?: string; departureDate?: string; force?: boolean }): BookingRevision {
    const latest = this.#latest(bookingId);
    if (latest.status === 'cancelled') throw new ChannexError(422, { errors: { code: 'validation_error', title: 'Validation Error', details: 'booking is cancelled' } });
    const room = latest.rooms[0]!;
    const ratePlan = this.#ratePlans.get(room.rate_plan_id)!;
    const arrival = input.arrivalDate ?? latest.arrival_date;
    const departure = input.departureDate ?? latest.departure_date;
    const nights = this.#sellable(ratePlan, arrival, departure, input.force, new Set(nightsOf(latest.arrival_date, latest.departure_date)));
    return this.#revise(bookingId, 'modified', { ratePlan, otaName: latest.ota_name, code: latest.ota_reservation_code, nights, arrival, departure, customer: latest.customer });
  }

  cancelBooking(bookingId: string): BookingRevision {
    const latest = this.#latest(bookingId);
    if (latest.status === 'cancelled') return latest;
    const room = latest.rooms[0]!;
    const ratePlan = this.#ratePlans.get(room.rate_plan_id)!;
    const nights = Object.entries(room.days).map(([date, rate]) => ({ date, rate }));
    return this.#revise(bookingId, 'cancelled', {
      ratePlan,
      otaName: latest.ota_name,
      code: latest.ota_reservation_code,
      nights,
      arrival: latest.arrival_date,
      departure: latest.departure_date,
      customer: latest.customer,
    });
  }

  #latest(bookingId: string): BookingRevision {
    const revisionId = this.#bookings.get(bookingId);
    if (!revisionId) throw new ChannexError(404, { errors: { code: 'resource_not_found', title: 'Resource Not Found' } });
    return this.#revisions.get(revisionId)!.revision;
  }

  /** The nights of a stay the OTA would sell, with their rates; 422 when Channex shows a night closed or sold out. */
  #sellable(ratePlan: RatePlan, arrival: string, departure: string, force: boolean | undefined, alreadyHeld: Set<string> | undefined) {
    if (!isIsoDate(arrival) || !isIsoDate(departure) || departure <= arrival) {
      throw new ChannexError(422, { errors: { code: 'validation_error', title: 'Validation Error', details: 'arrival_date must be before departure_date' } });
    }
    return nightsOf(arrival, departure).map((date) => {
      const available = this.#availability.get(`${ratePlan.room_type_id}|${date}`) ?? 0;
      const restriction = this.#restrictions.get(`${ratePlan.id}|${date}`) ?? {};
      if (!force && !alreadyHeld?.has(date) && (available < 1 || restriction.stop_sell === true)) {
        throw new ChannexError(422, { errors: { code: 'validation_error', title: 'Validation Error', details: `${date} is not available` } });
      }
      return { date, rate: restriction.rate ?? '100.00' };
    });
  }

  #revise(
    bookingId: string,
    status: RevisionStatus,
    stay: { ratePlan: RatePlan; otaName: string; code: string; nights: Array<{ date: string; rate: string }>; arrival: string; departure: string; customer: BookingRevision['customer'] },
  ): BookingRevision {
    const property = this.#properties.get(stay.ratePlan.property_id)!;
    const amount = stay.nights.reduce((sum, night) => sum + Number(night.rate), 0).toFixed(2);
    const revision: BookingRevision = {
      id: crypto.randomUUID(),
      booking_id: bookingId,
      property_id: property.id,
      unique_id: `${otaCode(stay.otaName)}-${stay.code}`,
      system_id: randomToken(12, '0123456789'),
      ota_reservation_code: stay.code,
      ota_name: stay.otaName,
      status,
      arrival_date: stay.arrival,
      departure_date: stay.departure,
      amount,
      currency: property.currency,
      customer: stay.customer,
      rooms: [
        {
          room_type_id: stay.ratePlan.room_type_id,
          rate_plan_id: stay.ratePlan.id,
          checkin_date: stay.arrival,
          checkout_date: stay.departure,
          amount,
          days: Object.fromEntries(stay.nights.map((night) => [night.date, night.rate])),
          occupancy: { adults: 2, children: 0, infants: 0 },
        },
      ],
      inserted_at: new Date().toISOString(),
    };
    this.#revisions.set(revision.id, { revision, acked: false });
    this.#bookings.set(bookingId, revision.id);
    const specific = status === 'new' ? 'booking_new' : status === 'modified' ? 'booking_modification' : 'booking_cancellation';
    this.notify(property.id, ['booking', specific], { booking_id: bookingId, property_id: property.id, revision_id: revision.id });
    return revision;
  }

  // ─── Webhooks ──────────────────────────────────────────────────────────────────────────────────
  createWebhook(input: Partial<Webhook>): Webhook {
    if (!input.callback_url || !/^https?:\/\//.test(input.callback_url)) {
      throw new ChannexError(422, { errors: { code: 'validation_error', title: 'Validation Error', details: { callback_url: ['must be a URL'] } } });
    }
    const mask = input.event_mask ?? '*';
    const unknown = mask.split(';').filter((event) => event !== '*' && !(WEBHOOK_EVENTS as readonly string[]).includes(event));
    if (unknown.length > 0) throw new ChannexError(422, { errors: { code: 'validation_error', title: 'Validation Error', details: { event_mask: [`unknown events: ${unknown.join(', ')}`] } } });
    if (input.property_id && !this.#properties.has(input.property_id)) throw new ChannexError(404, { errors: { code: 'resource_not_found', title: 'Resource Not Found' } });
    const webhook: Webhook = {
      id: crypto.randomUUID(),
      property_id: input.property_id ?? '',
      callback_url: input.callback_url,
      event_mask: mask,
      headers: input.headers ?? {},
      is_active: input.is_active ?? true,
      send_data: input.send_data ?? false,
    };
    this.#webhooks.set(webhook.id, webhook);
    return webhook;
  }

  listWebhooks(): Webhook[] {
    return [...this.#webhooks.values()];
  }

  /** Sends `events` (the first one each webhook's mask takes) to every active webhook of the property. */
  notify(propertyId: string, events: readonly WebhookEvent[], payload: Record<string, unknown>): number {
    let sent = 0;
    for (const webhook of this.#webhooks.values()) {
      if (!webhook.is_active || (webhook.property_id && webhook.property_id !== propertyId)) continue;
      const masks = webhook.event_mask.split(';');
      const event = events.find((candidate) => masks.includes('*') || masks.includes(candidate));
      if (!event) continue;
      const body = JSON.stringify({ event, property_id: propertyId, user_id: null, timestamp: new Date().toISOString(), payload });
      this.webhooks.enqueue({ id: newId('whk'), url: webhook.callback_url, body, headers: () => ({ 'content-type': 'application/json', ...webhook.headers }) });
      sent += 1;
    }
    return sent;
  }

  // ─── Persistence ─────────────────────────────────────────────────────────────────────────────
  snapshot(): unknown {
    return {
      properties: mapEntries(this.#properties),
      roomTypes: mapEntries(this.#roomTypes),
      ratePlans: mapEntries(this.#ratePlans),
      availability: mapEntries(this.#availability),
      restrictions: mapEntries(this.#restrictions),
      revisions: mapEntries(this.#revisions),
      bookings: mapEntries(this.#bookings),
      webhooks: mapEntries(this.#webhooks),
    };
  }

  restore(state: unknown): void {
    const saved = (state ?? {}) as Record<string, unknown>;
    refill(this.#properties, saved.properties);
    refill(this.#roomTypes, saved.roomTypes);
    refill(this.#ratePlans, saved.ratePlans);
    refill(this.#availability, saved.availability);
    refill(this.#restrictions, saved.restrictions);
    refill(this.#revisions, saved.revisions);
    refill(this.#bookings, saved.bookings);
    refill(this.#webhooks, saved.webhooks);
  }

  releaseHeldRequests(): void {
    this.upkeep.releaseHeldRequests();
  }

  close(): void {
    this.upkeep.close();
  }
}

const newIdFor = (kind: string) => `${kind}-${crypto.randomUUID()}`;
const otaCode = (otaName: string) => ({ 'Booking.com': 'BDC', Airbnb: 'ABB', Expedia: 'EXP' })[otaName] ?? otaName.slice(0, 3).toUpperCase();
