// A stateful Booking.com for one machine account: what each hotel's rooms and rates show (as pushed
// in OTA XML), the reservations guests make, and the two reservation queues (new; modified and
// cancelled) a message stays in until it is acknowledged. Guests and operators act through the
// `/_control` routes (plugin.ts); faults come from the shared injector.
import { randomInt } from 'node:crypto';
import { FaultInjector, FaultSettingsSchema, type FaultSettings } from '../shared/faults';
import { channelSandboxEvents } from '../shared/events';
import { addDays, daysBetween, eachDate, isIsoDate } from '../../workflows/bookings/dates';
import {
  OTA_ERROR,
  type AvailStatusItem,
  type OtaAck,
  type OtaError,
  type OtaReservation,
  type RateAmountItem,
} from '../../providers/booking-com/ota';
import type { RoomRateDay, SummaryReservation } from '../../providers/booking-com/bxml';

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
  minLos?: number;
  closed?: boolean;
  closedToArrival?: boolean;
}

interface Room {
  roomsToSell: Map<string, number>;
  rates: Map<string, Map<string, RateDay>>;
}

export type SandboxReservationState = 'booked' | 'modified' | 'cancelled' | 'rejected';

export interface SandboxReservation {
  resId: string;
  hotelId: string;
  roomId: string;
  rateId?: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  guestName: string;
  total?: { amount: number; currency: string };
  state: SandboxReservationState;
  /** Why the property's system refused it (an ack with error 322). */
  rejection?: string;
  createdAt: string;
  lastModifiedAt: string;
  acknowledgements: Array<{ at: string; queue: 'new' | 'modify'; outcome: 'processed' | 'rejected' | 'failed'; code?: string; text?: string }>;
}

interface QueueEntry {
  resId: string;
  version: string;
  enqueuedAt: number;
  /** The version the last GET of the queue handed out: an ack covers that version, not a newer one. */
  servedVersion?: string;
}

export class SandboxConflict extends Error {
  override readonly name = 'SandboxConflict';
  constructor(
    message: string,
    readonly statusCode = 409,
  ) {
    super(message);
  }
}

export class BookingComSandbox {
  readonly faults: FaultInjector<FaultSettings>;
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
  }

  authenticates(authorization: string | undefined): boolean {
    if (!authorization?.startsWith('Basic ')) return false;
    const [user, ...rest] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':');
    return user === this.options.username && rest.join(':') === this.options.password;
  }

  #iso(): string {
    return new Date(this.#now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
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
      room = { roomsToSell: new Map(), rates: new Map() };
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
  #announce(hotelId: string, items: ReadonlyArray<{ invTypeCode: string; start: string; end: string }>): void {
    const byRoom = new Map<string, Set<string>>();
    for (const item of items) {
      const dates = byRoom.get(item.invTypeCode) ?? new Set<string>();
      for (const date of eachDate({ from: item.start, to: item.end })) dates.add(date);
      byRoom.set(item.invTypeCode, dates);
    }
    for (const [roomId, dates] of byRoom) this.events.emit('calendar', { listing: `${hotelId}/${roomId}`, dates: [...dates], atMs: this.#now() });
  }

  /** Applies OTA_HotelAvailNotifRQ items; hotels and rooms are created on first use. */
  applyAvailability(hotelId: string, items: readonly AvailStatusItem[], echoToken: string): OtaError[] {
    const errors = validateRanges(items);
    if (errors.length > 0) return errors;
    this.counts.availRequests += 1;
    this.counts.availItems += items.length;
    this.pushLog.push({ at: this.#iso(), type: 'avail', hotelId, items: items.length, echoToken });
    for (const item of items) {
      const room = this.#room(hotelId, item.invTypeCode, true)!;
      for (const date of eachDate({ from: item.start, to: item.end })) {
        if (item.bookingLimit !== undefined) room.roomsToSell.set(date, item.bookingLimit);
        if (!item.ratePlanCode) continue;
        const day = this.#rateDay(room, item.ratePlanCode, date);
        if (item.minLos !== undefined) day.minLos = item.minLos;
        if (item.restriction?.type === 'Master') day.closed = item.restriction.status === 'Close';
        if (item.restriction?.type === 'Arrival') day.closedToArrival = item.restriction.status === 'Close';
      }
    }
    this.#announce(hotelId, items);
    return [];
  }

  applyRates(hotelId: string, items: readonly RateAmountItem[], echoToken: string): OtaError[] {
    const errors = validateRanges(items);
    if (errors.length > 0) return errors;
    this.counts.rateRequests += 1;
    this.counts.rateItems += items.length;
    this.pushLog.push({ at: this.#iso(), type: 'rate', hotelId, items: items.length, echoToken });
    for (const item of items) {
      const room = this.#room(hotelId, item.invTypeCode, true)!;
      for (const date of eachDate({ from: item.start, to: item.end })) {
        const day = this.#rateDay(room, item.ratePlanCode, date);
        day.price = item.amount;
        day.currency = item.currency;
      }
    }
    this.#announce(hotelId, items);
    return [];
  }

  /** What Booking.com shows for a room (and rate) night by night. */
  calendar(hotelId: string, roomId: string, rateId: string | undefined, from: string, to: string): RoomRateDay[] {
    const room = this.#room(hotelId, roomId, false);
    const rates = rateId ? room?.rates.get(rateId) : room?.rates.values().next().value;
    return eachDate({ from, to })
      .filter((date) => room?.roomsToSell.has(date) || rates?.has(date))
      .map((date) => {
        const rate = rates?.get(date);
        return {
          date,
          roomsToSell: room?.roomsToSell.get(date),
          price: rate?.price,
          currency: rate?.currency,
          minimumStay: rate?.minLos,
          closed: rate?.closed,
          closedToArrival: rate?.closedToArrival,
        };
      });
  }

  // ─── Guests ────────────────────────────────────────────────────────────────────────────────────
  #take(reservation: { hotelId: string; roomId: string; checkIn: string; checkOut: string; rooms: number }, force: boolean): void {
    const room = this.#room(reservation.hotelId, reservation.roomId, false);
    if (!room) throw new SandboxConflict(`hotel ${reservation.hotelId} has no room ${reservation.roomId} (push its availability first)`, 404);
    const nights = eachDate({ from: reservation.checkIn, to: addDays(reservation.checkOut, -1) });
    const short = nights.filter((date) => (room.roomsToSell.get(date) ?? 0) < reservation.rooms);
    if (short.length > 0 && !force) throw new SandboxConflict(`no rooms to sell on ${short.join(', ')}`);
    for (const date of nights) room.roomsToSell.set(date, Math.max(0, (room.roomsToSell.get(date) ?? 0) - reservation.rooms));
  }

  #giveBack(reservation: SandboxReservation): void {
    const room = this.#room(reservation.hotelId, reservation.roomId, false);
    if (!room) return;
    for (const date of eachDate({ from: reservation.checkIn, to: addDays(reservation.checkOut, -1) })) {
      room.roomsToSell.set(date, (room.roomsToSell.get(date) ?? 0) + reservation.rooms);
    }
  }

  #enqueue(queue: 'new' | 'modify', reservation: SandboxReservation): void {
    this.#queues[queue].set(reservation.resId, { resId: reservation.resId, version: reservation.lastModifiedAt + `#${randomInt(1_000_000)}`, enqueuedAt: this.#now() });
  }

  /** A guest books on Booking.com: the rooms leave Booking.com's availability, a message is queued. */
  book(input: { hotelId: string; roomId: string; rateId?: string; checkIn: string; checkOut: string; rooms?: number; guestName?: string; total?: { amount: number; currency: string }; force?: boolean }): SandboxReservation {
    if (!isIsoDate(input.checkIn) || !isIsoDate(input.checkOut) || daysBetween(input.checkIn, input.checkOut) < 1) {
      throw new SandboxConflict('checkIn and checkOut must be dates with checkOut after checkIn', 400);
    }
    const rooms = input.rooms ?? 1;
    this.#take({ ...input, rooms }, input.force ?? false);
    const now = this.#iso();
    const reservation: SandboxReservation = {
      resId: String(randomInt(1_000_000_000, 9_999_999_999)),
      hotelId: input.hotelId,
      roomId: input.roomId,
      rateId: input.rateId,
      checkIn: input.checkIn,
      checkOut: input.checkOut,
      rooms,
      guestName: input.guestName ?? 'Ada Lindqvist',
      total: input.total ?? this.#priceOf(input.hotelId, input.roomId, input.rateId, input.checkIn, input.checkOut, rooms),
      state: 'booked',
      createdAt: now,
      lastModifiedAt: now,
      acknowledgements: [],
    };
    this.#reservations.set(reservation.resId, reservation);
    this.#enqueue('new', reservation);
    return reservation;
  }

  #priceOf(hotelId: string, roomId: string, rateId: string | undefined, checkIn: string, checkOut: string, rooms: number) {
    const days = this.calendar(hotelId, roomId, rateId, checkIn, addDays(checkOut, -1));
    if (days.length !== daysBetween(checkIn, checkOut) || days.some((day) => day.price === undefined)) return undefined;
    return { amount: days.reduce((sum, day) => sum + day.price!, 0) * rooms, currency: days[0]!.currency! };
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
    Object.assign(reservation, {
      checkIn: next.checkIn,
      checkOut: next.checkOut,
      rooms: next.rooms,
      state: 'modified',
      lastModifiedAt: this.#iso(),
      total: this.#priceOf(reservation.hotelId, reservation.roomId, reservation.rateId, next.checkIn, next.checkOut, next.rooms) ?? reservation.total,
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
  #otaReservation(reservation: SandboxReservation, queue: 'new' | 'modify'): OtaReservation {
    const [givenName, ...surname] = reservation.guestName.split(' ');
    return {
      resId: reservation.resId,
      createdAt: reservation.createdAt,
      lastModifiedAt: reservation.lastModifiedAt,
      status: queue === 'new' ? 'Book' : reservation.state === 'cancelled' ? 'Cancel' : 'Modify',
      hotelCode: reservation.hotelId,
      roomTypeCode: reservation.roomId,
      ratePlanCode: reservation.rateId,
      checkIn: reservation.checkIn,
      checkOut: reservation.checkOut,
      rooms: reservation.rooms,
      guest: { givenName, surname: surname.join(' ') },
      total: reservation.total,
    };
  }

  /** GET of a queue: every message not acknowledged yet (the same ones again until they are). */
  pull(queue: 'new' | 'modify'): OtaReservation[] {
    this.counts.queuePulls += 1;
    return [...this.#queues[queue].values()].map((entry) => {
      if (entry.servedVersion !== entry.version) this.events.emit('retrieved', { reservationId: entry.resId, atMs: this.#now() });
      entry.servedVersion = entry.version;
      return this.#otaReservation(this.reservation(entry.resId), queue);
    });
  }

  /** POST of a queue's RS: processed ids leave the queue; error 322 rejects; other errors keep them. */
  acknowledge(queue: 'new' | 'modify', acks: readonly OtaAck[]): OtaError[] {
    this.counts.acks += 1;
    const errors: OtaError[] = [];
    for (const ack of acks) {
      const reservation = this.#reservations.get(ack.resId);
      if (!reservation) {
        errors.push({ type: '3', code: OTA_ERROR.invalidValue, text: `unknown reservation ${ack.resId}`, recordId: ack.resId });
        continue;
      }
      const entry = this.#queues[queue].get(ack.resId);
      if (!ack.error) {
        // An ack covers the version last handed out; a change made since stays queued.
        if (entry && entry.servedVersion === entry.version) this.#queues[queue].delete(ack.resId);
        reservation.acknowledgements.push({ at: this.#iso(), queue, outcome: 'processed' });
      } else if (ack.error.code === OTA_ERROR.noAvailability) {
        this.counts.rejections += 1;
        this.#queues[queue].delete(ack.resId);
        if (queue === 'new' && reservation.state !== 'cancelled') {
          reservation.state = 'rejected';
          reservation.rejection = ack.error.text;
          this.#giveBack(reservation);
        } else {
          reservation.rejection = `modification refused: ${ack.error.text}`;
        }
        reservation.acknowledgements.push({ at: this.#iso(), queue, outcome: 'rejected', code: ack.error.code, text: ack.error.text });
      } else {
        reservation.acknowledgements.push({ at: this.#iso(), queue, outcome: 'failed', code: ack.error.code, text: ack.error.text });
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
  summary(hotelIds: readonly string[], cursor: string | undefined, limit: number, checkoutFrom?: string): { reservations: SummaryReservation[]; nextCursor?: string } {
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
    for (const date of eachDate({ from, to })) room.roomsToSell.set(date, roomsToSell);
  }

  reset(): void {
    this.#hotels.clear();
    this.#reservations.clear();
    this.#queues.new.clear();
    this.#queues.modify.clear();
    this.pushLog.length = 0;
    this.summaryCursors.length = 0;
    for (const key of Object.keys(this.counts) as Array<keyof typeof this.counts>) this.counts[key] = 0;
    this.faults.clear();
  }

  releaseHeldRequests(): void {
    this.faults.close();
  }

  close(): void {
    this.faults.close();
  }
}

function validateRanges(items: ReadonlyArray<{ start: string; end: string }>): OtaError[] {
  const errors: OtaError[] = [];
  items.forEach((item, index) => {
    if (!isIsoDate(item.start) || !isIsoDate(item.end)) {
      errors.push({ type: '3', code: OTA_ERROR.invalidValue, text: `message ${index}: Start and End must be dates YYYY-MM-DD` });
    } else if (item.end < item.start) {
      errors.push({ type: '3', code: OTA_ERROR.invalidValue, text: `message ${index}: End ${item.end} is before Start ${item.start}` });
    }
  });
  return errors;
}
