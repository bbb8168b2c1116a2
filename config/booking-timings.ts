// The channel manager's sync and reservation timing as the workflows take it, from configuration:
// the worker's activities and the API start workflows with the same values.
import type { ListingSyncTiming, ReservationTiming } from '../domain/bookings';
import type { Config } from './index';

export function bookingTimings(config: Config): { syncTiming: Partial<ListingSyncTiming>; reservationTiming: Partial<ReservationTiming> } {
  const { sync, reservationIdleCloseMs } = config.channels;
  return {
    syncTiming: { quietMs: sync.quietMs, maxDelayMs: sync.maxDelayMs, rateLimit: { maxPushes: sync.maxPushesPerMinute, perMs: 60_000 } },
    reservationTiming: { idleCloseMs: reservationIdleCloseMs },
  };
}
