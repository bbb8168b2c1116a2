// The full resync: pages through a channel's reservations and calendars, compares them with central
// inventory and corrects drift. Each page's cursor is checkpointed in the heartbeat details, so an
// attempt on a restarted worker resumes at the page where the killed one stopped.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { mergeRanges } from '../../workflows/bookings/coalesce';
import { addDays } from '../../domain/dates';
import { CHANNEL_SYNC_SCOPE, channelReservationId, type ChannelDay, type ChannelName, type ResyncProgress } from '../../domain/bookings';
import type { BookingActivityDeps } from './deps';
import { createProviderCallRunner } from '../provider-call';
import { temporalOf } from './reservations';

/** Whether a channel's night differs from ours in anything the channel reports. */
export function drifted(ours: ChannelDay, theirs: Partial<ChannelDay> | undefined): boolean {
  if (!theirs) return true;
  // A channel that does not report stop sell shows a closed night as nothing to sell.
  const expected = theirs.closed === undefined && ours.closed ? 0 : ours.available;
  if (theirs.available !== undefined && theirs.available !== expected) return true;
  if (theirs.price !== undefined && ours.price !== undefined && theirs.price !== ours.price) return true;
  if (theirs.minNights !== undefined && theirs.minNights !== ours.minNights) return true;
  if (theirs.closedToArrival !== undefined && theirs.closedToArrival !== ours.closedToArrival) return true;
  if (theirs.closed !== undefined && theirs.closed !== ours.closed) return true;
  return false;
}

export function createResyncActivities(deps: () => BookingActivityDeps) {
  const today = () => new Date().toISOString().slice(0, 10);
  const mappingsOf = async (channel: ChannelName, accounts?: string[]) =>
    (await deps().inventory.mappings.listChannelMappings(channel)).filter((mapping) => !accounts || accounts.includes(mapping.externalAccountId));

  const saveProgress = (runId: string, channel: ChannelName, trigger: string, progress: ResyncProgress, status: 'running' | 'completed' | 'failed', error?: string) =>
    deps().inventory.resyncRuns.recordResyncRun({
      id: runId,
      channel,
      status,
      trigger,
      pages: progress.pages,
      reservationsChecked: progress.reservationsChecked,
      reservationsCorrected: progress.reservationsCorrected,
      calendarDaysChecked: progress.calendarDaysChecked,
      calendarDaysCorrected: progress.calendarDaysCorrected,
      details: { phase: progress.phase, cursor: progress.cursor, unitsDone: progress.unitsDone, error },
      finished: status !== 'running',
    });

  return {
    async recordResyncRun(input: { runId: string; channel: ChannelName; trigger: string; progress: ResyncProgress; status: 'running' | 'completed' | 'failed'; error?: string; accounts?: string[] }) {
      await saveProgress(input.runId, input.channel, input.trigger, input.progress, input.status, input.error);
    },

    /** Reservations: each one the channel has that central inventory lacks (or has otherwise) is replayed. */
    async resyncReservations(input: {
      runId: string;
      channel: ChannelName;
      trigger: string;
      pageSize: number;
      progress: ResyncProgress;
      accounts?: string[];
      /** Where reservation workflows run (this activity runs on the channel's queue). */
      workflowTaskQueue: string;
    }): Promise<ResyncProgress> {
      const current = deps();
      const context = Context.current();
      let progress: ResyncProgress = (context.info.heartbeatDetails as ResyncProgress | undefined) ?? input.progress;
      if (progress.phase !== 'reservations') return progress;
      const mappings = await mappingsOf(input.channel, input.accounts);
      const accounts = [...new Set(mappings.map((mapping) => mapping.externalAccountId))];
      const client = current.channels.get(input.channel);
      const run = createProviderCallRunner({ subject: 'channel', logger: current.logger, observer: current.observer });
      const temporal = temporalOf(current);
      const taskQueue = input.workflowTaskQueue;
      if (accounts.length === 0) return { ...progress, phase: 'calendar', cursor: undefined };

      for (;;) {
        context.heartbeat(progress);
        const checkpoint = progress;
        const page = await run(input.channel, 'listReservations', { runId: input.runId }, (call) => {
          // The call's own heartbeats carry the last checkpoint, never an older one.
          call.progress(checkpoint);
          return client.listReservations({ externalAccountIds: accounts, cursor: checkpoint.cursor, pageSize: input.pageSize, from: addDays(today(), -1) });
        });
        let corrected = 0;
        for (const theirs of page.reservations) {
          const ours = await current.inventory.reservations.getReservation(channelReservationId(input.channel, theirs.channelReservationId));
          const active = ours && (ours.status === 'confirmed' || ours.status === 'held');
          // Overbooked: standing on the channel without nights here; its cancellation or move still counts.
          const open = active || ours?.status === 'overbooked';
          let kind: 'new' | 'modified' | 'cancelled' | undefined;
          if (theirs.kind === 'cancelled') kind = open ? 'cancelled' : undefined;
          else if (!ours) kind = 'new';
          else if (open && (ours.checkIn !== theirs.checkIn || ours.checkOut !== theirs.checkOut || ours.rooms !== theirs.rooms)) kind = 'modified';
          if (!kind) continue;
          corrected += 1;
          await current.signals.reservationEvent(temporal, {
            taskQueue,
            event: { ...theirs, kind, ack: undefined, eventId: `resync:${input.runId}:${theirs.channelReservationId}:${kind}` },
            timing: current.reservationTiming,
          });
        }
        progress = {
          ...progress,
          pages: progress.pages + 1,
          reservationsChecked: progress.reservationsChecked + page.reservations.length,
          reservationsCorrected: progress.reservationsCorrected + corrected,
          cursor: page.nextCursor,
        };
        // The checkpoint: a retried attempt starts from this cursor.
        context.heartbeat(progress);
        await saveProgress(input.runId, input.channel, input.trigger, progress, 'running');
        if (!page.nextCursor) return { ...progress, phase: 'calendar', cursor: undefined };
        if (context.cancellationSignal.aborted) throw ApplicationFailure.create({ type: 'Cancelled', message: 'resync cancelled' });
      }
    },

    /** Calendars: nights the channel shows differently are forgotten as "told" and pushed again. */
    async resyncCalendar(input: {
      runId: string;
      channel: ChannelName;
      trigger: string;
      horizonDays: number;
      progress: ResyncProgress;
      accounts?: string[];
      workflowTaskQueue: string;
    }): Promise<ResyncProgress> {
      const current = deps();
      const context = Context.current();
      let progress: ResyncProgress = (context.info.heartbeatDetails as ResyncProgress | undefined) ?? input.progress;
      if (progress.phase === 'done') return progress;
      progress = { ...progress, phase: 'calendar' };
      const client = current.channels.get(input.channel);
      const run = createProviderCallRunner({ subject: 'channel', logger: current.logger, observer: current.observer });
      const temporal = temporalOf(current);
      const range = { from: today(), to: addDays(today(), input.horizonDays - 1) };
      // A channel synced per property gets its property's drift in one burst of signals, after every
      // unit of the property was read: they land in one window of the property's sync, one push.
      const perProperty = CHANNEL_SYNC_SCOPE[input.channel] === 'property';
      const groups = new Map<string, Awaited<ReturnType<typeof mappingsOf>>>();
      for (const row of await mappingsOf(input.channel, input.accounts)) {
        if (progress.unitsDone.includes(row.unitId)) continue;
        const key = perProperty ? row.externalAccountId : row.unitId;
        groups.set(key, [...(groups.get(key) ?? []), row]);
      }
      for (const rows of groups.values()) {
        const corrections: Array<{ unitId: string; account: string; drift: ChannelDay[] }> = [];
        let checked = 0;
        for (const row of rows) {
          context.heartbeat(progress);
          const mapping = { mappingId: row.id, unitId: row.unitId, channel: input.channel, externalAccountId: row.externalAccountId, externalListingId: row.externalListingId, externalRateId: row.externalRateId ?? undefined };
          const checkpoint = progress;
          const calendar = await run(input.channel, 'readCalendar', { runId: input.runId, unitId: row.unitId }, (call) => {
            call.progress(checkpoint);
            return client.readCalendar(mapping, range);
          });
          const theirs = new Map(calendar.map((day) => [day.date, day]));
          const ours = await current.inventory.calendar.desiredDays(row.unitId, [range]);
          checked += ours.length;
          corrections.push({ unitId: row.unitId, account: row.externalAccountId, drift: ours.filter((day) => drifted(day, theirs.get(day.date))) });
        }
        for (const { unitId, drift } of corrections) {
          if (drift.length > 0) await current.inventory.channelState.forgetChannelState(unitId, input.channel, drift.map((day) => day.date));
        }
        await Promise.all(
          corrections
            .filter(({ drift }) => drift.length > 0)
            .map(({ unitId, account, drift }) =>
              current.signals.listingSync(temporal, {
                taskQueue: input.workflowTaskQueue,
                unitId,
                channel: input.channel,
                account,
                change: { ranges: mergeRanges(drift.map((day) => ({ from: day.date, to: day.date }))), reason: `resync ${input.runId}: drift` },
                timing: current.syncTiming,
              }),
            ),
        );
        progress = {
          ...progress,
          unitsDone: [...progress.unitsDone, ...rows.map((row) => row.unitId)],
          calendarDaysChecked: progress.calendarDaysChecked + checked,
          calendarDaysCorrected: progress.calendarDaysCorrected + corrections.reduce((sum, { drift }) => sum + drift.length, 0),
        };
        context.heartbeat(progress);
        await saveProgress(input.runId, input.channel, input.trigger, progress, 'running');
      }
      return { ...progress, phase: 'done' };
    },
  };
}
