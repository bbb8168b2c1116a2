import type { Client } from '@temporalio/client';
import type { Logger } from '../../observability/logger';
import type { ChannelRegistry } from '../../providers/channels';
import { type Inventory } from '../../store/inventory';
import type { CalendarChange, ChannelName, ChannelReservationEvent, ListingSyncTiming, ReservationTiming } from '../../domain/bookings';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { createInventory } from '../../store/inventory';
import { bookingTimings } from '../../config/booking-timings';
import { createChannelRegistry } from '../../providers/channel-registry';
import { channelClientsNeedingDatabase } from '../../providers/airbnb/wiring';
import type { ProviderResilience } from '../../providers/resilience';
import type { ProviderCallObserver } from '../../observability/observers';
import { createIcalFeedStore, type IcalFeedStore } from '../../store/ical-feeds';
import { createIcalEventStore, type IcalEventStore } from '../../store/ical-events';
import { createSealer } from '../../security/sealing';
import type { IcalUrlPolicy, LookupAll } from '../../providers/ical/url-policy';

/**
 * Signal-with-start of the booking workflows, as client/ does it for the API. The worker injects
 * client/'s functions, so an activity that starts a workflow never imports the edge (the layers
 * point down: activities sit below client/).
 */
export interface BookingWorkflowSignals {
  listingSync(
    temporal: Client,
    options: { taskQueue: string; unitId: string; channel: ChannelName; account?: string; change: CalendarChange; timing?: Partial<ListingSyncTiming> },
  ): Promise<void>;
  mappedChannels(
    temporal: Client,
    inventory: Pick<Inventory, 'mappings'>,
    options: { taskQueue: string; unitId: string; change: CalendarChange; exceptChannel?: ChannelName; timing?: Partial<ListingSyncTiming> },
  ): Promise<ChannelName[]>;
  reservationEvent(temporal: Client, options: { taskQueue: string; event: ChannelReservationEvent; timing?: Partial<ReservationTiming> }): Promise<string>;
}

/** The iCal import's stores and limits. */
export interface IcalDeps {
  feeds: IcalFeedStore;
  events: IcalEventStore;
  /** A feed larger than this is refused while it streams. */
  maxBytes?: number;
  fetchTimeoutMs?: number;
  /** Where a feed URL may point; every hop is checked against it. */
  policy: IcalUrlPolicy & { maxRedirects?: number };
  /** Name resolution for the fetch (tests resolve names of their own). */
  lookupAll?: LookupAll;
  /**
   * The shared resilience (a worker's): each feed host's circuit breaker and the iCal throttle and
   * quota. Absent: fetches run unguarded (tests of the import alone).
   */
  resilience?: Pick<ProviderResilience, 'guard' | 'gate'>;
}

/** What the booking activities need; injected by the worker (and by tests). */
export interface BookingActivityDeps {
  inventory: Inventory;
  signals: BookingWorkflowSignals;
  channels: ChannelRegistry;
  logger: Logger;
  /** Counts and times channel calls in the provider-call metrics. */
  observer?: ProviderCallObserver;
  /** The Temporal client for signal-with-start; defaults to the worker's own (activity context). */
  temporal?: () => Client;
  syncTiming?: Partial<ListingSyncTiming>;
  reservationTiming?: Partial<ReservationTiming>;
  /** iCal feeds (import polls, the unit an imported event belongs to). */
  ical?: IcalDeps;
}

/** The booking dependencies of a worker, from its configuration and database. */
export function bookingActivityDeps(
  config: Config,
  db: Database,
  logger: Logger,
  signals: BookingWorkflowSignals,
  resilience?: ProviderResilience,
): BookingActivityDeps {
  return {
    inventory: createInventory(db),
    signals,
    // With `resilience` (a worker): channel calls through the gates, breakers and token manager.
    channels: createChannelRegistry(config, channelClientsNeedingDatabase(config, db, resilience), resilience),
    logger,
    ical: {
      feeds: createIcalFeedStore(db, createSealer(config.channels.tokenEncryptionKey)),
      events: createIcalEventStore(db),
      maxBytes: config.channels.ical.maxBytes,
      policy: config.channels.ical.importPolicy,
      resilience,
    },
    ...bookingTimings(config),
  };
}
