// The inventory part of the bookings façade: properties, units, channel mappings and the calendar,
// and the availability syncs that carry every change of nights to the channels a unit is mapped to.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { CalendarUpdate } from '../store/calendar';
import type { ChannelMappingStore } from '../store/channel-mappings';
import type { Inventory } from '../store/inventory';
import { listingSyncWorkflow } from '../workflows/bookings/listing-sync';
import { calendarChangedSignal, listingSyncStateQuery } from '../workflows/bookings/messages';
import { listingSyncWorkflowId, propertySyncWorkflowId } from '../domain/workflow-ids';
import { CHANNEL_SYNC_SCOPE, type CalendarChange, type ChannelName, type ListingSyncInput, type ListingSyncState, type ListingSyncTiming } from '../domain/bookings';
import { channelSearchAttribute, listingIdSearchAttribute, syncStatusSearchAttribute } from '../domain/search-attributes';
import type { DateRange } from '../domain/dates';
import { DEFAULT_TEMPORAL_DEADLINES, withinDeadline, type TemporalDeadlines } from './deadlines';

/**
 * Tells a unit's sync on one channel that nights changed: signal-with-start, so the long-running
 * sync is created on first use and receives every later change. For a channel synced per property
 * (CHANNEL_SYNC_SCOPE) the signal goes to the sync of the unit's channel account (`account`, the
 * mapping's externalAccountId), which pushes the window's changes of all its units together.
 * Used by the API and the activities.
 */
export async function signalListingSync(
  temporal: Client,
  options: {
    taskQueue: string;
    unitId: string;
    channel: ChannelName;
    account?: string;
    change: CalendarChange;
    timing?: Partial<ListingSyncTiming>;
    deadlines?: Partial<TemporalDeadlines>;
  },
): Promise<void> {
  const callMs = options.deadlines?.callMs ?? DEFAULT_TEMPORAL_DEADLINES.callMs;
  const account = CHANNEL_SYNC_SCOPE[options.channel] === 'property' ? options.account : undefined;
  const perProperty = account !== undefined;
  if (CHANNEL_SYNC_SCOPE[options.channel] === 'property' && !account) throw new Error(`${options.channel} syncs per property: the change of ${options.unitId} needs its mapping's account`);
  const target = perProperty
    ? {
        workflowId: propertySyncWorkflowId(options.channel, account),
        args: [{ account, channel: options.channel, timing: options.timing }] as [ListingSyncInput],
        staticSummary: `Availability sync of ${options.channel} property ${options.account}`,
      }
    : {
        workflowId: listingSyncWorkflowId(options.unitId, options.channel),
        args: [{ unitId: options.unitId, channel: options.channel, timing: options.timing }] as [ListingSyncInput],
        staticSummary: `Availability sync of ${options.unitId} to ${options.channel}`,
      };
  await withinDeadline(temporal)(callMs, () => temporal.workflow.signalWithStart(listingSyncWorkflow, {
    taskQueue: options.taskQueue,
    workflowId: target.workflowId,
    args: target.args,
    signal: calendarChangedSignal,
    signalArgs: [perProperty ? { ...options.change, unitId: options.unitId } : options.change],
    typedSearchAttributes: [
      // A property's sync is the account's, not one listing's.
      ...(perProperty ? [] : [{ key: listingIdSearchAttribute, value: options.unitId }]),
      { key: channelSearchAttribute, value: options.channel },
      { key: syncStatusSearchAttribute, value: 'coalescing' },
    ],
    staticSummary: target.staticSummary,
  }));
}

/**
 * Tells the sync of every channel the unit is mapped to (but `exceptChannel`, where the change came
 * from) that nights changed. One place for the API's calendar edits and the reservation workflow.
 */
export async function signalMappedChannels(
  temporal: Client,
  inventory: Pick<Inventory, 'mappings'>,
  options: { taskQueue: string; unitId: string; change: CalendarChange; exceptChannel?: ChannelName; timing?: Partial<ListingSyncTiming>; deadlines?: Partial<TemporalDeadlines> },
): Promise<ChannelName[]> {
  const mappings = (await inventory.mappings.listMappings(options.unitId)).filter((mapping) => mapping.channel !== options.exceptChannel);
  await Promise.all(
    mappings.map((mapping) =>
      signalListingSync(temporal, {
        taskQueue: options.taskQueue,
        unitId: options.unitId,
        channel: mapping.channel as ChannelName,
        account: mapping.externalAccountId,
        change: options.change,
        timing: options.timing,
        deadlines: options.deadlines,
      }),
    ),
  );
  return mappings.map((mapping) => mapping.channel as ChannelName);
}

export interface InventoryClientOptions {
  temporal: Client;
  inventory: Inventory;
  taskQueue: string;
  syncTiming?: Partial<ListingSyncTiming>;
  /** How long each call to Temporal may take; past it the call fails (the API answers 503) instead of hanging. */
  deadlines?: Partial<TemporalDeadlines>;
}

export function createInventoryClient(options: InventoryClientOptions) {
  const { temporal, inventory, taskQueue } = options;
  const deadlines: TemporalDeadlines = { ...DEFAULT_TEMPORAL_DEADLINES, ...options.deadlines };
  const within = withinDeadline(temporal);

  /** Tells every mapped channel's sync (but `exceptChannel`) that nights changed. */
  const notifyChannels = (unitId: string, change: CalendarChange, exceptChannel?: ChannelName) =>
    signalMappedChannels(temporal, inventory, { taskQueue, unitId, change, exceptChannel, timing: options.syncTiming, deadlines });

  return {
    inventory,
    notifyChannels,

    createProperty: inventory.properties.createProperty,
    listProperties: inventory.properties.listProperties,
    createUnit: inventory.properties.createUnit,
    listUnits: inventory.properties.listUnits,
    getUnit: inventory.properties.getUnit,
    listMappings: inventory.mappings.listMappings,
    listOverbookings: inventory.overbookings.listOverbookings,

    /** Maps a unit to a channel and pushes its whole calendar there (the initial full load). */
    async createMapping(input: Parameters<ChannelMappingStore['createMapping']>[0], fullLoad?: DateRange) {
      const mapping = await inventory.mappings.createMapping(input);
      if (fullLoad) {
        await signalListingSync(temporal, {
          taskQueue,
          unitId: input.unitId,
          channel: input.channel,
          account: input.externalAccountId,
          change: { ranges: [fullLoad], reason: 'mapping created: full load' },
          timing: options.syncTiming,
          deadlines,
        });
      }
      return mapping;
    },

    /** Edits the calendar, then every mapped channel's sync pushes the changed nights. */
    async updateCalendar(unitId: string, updates: CalendarUpdate[]): Promise<{ ranges: DateRange[]; channels: ChannelName[] }> {
      const ranges = await inventory.calendar.updateCalendar(unitId, updates);
      const channels = await notifyChannels(unitId, { ranges, reason: 'calendar edit' });
      return { ranges, channels };
    },

    getCalendar: (unitId: string, range: DateRange) => inventory.calendar.readCalendar(unitId, range),

    /** A unit's sync on a channel; of a property's sync, what concerns this unit. */
    async getSyncState(unitId: string, channel: ChannelName): Promise<ListingSyncState | undefined> {
      let workflowId = listingSyncWorkflowId(unitId, channel);
      if (CHANNEL_SYNC_SCOPE[channel] === 'property') {
        const mapping = await inventory.mappings.getMapping(unitId, channel);
        if (!mapping) return undefined;
        workflowId = propertySyncWorkflowId(channel, mapping.externalAccountId);
      }
      try {
        const state = await within(deadlines.callMs, () => temporal.workflow.getHandle<typeof listingSyncWorkflow>(workflowId).query(listingSyncStateQuery));
        if (state.pendingUnits === undefined) return state;
        return { ...state, unitId, pendingRanges: state.pendingUnits[unitId] ?? [] };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },
  };
}

export type InventoryClient = ReturnType<typeof createInventoryClient>;
