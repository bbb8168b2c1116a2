// A stateful Booking.com for one machine account: what each hotel's rooms and rates show (as pushed
// in OTA XML), the reservations guests make, and the two reservation queues (new; modified and
// cancelled) a message stays in until it is acknowledged. Guests and operators act through the
// `/_control` routes (plugin.ts); faults come from the shared injector.
import { randomInt } from 'node:crypto';
import { FaultInjector, FaultSettingsSchema, type FaultSettings } from '../shared/faults';
import { channelSandboxEvents } from '../shared/events';
import { SandboxRefusal } from '../shared/errors';
import { SandboxUpkeep } from '../shared/upkeep';
import { datesThrough, daysBetween, isIsoDate, nightsOf } from '../shared/dates';
import { OTA_CODES, OTA_ERROR_TYPES, type Acknowledgement, type AvailStatus, type OtaFault, type QueuedReservation, type RateAmount, type ReservationCore } from './ota';
import type { ChannelNight, SummaryLine } from './bxml';

/**
 * The machine account the sandbox accepts when none is configured: the values Skerry's development
 * configuration uses, so `npm start` connects without setup (a test checks the two agree).
 */
export const BOOKING_COM_DEVELOPMENT_ACCOUNT = { username: 'skerry-machine-account', password: 'skerry-sandbox-password' } as const;

export interface BookingComSandboxOptions {
  /** The machine account's credentials (HTTP Basic). */
  username: string;
  password: string;
  seed?: number;
  now?: () => number;
}

interface RateDay {
  price?: number;
  currency?: string;
  minStay?: number;
  maxStay?: number;
  closed?: boolean;
  closedToArrival?: boolean;
  closedToDeparture?: boolean;
}

interface Room {
  roomsToSell: Map<string, number>;
  /** Closures of the whole room type (a RestrictionStatus without RatePlanCode, endpoint v1.1). */
  closed: Map<string, boolean>;
  rates: Map<string, Map<string, RateDay>>;
}

export type SandboxReservationState = 'booked' | 'modified' | 'cancelled' | 'rejected';

export interface SandboxReservation extends ReservationCore {
  guestName: string;
  state: SandboxReservationState;
  /** Why the property's system refused it (an ack with error 322). */
  rejection?: string;
  acknowledgements: Array<{ at: string; queue: 'new' | 'modify'; outcome: 'processed' | 'rejected' | 'failed'; code?: string; text?: string }>;
}

interface QueueEntry {
  resId: string;
  version: string;
  enqueuedAt: number;
  /** The version the last GET of the queue handed out: an ack covers that version, not a newer one. */
  servedVersion?: string;
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
  readonly #hotels = new Map<string, Map<string, Room>>();
  readonly #reservations = new Map<string, SandboxReservation>();
  readonly #queues = { new: new Map<string, QueueEntry>(), modify: new Map<string, QueueEntry>() };
  readonly #now: () => number;
  counts = { availRequests: 0, rateRequests: 0, availItems: 0, rateItems: 0, queuePulls: 0, acks: 0, rejections: 0, authFailures: 0 };
  /** The cursor of every reservations-summary page asked for ('' = first page), oldest first. */
  readonly summaryCursors: string[] = [];
  /** Every ARI request received, newest last (for tests and the control API). */
  readonly pushLog: Array<{ at: string; type: 'avail' | 'rate'; hotelId: string; items: number; echoToken: string }> = [];
  readonly events = channelSandboxEvents();

  constructor(options: BookingComSandboxOptions) {
    this.options = options;
    this.#now = options.now ?? Date.now;
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

  #room(hotelId: string, roomId: string, create: boolean): Room | undefined {
    let hotel = this.#hotels.get(hotelId);
    if (!hotel) {
      if (!create) return undefined;
      hotel = new Map();
      this.#hotels.set(hotelId, hotel);
    }
    let room = hotel.get(roomId);
    if (!room && create) {
      room = { roomsToSell: new Map(), closed: new Map(), rates: new Map() };
      hotel.set(roomId, room);
    }
    return room;
  }

  #rateDay(room: Room, rateId: string, date: string): RateDay {
    let rate = room.rates.get(rateId);
    if (!rate) {
      rate = new Map();
      room.rates.set(rateId, rate);
    }
    let day = rate.get(date);
    if (!day) {
      day = {};
      rate.set(date, day);
    }
    return day;
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
      const room = this.#room(hotelId, message.roomId, true)!;
      for (const date of datesThrough(message.start, message.end)) {
        if (message.roomsToSell !== undefined) room.roomsToSell.set(date, message.roomsToSell);
        const { restriction } = message;
        if (!message.rateId) {
          if (restriction?.applies === 'stay') room.closed.set(date, !restriction.open);
          continue;
        }
        const day = this.#rateDay(room, message.rateId, date);
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
      const room = this.#room(hotelId, message.roomId, true)!;
      for (const date of datesThrough(message.start, message.end)) {
        const day = this.#rateDay(room, message.rateId, date);
        day.price = price.amount;
        day.currency = price.currency;
      }
    }
    this.#announce(hotelId, messages);
    return [];
  }

  /** What Booking.com shows for a room (and rate) night by night. */
  calendar(hotelId: string, roomId: string, rateId: string | undefined, from: string, to: string): ChannelNight[] {
    const room = this.#room(hotelId, roomId, false);
    const rates = rateId ? room?.rates.get(rateId) : room?.rates.values().next().value;
    return datesThrough(from, to)
      .filter((date) => room?.roomsToSell.has(date) || room?.closed.has(date) || rates?.has(date))
      .map((date) => {
        const rate = rates?.get(date);
        const roomClosed = room?.closed.get(date);
        return {
          date,
          roomsToSell: room?.roomsToSell.get(date),
          price: rate?.price,
          currency: rate?.currency,
          minimumStay: rate?.minStay,
          maximumStay: rate?.maxStay,
          closed: rate?.closed === undefined && roomClosed === undefined ? undefined : Boolean(rate?.closed || roomClosed),
          closedToArrival: rate?.closedToArrival,
          closedToDeparture: rate?.closedToDeparture,
        };
      });
  }

  // ─── Guests ────────────────────────────────────────────────────────────────────────────────────
  #take(reservation: { hotelId: string; roomId: string; checkIn: string; checkOut: string; rooms: number }, force: boolean): void {
    const room = this.#room(reservation.hotelId, reservation.roomId, false);
    if (!room) throw new SandboxConflict(`hotel ${reservation.hotelId} has no room ${reservation.roomId} (push its availability first)`, 404);
    const nights = nightsOf(reservation.checkIn, reservation.checkOut);
    const short = nights.filter((date) => (room.roomsToSell.get(date) ?? 0) < reservation.rooms);
    if (short.length > 0 && !force) throw new SandboxConflict(`no rooms to sell on ${short.join(', ')}`);
    for (const date of nights) room.roomsToSell.set(date, Math.max(0, (room.roomsToSell.get(date) ?? 0) - reservation.rooms));
  }

  #giveBack(reservation: SandboxReservation): void {
    const room = this.#room(reservation.hotelId, reservation.roomId, false);
    if (!room) return;
    for (const date of nightsOf(reservation.checkIn, reservation.checkOut)) {
      room.roomsToSell.set(date, (room.roomsToSell.get(date) ?? 0) + reservation.rooms);
    }
  }

  #enqueue(queue: 'new' | 'modify', reservation: SandboxReservation): void {
    this.#queues[queue].set(reservation.resId, { resId: reservation.resId, version: reservation.lastModifiedAt + `#${randomInt(1_000_000)}`, enqueuedAt: this.#now() });
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
    if (reservation.state === 'cancelled' || reservation.state === 'rejected') throw new SandboxConflict(`reservation ${resId} is ${reservation.state}`);
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
    if (reservation.state !== 'rejected') this.#giveBack(reservation);
    reservation.state = 'cancelled';
    reservation.lastModifiedAt = this.#iso();
    this.#queues.new.delete(resId);
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
    const { guestName, state, rejection: _rejection, acknowledgements: _acknowledgements, ...core } = reservation;
    const [givenName = '', ...surname] = guestName.split(' ');
    return { ...core, status: state === 'cancelled' ? 'cancelled' : state === 'modified' ? 'modified' : 'booked', guest: { givenName, surname: surname.join(' ') } };
  }

  /** GET of a queue: every message not acknowledged yet (the same ones again until they are). */
  pull(queue: 'new' | 'modify'): QueuedReservation[] {
    this.counts.queuePulls += 1;
    return [...this.#queues[queue].values()].map((entry) => {
      if (entry.servedVersion !== entry.version) this.events.emit('retrieved', { reservationId: entry.resId, atMs: this.#now() });
      entry.servedVersion = entry.version;
      return this.#queued(this.reservation(entry.resId));
    });
  }

  /**
   * POST of a queue's RS: processed ids leave the queue; a refusal with 322 (no availability) rejects
   * the reservation; any other refusal keeps it queued, as "unsuccessfully processed".
   */
  acknowledge(queue: 'new' | 'modify', acknowledgements: readonly Acknowledgement[]): OtaFault[] {
    this.counts.acks += 1;
    const errors: OtaFault[] = [];
    for (const { resId, refusal } of acknowledgements) {
      const reservation = this.#reservations.get(resId);
      if (!reservation) {
        errors.push(invalid(`unknown reservation ${resId}`, resId));
        continue;
      }
      const entry = this.#queues[queue].get(resId);
      if (!refusal) {
        // An ack covers the version last handed out; a change made since stays queued.
        if (entry && entry.servedVersion === entry.version) this.#queues[queue].delete(resId);
        reservation.acknowledgements.push({ at: this.#iso(), queue, outcome: 'processed' });
      } else if (refusal.code === OTA_CODES.noAvailability.code) {
        this.counts.rejections += 1;
        this.#queues[queue].delete(resId);
        if (queue === 'new' && reservation.state !== 'cancelled') {
          reservation.state = 'rejected';
          reservation.rejection = refusal.text;
          this.#giveBack(reservation);
        } else {
          reservation.rejection = `modification refused: ${refusal.text}`;
        }
        reservation.acknowledgements.push({ at: this.#iso(), queue, outcome: 'rejected', code: refusal.code, text: refusal.text });
      } else {
        reservation.acknowledgements.push({ at: this.#iso(), queue, outcome: 'failed', code: refusal.code, text: refusal.text });
      }
    }
    return errors;
  }

  queueState(): Record<'new' | 'modify', Array<{ resId: string; ageMs: number; served: boolean }>> {
    const view = (queue: 'new' | 'modify') =>
      [...this.#queues[queue].values()].map((entry) => ({ resId: entry.resId, ageMs: this.#now() - entry.enqueuedAt, served: entry.servedVersion === entry.version }));
    return { new: view('new'), modify: view('modify') };
  }

  /** The reservations summary (resync): every reservation of these hotels, paged by a numeric cursor. */
  summary(hotelIds: readonly string[], cursor: string | undefined, limit: number, checkoutFrom?: string): { reservations: SummaryLine[]; nextCursor?: string } {
    this.summaryCursors.push(cursor ?? '');
    const all = this.reservations()
      .filter((reservation) => hotelIds.includes(reservation.hotelId) && (!checkoutFrom || reservation.checkOut >= checkoutFrom))
      .sort((a, b) => a.resId.localeCompare(b.resId));
    const start = cursor ? Number(cursor) : 0;
    const page = all.slice(start, start + limit);
    return {
      nextCursor: start + limit < all.length ? String(start + limit) : undefined,
      reservations: page.map((reservation) => ({
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
      })),
    };
  }

  /** Sets what the channel shows, bypassing Skerry (a manual edit in the extranet: drift). */
  setRoomsToSell(hotelId: string, roomId: string, from: string, to: string, roomsToSell: number): void {
    const room = this.#room(hotelId, roomId, true)!;
    for (const date of datesThrough(from, to)) room.roomsToSell.set(date, roomsToSell);
  }

  reset(): void {
    this.upkeep.reset();
    this.#hotels.clear();
    this.#reservations.clear();
    this.#queues.new.clear();
    this.#queues.modify.clear();
    this.pushLog.length = 0;
    this.summaryCursors.length = 0;
    for (const key of Object.keys(this.counts) as Array<keyof typeof this.counts>) this.counts[key] = 0;
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
