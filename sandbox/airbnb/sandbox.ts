// A stateful Airbnb for Skerry's partner app: hosts who connect through OAuth (authorization codes,
// access tokens that expire, refresh tokens that rotate), listing calendars, guests' reservations,
// and signed webhooks for every reservation change, delivered at least once by the shared queue.
import { randomInt } from 'node:crypto';
import { FaultInjector, FaultSettingsSchema, type FaultSettings } from '../shared/faults';
import { randomToken } from '../shared/ids';
import { channelSandboxEvents } from '../shared/events';
import { WebhookQueue, type WebhookDeliveryOptions, type WebhookQueueLogger } from '../shared/webhook-queue';
import { SandboxUpkeep } from '../shared/upkeep';
import { datesThrough, daysBetween, isIsoDate, nightsOf } from '../shared/dates';
import type { CalendarNight, CalendarOperation, ImportedCalendar, Reservation, TokenGrant, WebhookEvent, WebhookEventType } from './api';
import { SIGNATURE_HEADER, webhookSignature } from './signing';

/**
 * The partner app and webhook secret the sandbox knows when none is configured: the values Skerry's
 * development configuration uses (a test checks the two agree).
 */
export const AIRBNB_DEVELOPMENT_APP = {
  clientId: 'skerry-sandbox-airbnb-client',
  clientSecret: 'skerry-sandbox-airbnb-secret',
  webhookSecret: 'skerry-sandbox-airbnb-webhook-secret',
} as const;

export interface AirbnbSandboxOptions {
  clientId: string;
  clientSecret: string;
  /** Where reservation webhooks go; empty = none sent. */
  webhookUrl: string;
  webhookSecret: string;
  accessTokenTtlSeconds?: number;
  seed?: number;
  webhooks?: WebhookDeliveryOptions;
  logger?: WebhookQueueLogger;
}

export class AirbnbError extends Error {
  override readonly name = 'AirbnbError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Listing {
  hostId: string;
  days: Map<string, CalendarNight>;
}

export class AirbnbSandbox {
  readonly faults: FaultInjector<FaultSettings>;
  readonly webhooks: WebhookQueue;
  readonly upkeep: SandboxUpkeep;
  readonly options: AirbnbSandboxOptions;
  readonly #hosts = new Set<string>();
  readonly #codes = new Map<string, { hostId: string; redirectUri: string; expiresAt: number }>();
  readonly #accessTokens = new Map<string, { hostId: string; expiresAt: number }>();
  readonly #refreshTokens = new Map<string, { hostId: string; used: boolean }>();
  readonly #listings = new Map<string, Listing>();
  readonly #reservations = new Map<string, Reservation>();
  readonly events = channelSandboxEvents();
  /** Listings synced by iCal only (their host never authorized the partner app): Airbnb sends the partner no webhooks about them. */
  readonly icalOnlyListings = new Set<string>();
  /** Calendar sync by iCal (sandbox/airbnb/ical.ts): each listing's export secret and its imported calendar. */
  readonly ical = { exportSecrets: new Map<string, string>(), imports: new Map<string, ImportedCalendar>() };
  counts = { codeExchanges: 0, refreshes: 0, refreshReuse: 0, rejectedTokens: 0, calendarRequests: 0, calendarOperations: 0, hostCancellations: 0, webhooksSent: 0 };

  constructor(options: AirbnbSandboxOptions) {
    this.options = options;
    this.faults = new FaultInjector({ schema: FaultSettingsSchema, seed: options.seed });
    this.webhooks = new WebhookQueue({ ...options.webhooks, faults: this.faults, logger: options.logger });
    this.upkeep = new SandboxUpkeep({ faults: this.faults, webhooks: this.webhooks });
  }

  // ─── OAuth ─────────────────────────────────────────────────────────────────────────────────────
  /** The host consents: an authorization code for the redirect. */
  authorize(input: { clientId: string; redirectUri: string; hostId?: string }): { code: string; hostId: string } {
    if (input.clientId !== this.options.clientId) throw new AirbnbError(400, 'invalid_client', 'unknown client_id');
    const hostId = input.hostId ?? String(randomInt(100_000_000, 999_999_999));
    this.#hosts.add(hostId);
    const code = randomToken(32);
    this.#codes.set(code, { hostId, redirectUri: input.redirectUri, expiresAt: Date.now() + 10 * 60_000 });
    return { code, hostId };
  }

  #issue(hostId: string): TokenGrant {
    const ttl = this.options.accessTokenTtlSeconds ?? 3_600;
    const access = `at_${randomToken(40)}`;
    const refresh = `rt_${randomToken(40)}`;
    this.#accessTokens.set(access, { hostId, expiresAt: Date.now() + ttl * 1000 });
    this.#refreshTokens.set(refresh, { hostId, used: false });
    return { access_token: access, refresh_token: refresh, expires_in: ttl, token_type: 'bearer', scope: 'property_management,reservations_web_hooks', user_id: hostId };
  }

  token(input: Record<string, unknown>): TokenGrant {
    if (input.client_id !== this.options.clientId || input.client_secret !== this.options.clientSecret) {
      throw new AirbnbError(401, 'invalid_client', 'client authentication failed');
    }
    if (input.grant_type === 'authorization_code') {
      const entry = this.#codes.get(String(input.code));
      this.#codes.delete(String(input.code));
      if (!entry || entry.expiresAt < Date.now()) throw new AirbnbError(400, 'invalid_grant', 'authorization code invalid or expired');
      if (entry.redirectUri !== input.redirect_uri) throw new AirbnbError(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
      this.counts.codeExchanges += 1;
      return this.#issue(entry.hostId);
    }
    if (input.grant_type === 'refresh_token') {
      const entry = this.#refreshTokens.get(String(input.refresh_token));
      if (!entry) throw new AirbnbError(400, 'invalid_grant', 'unknown refresh token');
      if (entry.used) {
        this.counts.refreshReuse += 1;
        throw new AirbnbError(400, 'invalid_grant', 'refresh token already used (tokens rotate on every refresh)');
      }
      entry.used = true;
      this.counts.refreshes += 1;
      return this.#issue(entry.hostId);
    }
    throw new AirbnbError(400, 'unsupported_grant_type', `grant_type ${String(input.grant_type)} is not supported`);
  }

  /** The host an access token acts for; 401 when missing, unknown or expired. */
  hostFor(authorization: string | undefined): string {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    const entry = token ? this.#accessTokens.get(token) : undefined;
    if (!entry || entry.expiresAt <= Date.now()) {
      this.counts.rejectedTokens += 1;
      throw new AirbnbError(401, 'invalid_token', entry ? 'access token expired' : 'missing or unknown access token');
    }
    return entry.hostId;
  }

  /** Expires every access token (of one host, or all): the next call must refresh. */
  expireAccessTokens(hostId?: string): number {
    let count = 0;
    for (const entry of this.#accessTokens.values()) {
      if (!hostId || entry.hostId === hostId) {
        entry.expiresAt = 0;
        count += 1;
      }
    }
    return count;
  }

  // ─── Calendars ─────────────────────────────────────────────────────────────────────────────────
  #listing(listingId: string, hostId: string): Listing {
    let listing = this.#listings.get(listingId);
    if (!listing) {
      listing = { hostId, days: new Map() };
      this.#listings.set(listingId, listing);
    }
    if (listing.hostId !== hostId) throw new AirbnbError(403, 'forbidden', `listing ${listingId} belongs to another host`);
    return listing;
  }

  updateCalendar(hostId: string, listingId: string, operations: readonly CalendarOperation[]): void {
    const listing = this.#listing(listingId, hostId);
    const expanded = operations.map((operation, index) => {
      const dates = operation.dates.flatMap((entry) => {
        const [from = '', to = from] = entry.split(':');
        if (!isIsoDate(from) || !isIsoDate(to) || to < from) throw new AirbnbError(400, 'invalid_request', `operations[${index}].dates: ${entry} is not a date or date range`);
        return datesThrough(from, to);
      });
      return { operation, dates };
    });
    this.counts.calendarRequests += 1;
    this.counts.calendarOperations += operations.length;
    for (const { operation, dates } of expanded) {
      for (const date of dates) {
        const day: CalendarNight = listing.days.get(date) ?? { date, availability: 'unavailable', available_count: 0 };
        if (operation.available_count !== undefined) day.available_count = operation.available_count;
        if (operation.availability) day.availability = operation.availability;
        if (operation.daily_price !== undefined) {
          day.daily_price = operation.daily_price;
          day.currency = operation.currency;
        }
        if (operation.min_nights !== undefined) day.min_nights = operation.min_nights;
        if (operation.closed_to_arrival !== undefined) day.closed_to_arrival = operation.closed_to_arrival;
        listing.days.set(date, day);
      }
    }
    this.events.emit('calendar', { listing: listingId, dates: [...new Set(expanded.flatMap(({ dates }) => dates))], atMs: Date.now() });
  }

  calendar(listingId: string, from: string, to: string, hostId?: string): CalendarNight[] {
    const listing = this.#listings.get(listingId);
    if (!listing) return [];
    if (hostId && listing.hostId !== hostId) throw new AirbnbError(403, 'forbidden', `listing ${listingId} belongs to another host`);
    return datesThrough(from, to).flatMap((date) => {
      const day = listing.days.get(date);
      return day ? [{ ...day }] : [];
    });
  }

  // ─── Reservations ──────────────────────────────────────────────────────────────────────────────
  #nights(reservation: Pick<Reservation, 'start_date' | 'end_date'>): string[] {
    return nightsOf(reservation.start_date, reservation.end_date);
  }

  #take(listing: Listing, reservation: Pick<Reservation, 'start_date' | 'end_date' | 'number_of_units'>, force: boolean): void {
    const nights = this.#nights(reservation);
    const short = nights.filter((date) => {
      const day = listing.days.get(date);
      return !day || day.availability !== 'available' || day.available_count < reservation.number_of_units;
    });
    if (short.length > 0 && !force) throw new AirbnbError(409, 'not_available', `not available on ${short.join(', ')}`);
    for (const date of nights) {
      const day = listing.days.get(date) ?? { date, availability: 'unavailable', available_count: 0 };
      day.available_count = Math.max(0, day.available_count - reservation.number_of_units);
      if (day.available_count === 0) day.availability = 'unavailable';
      listing.days.set(date, day);
    }
  }

  #giveBack(listing: Listing, reservation: Reservation): void {
    for (const date of this.#nights(reservation)) {
      const day = listing.days.get(date);
      if (!day) continue;
      day.available_count += reservation.number_of_units;
      day.availability = 'available';
    }
  }

  #send(type: WebhookEventType, reservation: Reservation): void {
    if (!this.options.webhookUrl || this.icalOnlyListings.has(reservation.listing_id)) return;
    const event: WebhookEvent = {
      event_id: `evt_${randomToken(20)}`,
      event_type: type,
      timestamp: new Date().toISOString(),
      api_version: '2025-03-31',
      data: { reservation: { ...reservation, guest: { ...reservation.guest } } },
    };
    this.counts.webhooksSent += 1;
    this.webhooks.enqueue({
      id: event.event_id,
      url: this.options.webhookUrl,
      body: JSON.stringify(event),
      // Signed per attempt: a retry carries a fresh timestamp, as the receiver's tolerance expects.
      headers: (body) => ({
        'content-type': 'application/json',
        'user-agent': 'Airbnb-Webhooks/1.0',
        [SIGNATURE_HEADER]: webhookSignature(this.options.webhookSecret, body, Math.floor(Date.now() / 1000)),
      }),
    });
  }

  /** A guest books (instant book): the nights leave the listing's calendar, a webhook is sent. */
  book(input: { listingId: string; checkIn: string; checkOut: string; units?: number; guestName?: string; force?: boolean }): Reservation {
    const listing = this.#listings.get(input.listingId);
    if (!listing) throw new AirbnbError(404, 'not_found', `no listing ${input.listingId} (push its calendar first)`);
    if (!isIsoDate(input.checkIn) || !isIsoDate(input.checkOut) || daysBetween(input.checkIn, input.checkOut) < 1) {
      throw new AirbnbError(400, 'invalid_request', 'checkIn and checkOut must be dates with checkOut after checkIn');
    }
    const [first = 'Guest', ...last] = (input.guestName ?? 'Sam Berg').split(' ');
    const reservation: Reservation = {
      confirmation_code: `HM${randomToken(8, 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789')}`,
      listing_id: input.listingId,
      host_id: listing.hostId,
      start_date: input.checkIn,
      end_date: input.checkOut,
      number_of_units: input.units ?? 1,
      status: 'accepted',
      guest: { first_name: first, last_name: last.join(' ') },
      updated_at: new Date().toISOString(),
    };
    this.#take(listing, reservation, input.force ?? false);
    const priced = this.#nights(reservation).map((date) => listing.days.get(date));
    if (priced.every((day) => day?.daily_price !== undefined)) {
      reservation.total_price = { amount: priced.reduce((sum, day) => sum + day!.daily_price!, 0) * reservation.number_of_units, currency: priced[0]!.currency ?? 'SEK' };
    }
    this.#reservations.set(reservation.confirmation_code, reservation);
    this.#send('reservation.confirmed', reservation);
    return reservation;
  }

  alter(code: string, change: { checkIn?: string; checkOut?: string; units?: number; force?: boolean }): Reservation {
    const reservation = this.reservation(code);
    if (reservation.status.startsWith('cancelled')) throw new AirbnbError(409, 'conflict', `reservation ${code} is ${reservation.status}`);
    const listing = this.#listings.get(reservation.listing_id)!;
    const next = { start_date: change.checkIn ?? reservation.start_date, end_date: change.checkOut ?? reservation.end_date, number_of_units: change.units ?? reservation.number_of_units };
    this.#giveBack(listing, reservation);
    try {
      this.#take(listing, next, change.force ?? false);
    } catch (err) {
      this.#take(listing, reservation, true);
      throw err;
    }
    Object.assign(reservation, next, { status: 'altered', updated_at: new Date().toISOString() });
    this.#send('reservation.updated', reservation);
    return reservation;
  }

  /** Cancelled by the guest (control) or by the host (Skerry rejecting an overbooking). */
  cancel(code: string, by: 'guest' | 'host', reason?: string): Reservation {
    const reservation = this.reservation(code);
    if (reservation.status.startsWith('cancelled')) return reservation;
    this.#giveBack(this.#listings.get(reservation.listing_id)!, reservation);
    reservation.status = by === 'guest' ? 'cancelled_by_guest' : 'cancelled_by_host';
    reservation.cancel_reason = reason;
    reservation.updated_at = new Date().toISOString();
    if (by === 'host') this.counts.hostCancellations += 1;
    this.#send('reservation.cancelled', reservation);
    return reservation;
  }

  reservation(code: string): Reservation {
    const reservation = this.#reservations.get(code);
    if (!reservation) throw new AirbnbError(404, 'not_found', `no reservation ${code}`);
    return reservation;
  }

  reservations(hostId?: string, endFrom?: string): Reservation[] {
    return [...this.#reservations.values()]
      .filter((reservation) => (!hostId || reservation.host_id === hostId) && (!endFrom || reservation.end_date >= endFrom))
      .sort((a, b) => a.confirmation_code.localeCompare(b.confirmation_code));
  }

  /** A host edit made on Airbnb itself, bypassing Skerry (drift for the resync to find). */
  setAvailability(listingId: string, from: string, to: string, availableCount: number): void {
    const listing = this.#listings.get(listingId);
    if (!listing) throw new AirbnbError(404, 'not_found', `no listing ${listingId}`);
    for (const date of datesThrough(from, to)) {
      const day = listing.days.get(date) ?? { date, availability: 'unavailable', available_count: 0 };
      day.available_count = availableCount;
      day.availability = availableCount > 0 ? 'available' : 'unavailable';
      listing.days.set(date, day);
    }
  }

  releaseHeldRequests(): void {
    this.upkeep.releaseHeldRequests();
  }

  // ─── Persistence (sandbox/shared/persistence.ts) ──────────────────────────────────────────────
  // Hosts, their grants and tokens, calendars and reservations survive a restart, as at Airbnb; a
  // webhook still waiting for delivery does not (the feed and a resync find its reservation).
  snapshot(): unknown {
    const listings = [...this.#listings].map(([listingId, listing]) => [listingId, { hostId: listing.hostId, days: [...listing.days] }]);
    return {
      hosts: [...this.#hosts],
      codes: [...this.#codes],
      accessTokens: [...this.#accessTokens],
      refreshTokens: [...this.#refreshTokens],
      listings,
      reservations: [...this.#reservations],
      counts: this.counts,
      icalOnlyListings: [...this.icalOnlyListings],
      icalExportSecrets: [...this.ical.exportSecrets],
      icalImports: [...this.ical.imports].map(([listingId, entry]) => [listingId, { ...entry, blocked: [...entry.blocked] }]),
    };
  }

  restore(state: unknown): void {
    const saved = (state ?? {}) as {
      hosts?: string[];
      codes?: [string, { hostId: string; redirectUri: string; expiresAt: number }][];
      accessTokens?: [string, { hostId: string; expiresAt: number }][];
      refreshTokens?: [string, { hostId: string; used: boolean }][];
      listings?: [string, { hostId: string; days: [string, CalendarNight][] }][];
      reservations?: [string, Reservation][];
      counts?: Partial<AirbnbSandbox['counts']>;
      icalOnlyListings?: string[];
      icalExportSecrets?: [string, string][];
      icalImports?: [string, Omit<ImportedCalendar, 'blocked'> & { blocked: [string, number][] }][];
    };
    const refill = <V>(map: Map<string, V>, entries: [string, V][] | undefined) => {
      map.clear();
      for (const [key, value] of entries ?? []) map.set(key, value);
    };
    this.#hosts.clear();
    for (const host of saved.hosts ?? []) this.#hosts.add(host);
    refill(this.#codes, saved.codes);
    refill(this.#accessTokens, saved.accessTokens);
    refill(this.#refreshTokens, saved.refreshTokens);
    refill(this.#listings, saved.listings?.map(([listingId, listing]) => [listingId, { hostId: listing.hostId, days: new Map(listing.days) }]));
    refill(this.#reservations, saved.reservations);
    this.counts = { ...this.counts, ...saved.counts };
    this.icalOnlyListings.clear();
    for (const listingId of saved.icalOnlyListings ?? []) this.icalOnlyListings.add(listingId);
    refill(this.ical.exportSecrets, saved.icalExportSecrets);
    refill(this.ical.imports, saved.icalImports?.map(([listingId, entry]) => [listingId, { ...entry, blocked: new Map(entry.blocked) }]));
  }

  close(): void {
    this.upkeep.close();
  }
}

