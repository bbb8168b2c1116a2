// iCal as a channel: nothing to call. Skerry's availability reaches the OTA when the OTA fetches the
// export feed (api/ical/feed.ts), and an imported event can be neither acknowledged nor refused —
// an event that cannot be placed stays on the OTA, so the reservation workflow's refusal is an
// overbooking event and its alert, and nothing more can be said to the OTA from here.
import type { ChannelClient } from '../channels';

export function createIcalChannelClient(): ChannelClient {
  return {
    channel: 'ical',
    pushCalendar: async () => ({ requests: 0 }),
    confirmReservation: async () => undefined,
    rejectReservation: async () => undefined,
    listReservations: async () => ({ reservations: [] }),
    readCalendar: async () => [],
  };
}
