// A stateful Booking.com for one machine account: what each hotel's rooms and rates show (as pushed
// in OTA XML), the reservations guests make, and the two reservation queues (new; modified and
// cancelled) a message stays in until it is acknowledged, or until Booking.com gives up and e-mails
// it to the property (queues.ts). Guests and operators act through the `/_control` routes
// (plugin.ts); faults come from the shared injector. Its state is data (snapshot/restore), kept across
// restarts by the shared persistence.
import { randomInt } from 'node:crypto';
import { FaultInjector, FaultSettingsSchema, type FaultSettings } from '../shared/faults';
import { channelSandboxEvents } from '../shared/events';
import { SandboxRefusal } from '../shared/errors';
import { SandboxUpkeep } from '../shared/upkeep';
import { addDays, datesThrough, daysBetween, isIsoDate, nightsOf } from '../shared/dates';
import { OTA_CODES, OTA_ERROR_TYPES, type Acknowledgement, type AvailStatus, type OtaFault, type QueuedReservation, type RateAmount, type ReservationCore } from './ota';
import type { ChannelNight, SummaryLine } from './bxml';
import { ReservationQueues, type FallbackEmail, type QueueName } from './queues';
import { Hotels } from './hotels';

/**
 * The machine account the sandbox accepts when none is configured: the values Skerry's development
 * configuration uses, so `npm start` connects without setup (a test checks the two agree).
 */
export const BOOKING_COM_DEVELOPMENT_ACCOUNT = { username: 'skerry-machine-account', password: 'skerry-sandbox-password' } as const;

/**
 * Where the plugin serves each of Booking.com's hosts under its prefix: supply-xml.booking.com (ARI,
 * room-rate availability) and secure-supply-xml.booking.com (reservations). Skerry's development
 * configuration points BOOKING_COM_API_BASE and BOOKING_COM_SECURE_API_BASE here (a test checks).
 */
export const BOOKING_COM_SANDBOX_HOSTS = { supply: '/supply-xml', secure: '/secure-supply-xml' } as const;

export interface BookingComSandboxOptions {
  /** The machine account's credentials (HTTP Basic). */
  username: string;
  password: string;
  seed?: number;
  now?: () => number;
  /** How long a message waits for a successful acknowledgement before it is e-mailed (default 30 minutes, as documented). */
  fallbackAfterMs?: number;
}

/** An acknowledgement never rejects: only the guest (or the property, through Booking.com) cancels. */
export type SandboxReservationState = 'booked' | 'modified' | 'cancelled';

export interface SandboxReservation extends ReservationCore {
  guestName: string;
  state: SandboxReservationState;
  /** `failed`: an acknowledgement with <Errors> ("unsuccessfully processed"); the message stayed queued. */
  acknowledgements: Array<{ at: string; queue: QueueName; outcome: 'processed' | 'failed'; code?: string; text?: string }>;
}

export class SandboxConflict extends SandboxRefusal {
  override readonly name = 'SandboxConflict';
  constructor(message: string, statusCode = 409) {
    super(statusCode, message);
  }
}

const invalid = (text: string, recordId?: string): OtaFault => ({
  type: OTA_ERROR_TYPES.businessRule,
  code: OTA_CODES.invalidValue.code,
  text,
  ...(recordId ? { recordId } : {}),
});

export class BookingComSandbox {
  readonly faults: FaultInjector<FaultSettings>;
  readonly upkeep: SandboxUpkeep;
  readonly options: BookingComSandboxOptions;
  readonly #hotels = new Hotels();
  readonly #reservations = new Map<string, SandboxReservation>();
  readonly #queues: ReservationQueues;
  readonly #now: () => number;
  counts = { availRequests: 0, rateRequests: 0, availItems: 0, rateItems: 0, queuePulls: 0, acks: 0, failedAcks: 0, authFailures: 0 };
  /** The property of every reservations-summary request, oldest first. */
  readonly summaryRequests: string[] = [];
  /** Every ARI request received, newest last (for tests and the control API). */
  readonly pushLog: Array<{ at: string; type: 'avail' | 'rate'; hotelId: string; items: number; echoToken: string }> = [];
  readonly events = channelSandboxEvents();

  constructor(options: BookingComSandboxOptions) {
    this.options = options;
    this.#now = options.now ?? Date.now;
    this.#queues = new ReservationQueues(() => this.#now(), options.fallbackAfterMs);
    this.faults = new FaultInjector({ schema: FaultSettingsSchema, seed: options.seed });
    this.upkeep = new SandboxUpkeep({ faults: this.faults });
  }

  authenticates(authorization: string | undefined): boolean {
    if (!authorization?.startsWith('Basic ')) return false;
    const [user, ...rest] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':');
    return user === this.options.username && rest.join(':') === this.options.password;
  }

  now(): Date {
    return new Date(this.#now());
  }

  #iso(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  // ─── ARI ───────────────────────────────────────────────────────────────────────────────────────
  /** Tells observers which nights of which rooms a request changed, once per room. */
  #announce(hotelId: string, messages: ReadonlyArray<{ roomId: string; start: string; end: string }>): void {
    const byRoom = new Map<string, Set<string>>();
    for (const message of messages) {
      const dates = byRoom.get(message.roomId) ?? new Set<string>();
      for (const date of datesThrough(message.start, message.end)) dates.add(date);
      byRoom.set(message.roomId, dates);
    }
    for (const [roomId, dates] of byRoom) this.events.emit('calendar', { listing: `${hotelId}/${roomId}`, dates: [...dates], atMs: this.#now() });
  }

  /** Applies OTA_HotelAvailNotifRQ messages; hotels and rooms are created on first use. */
  applyAvailability(hotelId: string, messages: readonly AvailStatus[], echoToken: string): OtaFault[] {
    const errors = validateRanges(messages);
    if (errors.length > 0) return errors;
    this.counts.availRequests += 1;
    this.counts.availItems += messages.length;
    this.pushLog.push({ at: this.#iso(), type: 'avail', hotelId, items: messages.length, echoToken });
    for (const message of messages) {
      const room = this.#hotels.room(hotelId, message.roomId, true)!;
      for (const date of datesThrough(message.start, message.end)) {
        if (message.roomsToSell !== undefined) room.roomsToSell.set(date, message.roomsToSell);
        const { restriction } = message;
        if (!message.rateId) {
          if (restriction?.applies === 'stay') room.closed.set(date, !restriction.open);
          continue;
        }
        const day = this.#hotels.rateDay(room, message.rateId, date);
        if (message.minStay !== undefined) day.minStay = message.minStay;
        if (message.maxStay !== undefined) day.maxStay = message.maxStay;
        if (restriction?.applies === 'stay') day.closed = !restriction.open;
        if (restriction?.applies === 'arrival') day.closedToArrival = !restriction.open;
        if (restriction?.applies === 'departure') day.closedToDeparture = !restriction.open;
      }
    }
    this.#announce(hotelId, messages);
    return [];
  }

  /** Applies OTA_HotelRateAmountNotifRQ messages: the room's own price is the one not tied to a number of guests. */
  applyRates(hotelId: string, messages: readonly RateAmount[], echoToken: string): OtaFault[] {
    const errors = validateRanges(messages);
    if (errors.length > 0) return errors;
    this.counts.rateRequests += 1;
    this.counts.rateItems += messages.length;
    this.pushLog.push({ at: this.#iso(), type: 'rate', hotelId, items: messages.length, echoToken });
    for (const message of messages) {
      const price = message.prices.find((candidate) => candidate.guests === undefined) ?? [...message.prices].sort((a, b) => (b.guests ?? 0) - (a.guests ?? 0))[0]!;
      const room = this.#hotels.room(hotelId, message.roomId, true)!;
      for (const date of datesThrough(message.start, message.end)) {
        const day = this.#hotels.rateDay(room, message.rateId, date);
        day.price = price.amount;
        day.currency = price.currency;
      }
    }
    this.#announce(hotelId, messages);
    return [];
  }

  /** What Booking.com shows for a room (and rate) night by night. */
  calendar(hotelId: string, roomId: string, rateId: string | undefined, from: string, to: string): ChannelNight[] {
    return this.#hotels.calendar(hotelId, roomId, rateId, from, to);
  }

  // ─── Guests ────────────────────────────────────────────────────────────────────────────────────
  #take(reservation: { hotelId: string; roomId: string; checkIn: string; checkOut: string; rooms: number }, force: boolean): void {
    const room = this.#hotels.room(reservation.hotelId, reservation.roomId, false);
    if (!room) throw new SandboxConflict(`hotel ${reservation.hotelId} has no room ${reservation.roomId} (push its availability first)`, 404);
    const nights = nightsOf(reservation.checkIn, reservation.checkOut);
    const short = nights.filter((date) => (room.roomsToSell.get(date) ?? 0) < reservation.rooms);
    if (short.length > 0 && !force) throw new SandboxConflict(`no rooms to sell on ${short.join(', ')}`);
    for (const date of nights) room.roomsToSell.set(date, Math.max(0, (room.roomsToSell.get(date) ?? 0) - reservation.rooms));
  }

  #giveBack(reservation: SandboxReservation): void {
    const room = this.#hotels.room(reservation.hotelId, reservation.roomId, false);
    if (!room) return;
    for (const date of nightsOf(reservation.checkIn, reservation.checkOut)) {
      room.roomsToSell.set(date, (room.roomsToSell.get(date) ?? 0) + reservation.rooms);
    }
  }

  #enqueue(queue: QueueName, reservation: SandboxReservation): void {
    this.#queues.enqueue(queue, reservation.resId, reservation.lastModifiedAt);
  }

  /** The nights of a stay at the rate's current prices, and their sum for `rooms` rooms when every night has one. */
  #pricing(hotelId: string, roomId: string, rateId: string | undefined, checkIn: string, checkOut: string, rooms: number) {
    const days = new Map(this.calendar(hotelId, roomId, rateId, checkIn, checkOut).map((day) => [day.date, day]));
    const nights = nightsOf(checkIn, checkOut).map((date) => ({ date, price: days.get(date)?.price }));
    const currency = days.get(checkIn)?.currency;
    const priced = currency !== undefined && nights.every((night) => night.price !== undefined);
    return { nights, total: priced ? { amount: nights.reduce((sum, night) => sum + night.price!, 0) * rooms, currency } : undefined };
  }

  /** A guest books on Booking.com: the rooms leave Booking.com's availability, a message is queued. */
  book(input: { hotelId: string; roomId: string; rateId?: string; checkIn: string; checkOut: string; rooms?: number; guestName?: string; total?: { amount: number; currency: string }; force?: boolean }): SandboxReservation {
    if (!isIsoDate(input.checkIn) || !isIsoDate(input.checkOut) || daysBetween(input.checkIn, input.checkOut) < 1) {
      throw new SandboxConflict('checkIn and checkOut must be dates with checkOut after checkIn', 400);
    }
    const rooms = input.rooms ?? 1;
    this.#take({ ...input, rooms }, input.force ?? false);
    const now = this.#iso();
    const pricing = this.#pricing(input.hotelId, input.roomId, input.rateId, input.checkIn, input.checkOut, rooms);
    // A total given by the guest control in another currency leaves the nights unpriced.
    const nights = !input.total || input.total.currency === pricing.total?.currency ? pricing.nights : pricing.nights.map(({ date }) => ({ date }));
    const reservation: SandboxReservation = {
      resId: String(randomInt(1_000_000_000, 9_999_999_999)),
      hotelId: input.hotelId,
      roomId: input.roomId,
      rateId: input.rateId,
      checkIn: input.checkIn,
      checkOut: input.checkOut,
      rooms,
      guestName: input.guestName ?? 'Ada Lindqvist',
      total: input.total ?? pricing.total,
      nights,
      state: 'booked',
      createdAt: now,
      lastModifiedAt: now,
      acknowledgements: [],
    };
    this.#reservations.set(reservation.resId, reservation);
    this.#enqueue('new', reservation);
    return reservation;
  }

  modify(resId: string, change: { checkIn?: string; checkOut?: string; rooms?: number; force?: boolean }): SandboxReservation {
    const reservation = this.reservation(resId);
    if (reservation.state === 'cancelled') throw new SandboxConflict(`reservation ${resId} is ${reservation.state}`);
    const next = { ...reservation, checkIn: change.checkIn ?? reservation.checkIn, checkOut: change.checkOut ?? reservation.checkOut, rooms: change.rooms ?? reservation.rooms };
    if (daysBetween(next.checkIn, next.checkOut) < 1) throw new SandboxConflict('checkOut must be after checkIn', 400);
    this.#giveBack(reservation);
    try {
      this.#take(next, change.force ?? false);
    } catch (err) {
      this.#take(reservation, true);
      throw err;
    }
    const pricing = this.#pricing(reservation.hotelId, reservation.roomId, reservation.rateId, next.checkIn, next.checkOut, next.rooms);
    Object.assign(reservation, {
      checkIn: next.checkIn,
      checkOut: next.checkOut,
      rooms: next.rooms,
      state: 'modified',
      lastModifiedAt: this.#iso(),
      total: pricing.total ?? reservation.total,
      nights: pricing.nights,
    });
    this.#enqueue('modify', reservation);
    return reservation;
  }

  cancel(resId: string): SandboxReservation {
    const reservation = this.reservation(resId);
    if (reservation.state === 'cancelled') return reservation;
    this.#giveBack(reservation);
    reservation.state = 'cancelled';
    reservation.lastModifiedAt = this.#iso();
    this.#queues.entries.new.delete(resId);
    this.#enqueue('modify', reservation);
    return reservation;
  }

  reservation(resId: string): SandboxReservation {
    const reservation = this.#reservations.get(resId);
    if (!reservation) throw new SandboxConflict(`no reservation ${resId}`, 404);
    return reservation;
  }

  reservations(): SandboxReservation[] {
    return [...this.#reservations.values()];
  }

  // ─── Queues ────────────────────────────────────────────────────────────────────────────────────
  #queued(reservation: SandboxReservation): QueuedReservation {
    const { guestName, state, acknowledgements: _acknowledgements, ...core } = reservation;
    const [givenName = '', ...surname] = guestName.split(' ');
    return { ...core, status: state === 'cancelled' ? 'cancelled' : state === 'modified' ? 'modified' : 'booked', guest: { givenName, surname: surname.join(' ') } };
  }

  /** GET of a queue: every message not acknowledged yet (the same ones again until they are). */
  pull(queue: QueueName): QueuedReservation[] {
    this.counts.queuePulls += 1;
    this.#sendOverdue();
    return [...this.#queues.entries[queue].values()].map((entry) => {
      if (entry.servedVersion !== entry.version) this.events.emit('retrieved', { reservationId: entry.resId, atMs: this.#now() });
      entry.servedVersion = entry.version;
      return this.#queued(this.reservation(entry.resId));
    });
  }

  /**
   * POST of a queue's RS: processed ids leave the queue. An id under <Errors> ("unsuccessfully
   * processed", whatever the code) stays queued: the reservation stands, and the message goes to the
   * property by e-mail once the timeout passes without a successful acknowledgement.
   */
  acknowledge(queue: QueueName, acknowledgements: readonly Acknowledgement[]): OtaFault[] {
    this.counts.acks += 1;
    const errors: OtaFault[] = [];
    for (const { resId, refusal } of acknowledgements) {
      const reservation = this.#reservations.get(resId);
      if (!reservation) {
        errors.push(invalid(`unknown reservation ${resId}`, resId));
        continue;
      }
      if (!refusal) {
        this.#queues.processed(queue, resId);
        reservation.acknowledgements.push({ at: this.#iso(), queue, outcome: 'processed' });
      } else {
        this.counts.failedAcks += 1;
        this.#queues.failed(queue, resId, { code: refusal.code, text: refusal.text });
        reservation.acknowledgements.push({ at: this.#iso(), queue, outcome: 'failed', code: refusal.code, text: refusal.text });
      }
    }
    return errors;
  }

  #sendOverdue(): void {
    this.#queues.sendOverdue((resId) => this.#reservations.get(resId)?.hotelId ?? '');
  }

  queueState(): ReturnType<ReservationQueues['view']> {
    this.#sendOverdue();
    return this.#queues.view();
  }

  /** The reservations Booking.com e-mailed to their properties (the fallback), oldest first. */
  emails(): readonly FallbackEmail[] {
    this.#sendOverdue();
    return this.#queues.emails;
  }

  /** The reservations summary (resync): every reservation of the property with a check-out still to come. */
  summary(hotelId: string): SummaryLine[] {
    this.summaryRequests.push(hotelId);
    const today = this.#iso().slice(0, 10);
    return this.reservations()
      .filter((reservation) => reservation.hotelId === hotelId && reservation.checkOut >= today)
      .map((reservation) => ({
        id: reservation.resId,
        hotelId: reservation.hotelId,
        roomId: reservation.roomId,
        rateId: reservation.rateId,
        status: reservation.state === 'booked' ? 'new' : reservation.state === 'modified' ? 'modified' : 'cancelled',
        checkIn: reservation.checkIn,
        checkOut: reservation.checkOut,
        rooms: reservation.rooms,
        guestName: reservation.guestName,
        total: reservation.total,
        lastModifiedAt: reservation.lastModifiedAt,
      }));
  }

  /** Every room of the property and each of its rates, night by night, for `numberOfDays` from `startDate`. */
  roomRateAvailability(hotelId: string, startDate: string, numberOfDays: number) {
    const to = addDays(startDate, numberOfDays - 1);
    return this.#hotels.rooms(hotelId).map(([roomId, room]) => ({
      roomId,
      rates: (room.rates.size > 0 ? [...room.rates.keys()] : [undefined]).map((rateId) => ({ rateId, nights: this.calendar(hotelId, roomId, rateId, startDate, to) })),
    }));
  }

  /** Sets what the channel shows, bypassing Skerry (a manual edit in the extranet: drift). */
  setRoomsToSell(hotelId: string, roomId: string, from: string, to: string, roomsToSell: number): void {
    const room = this.#hotels.room(hotelId, roomId, true)!;
    for (const date of datesThrough(from, to)) room.roomsToSell.set(date, roomsToSell);
  }

  reset(): void {
    this.upkeep.reset();
    this.#hotels.clear();
    this.#reservations.clear();
    this.#queues.clear();
    this.pushLog.length = 0;
    this.summaryRequests.length = 0;
    for (const key of Object.keys(this.counts) as Array<keyof typeof this.counts>) this.counts[key] = 0;
  }

  // ─── Persistence (sandbox/shared/persistence.ts) ──────────────────────────────────────────────
  snapshot(): unknown {
    return { hotels: this.#hotels.snapshot(), reservations: [...this.#reservations], queues: this.#queues.snapshot(), counts: this.counts };
  }

  restore(state: unknown): void {
    const saved = (state ?? {}) as {
      hotels?: Parameters<Hotels['restore']>[0];
      reservations?: [string, SandboxReservation][];
      queues?: Parameters<ReservationQueues['restore']>[0];
      counts?: Partial<BookingComSandbox['counts']>;
    };
    this.#hotels.restore(saved.hotels);
    this.#reservations.clear();
    for (const [resId, reservation] of saved.reservations ?? []) this.#reservations.set(resId, reservation);
    this.#queues.restore(saved.queues);
    this.counts = { ...this.counts, ...saved.counts };
  }

  releaseHeldRequests(): void {
    this.upkeep.releaseHeldRequests();
  }

  close(): void {
    this.upkeep.close();
  }
}

/** Start and End must be dates, End not before Start; one error per message that is not. */
function validateRanges(messages: ReadonlyArray<{ start: string; end: string }>): OtaFault[] {
  return messages.flatMap((message, index) => {
    if (!isIsoDate(message.start) || !isIsoDate(message.end)) return [invalid(`message ${index}: Start and End must be dates YYYY-MM-DD`)];
    if (message.end < message.start) return [invalid(`message ${index}: End ${message.end} is before Start ${message.start}`)];
    return [];
  });
}
