// The channel manager's inventory: one repository per aggregate, composed for the callers (the
// bookings client, the booking activities) that work across several of them.
import type { Database } from '../db/client';
import { createCalendarStore } from './calendar';
import { createChannelMappingStore } from './channel-mappings';
import { createChannelHealthStore } from './channel-health';
import { createChannelMessageStore } from './channel-messages';
import { createChannelStateStore } from './channel-state';
import { createOverbookingStore } from './overbookings';
import { createPropertyStore } from './properties';
import { createReservationStore } from './reservations';
import { createResyncRunStore } from './resync-runs';

export function createInventory(db: Database) {
  return {
    properties: createPropertyStore(db),
    mappings: createChannelMappingStore(db),
    calendar: createCalendarStore(db),
    channelState: createChannelStateStore(db),
    reservations: createReservationStore(db),
    overbookings: createOverbookingStore(db),
    channelMessages: createChannelMessageStore(db),
    channelHealth: createChannelHealthStore(db),
    resyncRuns: createResyncRunStore(db),
  };
}

export type Inventory = ReturnType<typeof createInventory>;
