// The booking workflows' messages: signals, queries, updates and workflow ids of the listing sync,
// the reservation, the reservation poll and the resync.
import { defineSignal, defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CalendarChange, ListingSyncState, ChannelReservationEvent, ReservationState, ReservationPollState, ResyncState } from '../../domain/bookings';

/** One or more nights of a unit changed: the sync pushes them to its channel after coalescing. */
export const calendarChangedSignal = defineSignal<[CalendarChange]>('calendarChanged');
export const listingSyncStateQuery = defineQuery<ListingSyncState>('listingSyncState');

/** A channel's reservation message (new, modified, cancelled), by signal-with-start. */
export const reservationEventSignal = defineSignal<[ChannelReservationEvent]>('reservationEvent');
export const reservationStateQuery = defineQuery<ReservationState>('reservationState');
/** Resolves once the hold was decided (held, confirmed or refused); the API waits on it. */
export const awaitHoldUpdate = defineUpdate<ReservationState>('awaitHold');
export const cancelReservationUpdate = defineUpdate<ReservationState, [{ reason?: string }]>('cancelReservation');

export const reservationPollStateQuery = defineQuery<ReservationPollState>('reservationPollState');
export const pollNowSignal = defineSignal('pollNow');

export const resyncStateQuery = defineQuery<ResyncState>('resyncState');
