// The availability push: reads what the nights should be from Postgres, sends only what differs from
// what the channel was last told, and remembers what it told. Long pushes heartbeat the number of
// requests the channel accepted, so a retried attempt does not send them again.
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { sameChannelDay } from '../../store/channel-state';
import type { ChannelDay, ChannelMapping, ChannelName, PushCalendarResult } from '../../domain/bookings';
import type { DateRange } from '../../domain/dates';
import type { BookingActivityDeps } from './deps';
import { createProviderCallRunner } from '../provider-call';
import { staleBufferFor, withStaleBuffer } from './stale-buffer';

/**
 * Shown on the calendar as `failed` for these nights until a later attempt gets them through; the
 * attempt still fails as before (Temporal retries it). Losing this note loses only the colour.
 */
async function noteFailedPush(
  { inventory, logger }: Pick<BookingActivityDeps, 'inventory' | 'logger'>,
  channel: ChannelName,
  units: Array<{ unitId: string; days: ChannelDay[] }>,
  err: Error,
): Promise<void> {
  for (const { unitId, days } of units) {
    await inventory.channelState.recordPushFailure(unitId, channel, days.map((day) => day.date), err.message).catch((noteErr: Error) =>
      logger.warn({ err: noteErr.message, unitId, channel }, 'could not record the failed push'),
    );
  }
}

/** A push's progress, heartbeated after each request the channel accepted. */
interface PushResumePoint {
  requestsDone: number;
  /** What the push was sending: a retried attempt resumes only if it would send the same. */
  contentDigest?: string;
}

function contentDigest(content: unknown): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('base64url');
}

/**
 * Where a retried attempt starts. Each attempt reads the nights afresh; when they changed since the
 * last attempt (an edit landed in between), its requests are not the last attempt's, and skipping by
 * count would skip new values — then record them as told, so no later push would ever send them.
 * It sends all of them again instead: re-sending a value the channel has is harmless.
 */
function resumeFrom(previous: PushResumePoint | undefined, digest: string): number {
  return previous?.contentDigest === digest ? previous.requestsDone : 0;
}

export function createSyncActivities(deps: () => BookingActivityDeps) {
  return {
    async pushChannelCalendar({ unitId, channel, ranges }: { unitId: string; channel: ChannelName; ranges: DateRange[] }): Promise<PushCalendarResult> {
      const { inventory, channels, logger, observer, ical } = deps();
      const mapping = await inventory.mappings.getMapping(unitId, channel);
      if (!mapping) {
        throw ApplicationFailure.create({ type: 'ChannelNotMapped', message: `unit ${unitId} has no ${channel} mapping`, nonRetryable: true });
      }
      const buffer = ical ? await staleBufferFor(ical.feeds, unitId, channel, Date.now()) : undefined;
      const desired = withStaleBuffer(await inventory.calendar.desiredDays(unitId, ranges), buffer);
      const told = await inventory.channelState.readChannelState(unitId, channel, ranges);
      const changed = desired.filter((day) => !sameChannelDay(day, told.get(day.date)));
      if (changed.length === 0) return { daysPushed: 0, daysUnchanged: desired.length, requests: 0 };

      const run = createProviderCallRunner({ subject: 'channel', logger, observer });
      const digest = contentDigest({ mapping, changed });
      const { requests } = await run<{ requests: number }, PushResumePoint>(
        channel,
        'pushCalendar',
        { unitId, days: changed.length },
        (call) =>
          channels.get(channel).pushCalendar(mapping, changed, {
            skipRequests: resumeFrom(call.resumeFrom, digest),
            onRequest: (done) => call.progress({ requestsDone: done, contentDigest: digest }),
          }),
      ).catch(async (err: Error) => {
        await noteFailedPush(deps(), channel, [{ unitId, days: changed }], err);
        throw err;
      });
      await inventory.channelState.recordChannelState(unitId, channel, changed);
      return { daysPushed: changed.length, daysUnchanged: desired.length - changed.length, requests };
    },

    /**
     * A property's sync (Channex): the changed nights of every unit of the window, in one push of the
     * account, so the channel sees one call per kind however many units changed.
     */
    async pushChannelProperty({ channel, account, units }: { channel: ChannelName; account: string; units: Record<string, DateRange[]> }): Promise<PushCalendarResult> {
      const { inventory, channels, logger, observer, ical } = deps();
      const client = channels.get(channel);
      if (!client.pushPropertyCalendar) {
        throw ApplicationFailure.create({ type: 'ChannelNotPropertyScoped', message: `${channel} does not push per property`, nonRetryable: true });
      }
      const pushProperty = client.pushPropertyCalendar.bind(client);
      const entries: Array<{ mapping: ChannelMapping; days: ChannelDay[] }> = [];
      let daysUnchanged = 0;
      for (const [unitId, ranges] of Object.entries(units)) {
        const mapping = await inventory.mappings.getMapping(unitId, channel);
        // Unmapped since, or mapped to another account (whose own sync took the full load): not ours.
        if (!mapping || mapping.externalAccountId !== account) {
          logger.warn({ unitId, channel, account }, 'property sync: unit no longer mapped to this account, its nights skipped');
          continue;
        }
        const buffer = ical ? await staleBufferFor(ical.feeds, unitId, channel, Date.now()) : undefined;
        const desired = withStaleBuffer(await inventory.calendar.desiredDays(unitId, ranges), buffer);
        const told = await inventory.channelState.readChannelState(unitId, channel, ranges);
        const changed = desired.filter((day) => !sameChannelDay(day, told.get(day.date)));
        daysUnchanged += desired.length - changed.length;
        if (changed.length > 0) entries.push({ mapping, days: changed });
      }
      if (entries.length === 0) return { daysPushed: 0, daysUnchanged, requests: 0 };

      const daysPushed = entries.reduce((sum, entry) => sum + entry.days.length, 0);
      const run = createProviderCallRunner({ subject: 'channel', logger, observer });
      const digest = contentDigest(entries);
      const { requests } = await run<{ requests: number }, PushResumePoint>(
        channel,
        'pushCalendar',
        { account, units: entries.length, days: daysPushed },
        (call) =>
          pushProperty(account, entries, {
            skipRequests: resumeFrom(call.resumeFrom, digest),
            onRequest: (done) => call.progress({ requestsDone: done, contentDigest: digest }),
          }),
      ).catch(async (err: Error) => {
        await noteFailedPush(deps(), channel, entries.map((entry) => ({ unitId: entry.mapping.unitId, days: entry.days })), err);
        throw err;
      });
      for (const entry of entries) await inventory.channelState.recordChannelState(entry.mapping.unitId, channel, entry.days);
      return { daysPushed, daysUnchanged, requests };
    },
  };
}
