// What the reservation workflow does outside itself: inventory transactions in Postgres, the channel
// calls that confirm or reject a reservation, and the signals that make other channels push.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ChannelName, ChannelReservationEvent, HoldResult, ReservationChannel } from '../../domain/bookings';
import type { DateRange } from '../../domain/dates';
import { CHANNEL_LABELS } from '../../domain/bookings';
import type { Money } from '../../domain/money';
import type { ReservationRefusal } from '../../providers/channels';
import type { HoldRequest } from '../../store/reservations';
import type { BookingActivityDeps } from './deps';
import { createProviderCallRunner } from '../provider-call';

export interface LoadedReservation {
  status: 'held' | 'confirmed' | 'cancelled' | 'released' | 'rejected' | 'overbooked';
  unitId?: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  guestName?: string;
  total?: Money;
  paymentId?: string;
  reason?: string;
}

export function temporalOf(deps: BookingActivityDeps): Client {
  return deps.temporal ? deps.temporal() : Context.current().client;
}

export function createReservationActivities(deps: () => BookingActivityDeps) {
  const ackMessage = async (event: ChannelReservationEvent, outcome: { ok: true; result: string } | { ok: false; error: string }) => {
    if (event.ack) await deps().inventory.channelMessages.recordAckAttempt(event.channel, event.ack.messageId, outcome);
  };

  return {
    async loadReservation({ reservationId }: { reservationId: string }): Promise<LoadedReservation | null> {
      const row = await deps().inventory.reservations.getReservation(reservationId);
      if (!row) return null;
      return {
        status: row.status,
        unitId: row.unitId ?? undefined,
        checkIn: row.checkIn,
        checkOut: row.checkOut,
        rooms: row.rooms,
        guestName: row.guestName ?? undefined,
        total: row.totalAmount !== null && row.currency ? { value: row.totalAmount, currency: row.currency } : undefined,
        paymentId: row.paymentId ?? undefined,
        reason: row.reason ?? undefined,
      };
    },

    async holdInventory(request: HoldRequest): Promise<HoldResult> {
      return deps().inventory.reservations.hold(request);
    },

    async releaseInventory(input: { reservationId: string; status: 'cancelled' | 'released'; reason?: string }): Promise<{ released: boolean; range?: DateRange }> {
      const { released, range } = await deps().inventory.reservations.release(input);
      return { released, range };
    },

    async confirmHeldReservation({ reservationId }: { reservationId: string }): Promise<boolean> {
      return deps().inventory.reservations.confirm(reservationId);
    },

    async modifyReservationInventory(input: { reservationId: string; checkIn: string; checkOut: string; rooms: number; total?: Money }): Promise<HoldResult> {
      const { previous: _previous, next: _next, ...result } = await deps().inventory.reservations.modify(input);
      return result as HoldResult;
    },

    async resolveChannelUnit(input: { channel: ChannelName; externalAccountId: string; externalListingId: string }): Promise<string | null> {
      // An iCal event names its import feed, not a listing: a unit may import several OTAs' feeds.
      if (input.channel === 'ical') return (await deps().ical?.feeds.unitOfImportFeed(input.externalListingId)) ?? null;
      const mapping = await deps().inventory.mappings.findMappingByExternal(input.channel, input.externalAccountId, input.externalListingId);
      return mapping?.unitId ?? null;
    },

    /**
     * A channel sold nights Skerry cannot give: the refusal is kept (a rejected reservation, an
     * overbooking event when the nights were gone) and raised as an alert in the logs. `stands`: the
     * reservation stays on its channel whatever Skerry answers (Booking.com), so it is kept as
     * overbooked, with an overbooking event whatever the cause, for a person to relocate or cancel.
     */
    async recordChannelRejection(input: {
      event: ChannelReservationEvent;
      reservationId: string;
      unitId?: string;
      reason: string;
      code: Extract<HoldResult, { ok: false }>['code'];
      dates: string[];
      /** A refused modification leaves the existing reservation as it is. */
      keepReservation: boolean;
      workflowId: string;
      stands?: boolean;
    }): Promise<{ overbookingId?: number; released?: DateRange }> {
      const { inventory, logger } = deps();
      const { event } = input;
      const label = CHANNEL_LABELS[event.channel];
      let released: DateRange | undefined;
      if (!input.keepReservation) {
        ({ released } = await inventory.reservations.recordRejected({
          reservationId: input.reservationId,
          unitId: input.unitId ?? '',
          channel: event.channel as ReservationChannel,
          channelReservationId: event.channelReservationId,
          checkIn: event.checkIn,
          checkOut: event.checkOut,
          rooms: event.rooms,
          guestName: event.guest?.name,
          total: event.total,
          reason: input.reason,
          workflowId: input.workflowId,
          status: input.stands ? 'overbooked' : 'rejected',
        }));
      }
      if (input.code !== 'sold_out' && !input.stands) {
        logger.error(
          { alert: 'channel_reservation_refused', channel: event.channel, channelReservationId: event.channelReservationId, reason: input.reason },
          `${CHANNEL_LABELS[event.channel]} reservation ${event.channelReservationId} refused: ${input.reason}`,
        );
        return { released };
      }
      const overbooking = await inventory.overbookings.recordOverbooking({
        unitId: input.unitId,
        channel: event.channel,
        channelReservationId: event.channelReservationId,
        reservationId: input.reservationId,
        checkIn: event.checkIn,
        checkOut: event.checkOut,
        rooms: event.rooms,
        reason: input.reason,
        details: { dates: input.dates, kind: event.kind, eventId: event.eventId },
      });
      logger.error(
        {
          alert: 'overbooking',
          overbookingId: overbooking.id,
          stands: Boolean(input.stands),
          unitId: input.unitId,
          channel: event.channel,
          channelReservationId: event.channelReservationId,
          checkIn: event.checkIn,
          checkOut: event.checkOut,
          dates: input.dates,
        },
        input.stands
          ? `OVERBOOKING: ${label} reservation ${event.channelReservationId} stands on ${label} but cannot be placed (${input.reason}); relocate the guest or cancel it on ${label}`
          : `OVERBOOKING: ${label} sold ${input.unitId} for ${input.dates.join(', ')} after it was taken; the reservation is rejected on ${label}`,
      );
      return { overbookingId: overbooking.id, released };
    },

    /** Acknowledges the processed message to its channel; retried until the channel takes it. */
    async confirmChannelReservation({ event }: { event: ChannelReservationEvent; reservationId: string }): Promise<void> {
      const { channels, logger, observer } = deps();
      const run = createProviderCallRunner({ subject: 'channel', logger, observer });
      try {
        await run(event.channel, 'confirmReservation', { channelReservationId: event.channelReservationId }, () =>
          channels.get(event.channel).confirmReservation(event),
        );
      } catch (err) {
        await ackMessage(event, { ok: false, error: (err as Error).message });
        throw err;
      }
      await ackMessage(event, { ok: true, result: 'processed' });
    },

    /** Rejects (or cancels) a reservation on its channel with the reason. */
    async rejectChannelReservation(input: {
      event: ChannelReservationEvent;
      reservationId: string;
      reason: string;
      code: ReservationRefusal['code'];
      overbookingId?: number;
    }): Promise<void> {
      const { channels, logger, inventory, observer } = deps();
      const run = createProviderCallRunner({ subject: 'channel', logger, observer });
      try {
        await run(input.event.channel, 'rejectReservation', { channelReservationId: input.event.channelReservationId }, () =>
          channels.get(input.event.channel).rejectReservation(input.event, { reason: input.reason, code: input.code }),
        );
      } catch (err) {
        await ackMessage(input.event, { ok: false, error: (err as Error).message });
        throw err;
      }
      await ackMessage(input.event, { ok: true, result: `rejected: ${input.reason}` });
      if (input.overbookingId !== undefined) await inventory.overbookings.markOverbookingNotified(input.overbookingId);
    },

    /** Signals the sync of every channel the unit is mapped to but `exceptChannel`, the change's origin. */
    async notifyCalendarChanged(input: {
      unitId: string;
      ranges: DateRange[];
      reason: string;
      /** Nights were sold: the syncs push without waiting for their quiet window. */
      urgent?: boolean;
      exceptChannel?: ChannelName;
      /** Where the sync workflows run (the caller's workflow task queue). */
      workflowTaskQueue: string;
    }): Promise<{ channels: ChannelName[] }> {
      const current = deps();
      // The channel the change came from applied it itself; it is in sync for those nights, not stale.
      if (input.exceptChannel) await current.inventory.channelState.recordChannelOwnChange(input.unitId, input.exceptChannel, input.ranges);
      const channels = await current.signals.mappedChannels(temporalOf(current), current.inventory, {
        taskQueue: input.workflowTaskQueue,
        unitId: input.unitId,
        change: { ranges: input.ranges, reason: input.reason, ...(input.urgent ? { urgent: true } : {}) },
        exceptChannel: input.exceptChannel,
        timing: current.syncTiming,
      });
      return { channels };
    },
  };
}
