// What each of the machine account's properties shows on Booking.com, room by room and rate by rate,
// night by night (as pushed in OTA XML): the data the sandbox's ARI, guests and read side share, and
// its part of the persisted state.
import { datesThrough } from '../shared/dates';
import type { ChannelNight } from './bxml';

export interface RateDay {
  price?: number;
  currency?: string;
  minStay?: number;
  maxStay?: number;
  closed?: boolean;
  closedToArrival?: boolean;
  closedToDeparture?: boolean;
}

export interface Room {
  roomsToSell: Map<string, number>;
  /** Closures of the whole room type (a RestrictionStatus without RatePlanCode, endpoint v1.1). */
  closed: Map<string, boolean>;
  rates: Map<string, Map<string, RateDay>>;
}

type SavedRoom = { roomsToSell: [string, number][]; closed: [string, boolean][]; rates: [string, [string, RateDay][]][] };

export class Hotels {
  readonly #hotels = new Map<string, Map<string, Room>>();

  /** A room of a property; created (with its property) on first use when `create`. */
  room(hotelId: string, roomId: string, create: boolean): Room | undefined {
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

  rateDay(room: Room, rateId: string, date: string): RateDay {
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

  rooms(hotelId: string): Array<[string, Room]> {
    return [...(this.#hotels.get(hotelId) ?? new Map<string, Room>())];
  }

  /** What Booking.com shows for a room (and rate) night by night. */
  calendar(hotelId: string, roomId: string, rateId: string | undefined, from: string, to: string): ChannelNight[] {
    const room = this.room(hotelId, roomId, false);
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

  clear(): void {
    this.#hotels.clear();
  }

  snapshot(): Array<[string, Array<[string, SavedRoom]>]> {
    return [...this.#hotels].map(([hotelId, rooms]) => [
      hotelId,
      [...rooms].map(([roomId, room]) => [roomId, { roomsToSell: [...room.roomsToSell], closed: [...room.closed], rates: [...room.rates].map(([rateId, days]) => [rateId, [...days]]) }]),
    ]);
  }

  restore(saved: Array<[string, Array<[string, SavedRoom]>]> | undefined): void {
    this.#hotels.clear();
    for (const [hotelId, rooms] of saved ?? []) {
      this.#hotels.set(
        hotelId,
        new Map(rooms.map(([roomId, room]) => [roomId, { roomsToSell: new Map(room.roomsToSell), closed: new Map(room.closed), rates: new Map(room.rates.map(([rateId, days]) => [rateId, new Map(days)])) }])),
      );
    }
  }
}
