// The one interface every booking channel implements (Booking.com's OTA XML, Airbnb's JSON API).
// The sync, reservation and resync workflows only see these shapes through their activities.
import type { ChannelDay, ChannelMapping, ChannelName, ChannelReservationEvent } from '../domain/bookings';
import type { DateRange } from '../domain/dates';

export interface PushProgress {
  /** Requests already accepted by the channel in an earlier attempt (from heartbeat details). */
  skipRequests: number;
  /** Called after each accepted request with the number done so far (heartbeat + resume point). */
  onRequest(done: number): void;
}

/** Why Skerry refuses a channel's reservation. */
export interface ReservationRefusal {
  reason: string;
  code: 'sold_out' | 'closed' | 'restricted' | 'no_calendar' | 'unknown_unit' | 'conflict';
}

export interface ChannelReservationPage {
  reservations: ChannelReservationEvent[];
  nextCursor?: string;
}

export interface ChannelClient {
  readonly channel: ChannelName;
  /** Sends these nights (already known to differ from what the channel was told) for one mapping. */
  pushCalendar(mapping: ChannelMapping, days: readonly ChannelDay[], progress: PushProgress): Promise<{ requests: number }>;
  /**
   * A channel synced per property (CHANNEL_SYNC_SCOPE): these nights of several mappings of one
   * account, sent together (Channex: one availability and one restrictions call for all of them).
   */
  pushPropertyCalendar?(account: string, entries: ReadonlyArray<{ mapping: ChannelMapping; days: readonly ChannelDay[] }>, progress: PushProgress): Promise<{ requests: number }>;
  /** The reservation messages waiting in the channel's queue (channels that are polled). */
  pullReservations?(): Promise<ChannelReservationEvent[]>;
  /** Confirms to the channel that a reservation message was processed (an ack, where the channel has one). */
  confirmReservation(event: ChannelReservationEvent): Promise<void>;
  /** Rejects or cancels a reservation the channel sold but Skerry cannot honour, with the reason. */
  rejectReservation(event: ChannelReservationEvent, refusal: ReservationRefusal): Promise<void>;
  /** Pages through the channel's reservations (resync). */
  listReservations(request: { externalAccountIds: string[]; cursor?: string; pageSize: number; from: string }): Promise<ChannelReservationPage>;
  /** What the channel currently shows for a mapping (resync): only the fields the channel reports. */
  readCalendar(mapping: ChannelMapping, range: DateRange): Promise<Array<Partial<ChannelDay> & { date: string }>>;
}

export interface ChannelRegistry {
  get(channel: ChannelName): ChannelClient;
  configured(): ChannelName[];
}
