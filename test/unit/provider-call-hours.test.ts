// The provider-call rollup the workers report to (store/provider-call-hours.ts): calls are counted
// per provider and hour in memory, a flush hands them over once, and a failed flush keeps them; in
// the run's Postgres, workers' flushes add up in one row per provider and hour, and retention prunes
// the old hours.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createDatabase } from '../../db/client';
import { createWebhookInbox } from '../../store/webhook-inbox';
import { createChannelMessageStore } from '../../store/channel-messages';
import { createRetentionActivities } from '../../activities/retention';
import { combineObservers, createProviderCallHours, createProviderCallRollup, type ProviderCallHour } from '../../store/provider-call-hours';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-07T10:59:59.000Z');

describe('createProviderCallRollup', () => {
  it('sums calls, errors and latency per provider and hour, and flushes each call once', async () => {
    const written: ProviderCallHour[][] = [];
    let now = T0;
    const rollup = createProviderCallRollup({ add: async (rows) => void written.push([...rows]) }, { flushEveryMs: 3_600_000, now: () => now });
    rollup.observer.onCall!('stripe', 'createPayment', 'ok', 0.1);
    rollup.observer.onCall!('stripe', 'getPayment', 'unavailable', 0.3);
    rollup.observer.onCall!('paypal', 'createPayment', 'ok', 0.2);
    now = T0 + 2_000; // the next hour
    rollup.observer.onCall!('stripe', 'createPayment', 'rate_limited', 0.05);
    await rollup.flush();
    await rollup.flush(); // nothing new: nothing written
    await rollup.close();

    expect(written).toHaveLength(1);
    const rows = [...written[0]!].sort((a, b) => `${a.provider}${a.hour}`.localeCompare(`${b.provider}${b.hour}`));
    expect(rows).toEqual([
      { provider: 'paypal', hour: '2026-12-07T10:00:00.000Z', calls: 1, errors: 0, latencyMsSum: 200, latencyMsMax: 200 },
      { provider: 'stripe', hour: '2026-12-07T10:00:00.000Z', calls: 2, errors: 1, latencyMsSum: 400, latencyMsMax: 300 },
      { provider: 'stripe', hour: new Date(Math.floor((T0 + 2_000) / HOUR) * HOUR).toISOString(), calls: 1, errors: 1, latencyMsSum: 50, latencyMsMax: 50 },
    ]);
  });

  it('keeps what a failed flush could not write, and writes it with the next one', async () => {
    let fail = true;
    const written: ProviderCallHour[] = [];
    const rollup = createProviderCallRollup(
      {
        add: async (rows) => {
          if (fail) throw new Error('database unavailable');
          written.push(...rows);
        },
      },
      { flushEveryMs: 3_600_000, now: () => T0 },
    );
    rollup.observer.onCall!('swish', 'createPayment', 'ok', 0.1);
    await rollup.flush();
    expect(written).toEqual([]);
    rollup.observer.onCall!('swish', 'createPayment', 'invalid_request', 0.4);
    fail = false;
    await rollup.close();
    expect(written).toEqual([{ provider: 'swish', hour: '2026-12-07T10:00:00.000Z', calls: 2, errors: 1, latencyMsSum: 500, latencyMsMax: 400 }]);
  });

  it('combineObservers reports each call to every observer', () => {
    const seen: string[] = [];
    const observer = combineObservers({ onCall: (p) => seen.push(`a:${p}`) }, undefined, { onCall: (p) => seen.push(`b:${p}`), onRetry: (p) => seen.push(`retry:${p}`) });
    observer.onCall!('stripe', 'op', 'ok', 0.1);
    observer.onRetry!('paypal', 'op', 2);
    expect(seen).toEqual(['a:stripe', 'b:stripe', 'retry:paypal']);
  });
});

describe('provider_call_hours in Postgres', () => {
  const database = createDatabase(inject('databaseUrl'));
  afterAll(() => database.close());
  const hours = createProviderCallHours(database.db);

  it('adds two workers\' flushes into one row per provider and hour, and retention prunes hours older than the period', async () => {
    // A provider name of this test's own: the table is shared with every other test of the run.
    const provider = `calls-${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    const thisHour = new Date(Math.floor(now / HOUR) * HOUR).toISOString();
    const old = new Date(Math.floor((now - 40 * 24 * HOUR) / HOUR) * HOUR).toISOString();
    await hours.add([{ provider, hour: thisHour, calls: 3, errors: 1, latencyMsSum: 300, latencyMsMax: 200 }]);
    await hours.add([
      { provider, hour: thisHour, calls: 2, errors: 0, latencyMsSum: 100, latencyMsMax: 60 },
      { provider, hour: old, calls: 7, errors: 7, latencyMsSum: 7000, latencyMsMax: 1000 },
    ]);
    const mine = async (since: Date) => (await hours.since(since)).filter((row) => row.provider === provider);
    expect(await mine(new Date(now - 2 * HOUR))).toEqual([{ provider, hour: thisHour, calls: 5, errors: 1, latencyMsSum: 400, latencyMsMax: 200 }]);
    expect(await mine(new Date(now - 50 * 24 * HOUR))).toHaveLength(2);

    const prune = createRetentionActivities({
      inbox: createWebhookInbox(database.db),
      channelMessages: createChannelMessageStore(database.db),
      providerCallHours: hours,
    }).pruneRetainedRows;
    const result = await prune({ retentionDays: 30 });
    expect(result.providerCallHours).toBeGreaterThanOrEqual(1);
    expect((await mine(new Date(now - 50 * 24 * HOUR))).map((row) => row.hour)).toEqual([thisHour]);
  });
});
