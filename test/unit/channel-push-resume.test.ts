// A calendar push that failed part-way is retried by Temporal; the retried attempt reads the nights
// afresh. It may skip the requests the channel already accepted only when it would send the same
// ones: an edit landing between the attempts changes them, and skipping by count then left the
// channel on the old price while the nights were recorded as told (B6 lost edits this way).
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { createSyncActivities } from '../../activities/bookings/sync';
import type { BookingActivityDeps } from '../../activities/bookings/deps';
import type { ChannelDay, ChannelMapping } from '../../domain/bookings';
import type { PushProgress } from '../../providers/channels';
import { createLogger } from '../../observability/logger';

const NIGHTS = ['2027-06-01', '2027-06-02', '2027-06-03', '2027-06-04'];
const DAYS_PER_REQUEST = 2;

/** A unit's calendar in Skerry, what the channel was told of it, and the channel's own calendar. */
function world() {
  const prices = new Map(NIGHTS.map((date) => [date, 100_000]));
  const told = new Map<string, ChannelDay>();
  const atChannel = new Map<string, number | undefined>();
  const sent: string[][] = [];
  let failAfterRequests: number | undefined;
  const mapping = { unitId: 'unit_1', channel: 'airbnb', externalAccountId: 'host_1', externalListingId: 'listing_1' } as ChannelMapping;
  const day = (date: string): ChannelDay => ({ date, available: 1, price: prices.get(date), currency: 'SEK', minNights: 1, closedToArrival: false, closed: false });
  const deps = {
    inventory: {
      mappings: { getMapping: async () => mapping },
      calendar: { desiredDays: async () => NIGHTS.map(day) },
      channelState: {
        readChannelState: async () => new Map(told),
        recordChannelState: async (_unit: string, _channel: string, days: ChannelDay[]) => days.forEach((d) => told.set(d.date, d)),
        recordPushFailure: async () => {},
      },
    },
    channels: {
      get: () => ({
        async pushCalendar(_mapping: ChannelMapping, days: readonly ChannelDay[], progress: PushProgress) {
          const requests = [];
          for (let index = 0; index < days.length; index += DAYS_PER_REQUEST) requests.push(days.slice(index, index + DAYS_PER_REQUEST));
          let sentNow = 0;
          for (let index = progress.skipRequests; index < requests.length; index += 1) {
            if (failAfterRequests !== undefined && sentNow === failAfterRequests) throw new Error('the channel did not answer');
            for (const d of requests[index]!) atChannel.set(d.date, d.price);
            sent.push(requests[index]!.map((d) => d.date));
            sentNow += 1;
            progress.onRequest(index + 1);
          }
          return { requests: sentNow };
        },
      }),
    },
    logger: createLogger({ level: 'silent', name: 'test' }),
  } as unknown as BookingActivityDeps;
  return {
    prices,
    told,
    atChannel,
    sent,
    failAfter: (requests: number | undefined) => void (failAfterRequests = requests),
    activities: createSyncActivities(() => deps),
  };
}

async function attempt(info: Partial<Info>, body: () => Promise<unknown>): Promise<{ error?: unknown; heartbeats: unknown[] }> {
  const env = new MockActivityEnvironment({ activityType: 'pushChannelCalendar', ...info }, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  try {
    await env.run(body);
    return { heartbeats };
  } catch (error) {
    return { error, heartbeats };
  }
}

const input = { unitId: 'unit_1', channel: 'airbnb' as const, ranges: [{ from: NIGHTS[0]!, to: NIGHTS.at(-1)! }] };

describe('a retried calendar push', () => {
  it('sends again what an edit between its attempts changed, so the channel ends on the latest price', async () => {
    const w = world();
    w.failAfter(1);
    const first = await attempt({ attempt: 1 }, () => w.activities.pushChannelCalendar(input));
    expect(first.error).toBeDefined();
    expect(w.sent).toEqual([[NIGHTS[0], NIGHTS[1]]]);

    // The manager edits a night the channel already has from the failed attempt.
    w.prices.set(NIGHTS[0]!, 120_000);
    w.failAfter(undefined);
    const second = await attempt({ attempt: 2, heartbeatDetails: first.heartbeats.at(-1) }, () => w.activities.pushChannelCalendar(input));
    expect(second.error).toBeUndefined();

    expect(w.sent.slice(1)).toEqual([
      [NIGHTS[0], NIGHTS[1]],
      [NIGHTS[2], NIGHTS[3]],
    ]);
    expect(w.atChannel.get(NIGHTS[0]!)).toBe(120_000);
    expect(w.told.get(NIGHTS[0]!)?.price).toBe(120_000);
  });

  it('skips the requests the channel already accepted when nothing changed between its attempts', async () => {
    const w = world();
    w.failAfter(1);
    const first = await attempt({ attempt: 1 }, () => w.activities.pushChannelCalendar(input));
    expect(first.error).toBeDefined();
    w.failAfter(undefined);
    const second = await attempt({ attempt: 2, heartbeatDetails: first.heartbeats.at(-1) }, () => w.activities.pushChannelCalendar(input));
    expect(second.error).toBeUndefined();
    expect(w.sent).toEqual([
      [NIGHTS[0], NIGHTS[1]],
      [NIGHTS[2], NIGHTS[3]],
    ]);
    expect([...w.atChannel.values()]).toEqual([100_000, 100_000, 100_000, 100_000]);
  });
});
