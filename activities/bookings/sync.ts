// The availability push: reads what the nights should be from Postgres, sends only what differs from
// what the channel was last told, and remembers what it told. Long pushes heartbeat the number of
// requests the channel accepted, so a retried attempt does not send them again.
import { ApplicationFailure } from '@temporalio/common';
import { sameChannelDay } from '../../store/channel-state';
import type { ChannelName, PushCalendarResult } from '../../domain/bookings';
import type { DateRange } from '../../domain/dates';
import type { BookingActivityDeps } from './deps';
import { createProviderCallRunner } from '../provider-call';

export function createSyncActivities(deps: () => BookingActivityDeps) {
  return {
    async pushChannelCalendar({ unitId, channel, ranges }: { unitId: string; channel: ChannelName; ranges: DateRange[] }): Promise<PushCalendarResult> {
      const { inventory, channels, logger, observer } = deps();
      const mapping = await inventory.mappings.getMapping(unitId, channel);
      if (!mapping) {
        throw ApplicationFailure.create({ type: 'ChannelNotMapped', message: `unit ${unitId} has no ${channel} mapping`, nonRetryable: true });
      }
      const desired = await inventory.calendar.desiredDays(unitId, ranges);
      const told = await inventory.channelState.readChannelState(unitId, channel, ranges);
      const changed = desired.filter((day) => !sameChannelDay(day, told.get(day.date)));
      if (changed.length === 0) return { daysPushed: 0, daysUnchanged: desired.length, requests: 0 };

      const run = createProviderCallRunner({ subject: 'channel', logger, observer });
      const { requests } = await run<{ requests: number }, { requestsDone: number }>(
        channel,
        'pushCalendar',
        { unitId, days: changed.length },
        (call) =>
          channels.get(channel).pushCalendar(mapping, changed, {
            skipRequests: call.resumeFrom?.requestsDone ?? 0,
            onRequest: (done) => call.progress({ requestsDone: done }),
          }),
      );
      await inventory.channelState.recordChannelState(unitId, channel, changed);
      return { daysPushed: changed.length, daysUnchanged: desired.length - changed.length, requests };
    },
  };
}
