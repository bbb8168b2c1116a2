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

/**
 * Signal-with-start of the booking workflows, as client/ does it for the API. The worker injects
 * client/'s functions, so an activity that starts a workflow never imports the edge (the layers
 * point down: activities sit below client/).
 */
export interface BookingWorkflowSignals {
  listingSync(
    temporal: Client,
    options: { taskQueue: string; unitId: string; channel: ChannelName; change: CalendarChange; timing?: Partial<ListingSyncTiming> },
  ): Promise<void>;
  mappedChannels(
    temporal: Client,
    inventory: Pick<Inventory, 'mappings'>,
    options: { taskQueue: string; unitId: string; change: CalendarChange; exceptChannel?: ChannelName; timing?: Partial<ListingSyncTiming> },
  ): Promise<ChannelName[]>;
  reservationEvent(temporal: Client, options: { taskQueue: string; event: ChannelReservationEvent; timing?: Partial<ReservationTiming> }): Promise<string>;
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
    ...bookingTimings(config),
  };
}
