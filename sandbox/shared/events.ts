// What the channel sandboxes tell in-process observers as it happens: the benchmark times the
// availability sync by it (to the millisecond, without polling the sandbox), tests may wait on it.
import { EventEmitter } from 'node:events';

export interface ChannelSandboxEvents {
  /** A push was applied to these nights of a listing (Booking.com: `<hotelId>/<roomId>`; Airbnb: the listing id). */
  calendar: [{ listing: string; dates: readonly string[]; atMs: number }];
  /** The property's system fetched a reservation from the channel's queue (Booking.com's pull). */
  retrieved: [{ reservationId: string; atMs: number }];
}

export const channelSandboxEvents = () => new EventEmitter<ChannelSandboxEvents>();
