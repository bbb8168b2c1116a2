import { describe, expect, it } from 'vitest';
import { addChange, batchRanges, countDays, dueAtMs, emptyPending, mergeRanges, rateLimitWaitMs, restorePending, simulatePushes, takePending } from '../../workflows/bookings/coalesce';
import { addDays, eachDate, isIsoDate, stayNights } from '../../domain/dates';

const day = (n: number) => addDays('2026-06-01', n);
const one = (n: number) => ({ from: day(n), to: day(n) });
const policy = { quietMs: 2_000, maxDelayMs: 15_000, rateLimit: { maxPushes: 10, perMs: 60_000 }, maxDaysPerPush: 366 };

describe('calendar dates', () => {
  it('validates real dates only and counts stay nights without the check-out', () => {
    expect(isIsoDate('2026-02-28')).toBe(true);
    expect(isIsoDate('2026-02-29')).toBe(false);
    expect(isIsoDate('2026-2-1')).toBe(false);
    expect(stayNights('2026-06-01', '2026-06-04')).toEqual({ from: '2026-06-01', to: '2026-06-03' });
    expect(eachDate({ from: '2026-12-30', to: '2027-01-02' })).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
  });
});

describe('coalescing calendar changes into ranges', () => {
  it('merges overlapping and adjacent ranges, keeps gaps', () => {
    expect(mergeRanges([one(5), one(1), { from: day(2), to: day(3) }, one(4), one(9)])).toEqual([
      { from: day(1), to: day(5) },
      { from: day(9), to: day(9) },
    ]);
  });

  it("keeps a property's changes per unit in one window, hands them over whole and takes them back after a failed push", () => {
    let pending = emptyPending();
    for (let unit = 0; unit < 5; unit += 1) pending = addChange(pending, [one(unit)], 1_000 + unit * 100, false, `unit_${unit}`);
    pending = addChange(pending, [one(1)], 1_600, false, 'unit_0');
    // One window for the property: timed by the last change of any unit.
    expect(dueAtMs(pending, policy)).toBe(3_600);
    expect(pending.ranges).toEqual([{ from: day(0), to: day(4) }]);
    const { batch, batchByUnit, rest } = takePending(pending);
    expect(batch).toEqual([{ from: day(0), to: day(4) }]);
    expect(batchByUnit).toEqual({ unit_0: [{ from: day(0), to: day(1) }], unit_1: [one(1)], unit_2: [one(2)], unit_3: [one(3)], unit_4: [one(4)] });
    expect(rest).toEqual({ ranges: [], changesReceived: 6 });
    // A change arriving during the failed push stays, and the batch's units come back beside it.
    const during = addChange(rest, [one(9)], 5_000, false, 'unit_2');
    const restored = restorePending(during, batch, 6_000, batchByUnit);
    expect(restored.byUnit).toEqual({ ...batchByUnit, unit_2: [one(2), one(9)] });
    expect(restored.ranges).toEqual([{ from: day(0), to: day(4) }, one(9)]);
    // A unit's sync keeps no per-unit record.
    expect(addChange(emptyPending(), [one(0)], 1_000).byUnit).toBeUndefined();
    expect(takePending(addChange(emptyPending(), [one(0)], 1_000)).batchByUnit).toEqual({});
  });

  it('cuts a long batch into pushes of at most maxDaysPerPush nights', () => {
    const batches = batchRanges([{ from: day(0), to: day(399) }, { from: day(500), to: day(509) }], 366);
    expect(batches.map(countDays)).toEqual([366, 44]);
    expect(batches[1]).toEqual([{ from: day(366), to: day(399) }, { from: day(500), to: day(509) }]);
  });

  it('is due after the quiet period, or at the latest maxDelayMs after the first change', () => {
    let pending = addChange(emptyPending(), [one(0)], 1_000);
    expect(dueAtMs(pending, policy)).toBe(3_000);
    pending = addChange(pending, [one(1)], 2_500);
    expect(dueAtMs(pending, policy)).toBe(4_500);
    for (let at = 3_000; at <= 20_000; at += 1_000) pending = addChange(pending, [one(2)], at);
    expect(dueAtMs(pending, policy)).toBe(16_000);
  });

  it('pushes sold nights at once, taking the edits already waiting with them, but not past the rate limit', () => {
    let pending = addChange(emptyPending(), [one(0)], 1_000);
    pending = addChange(pending, [one(5)], 1_500, true);
    expect(dueAtMs(pending, policy)).toBe(1_500);
    // A later edit does not postpone the urgent batch.
    pending = addChange(pending, [one(6)], 1_700);
    expect(dueAtMs(pending, policy)).toBe(1_500);

    const edits = [{ atMs: 0, range: one(0) }, { atMs: 500, range: one(1) }];
    const sale = { atMs: 900, range: one(10), urgent: true };
    expect(simulatePushes([...edits, sale], policy).map((push) => push.atMs)).toEqual([900]);
    expect(simulatePushes(edits, policy).map((push) => push.atMs)).toEqual([2_500]);
    // After the push the urgency is spent: the next plain edit waits for its quiet window again.
    expect(simulatePushes([...edits, sale, { atMs: 1_000, range: one(2) }], policy).map((push) => push.atMs)).toEqual([900, 3_000]);

    // Ten pushes in the window already: a sale waits for the next slot, like any batch.
    const busy = Array.from({ length: 10 }, (_, i) => ({ atMs: i * 3_000, range: one(i), urgent: true }));
    const pushes = simulatePushes([...busy, { atMs: 31_000, range: one(20), urgent: true }], policy);
    expect(pushes.map((push) => push.atMs)).toEqual([...busy.map((change) => change.atMs), 60_000]);
  });

  it('waits for the oldest push to leave the rate-limit window', () => {
    const times = Array.from({ length: 10 }, (_, i) => i * 1_000);
    expect(rateLimitWaitMs(times, 30_000, policy.rateLimit)).toBe(30_000);
    expect(rateLimitWaitMs(times.slice(1), 30_000, policy.rateLimit)).toBe(0);
  });

  it('turns a burst of 1,000 changes into exactly one push of the merged ranges', () => {
    // 1,000 single-night changes over 10 ms each (10 s), in four separate blocks of 250 nights.
    const changes = Array.from({ length: 1_000 }, (_, i) => ({ atMs: i * 10, range: one(Math.floor(i / 250) * 300 + (i % 250)) }));
    const pushes = simulatePushes(changes, { ...policy, maxDaysPerPush: 2_000 });
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.ranges).toEqual([0, 1, 2, 3].map((block) => ({ from: day(block * 300), to: day(block * 300 + 249) })));
    expect(pushes[0]!.atMs).toBe(9_990 + policy.quietMs);
  });

  it('pushes a long steady stream every maxDelayMs, and never more than the rate limit allows', () => {
    // One change every 500 ms for 60 s never leaves a 2 s quiet period: the max delay decides.
    const stream = Array.from({ length: 120 }, (_, i) => ({ atMs: i * 500, range: one(i % 30) }));
    expect(simulatePushes(stream, policy).map((push) => push.atMs)).toEqual([15_000, 30_000, 45_000, 60_000]);

    // A change every 3 s (longer than the quiet period) would push 40 times in two minutes; 10
    // pushes a minute cap it: 10 pushes (0-29 s), then one at 62 s carrying the 10 changes that
    // waited, then one each time an old push leaves the window (65-89 s: 9), then one at 122 s
    // carrying the last 9 changes. 21 pushes, every change pushed.
    const sparse = Array.from({ length: 40 }, (_, i) => ({ atMs: i * 3_000, range: one(i) }));
    const pushes = simulatePushes(sparse, policy);
    for (const push of pushes) expect(pushes.filter((other) => other.atMs > push.atMs - 60_000 && other.atMs <= push.atMs).length).toBeLessThanOrEqual(10);
    expect(pushes).toHaveLength(21);
    expect(pushes.map((push) => push.atMs).slice(9, 12)).toEqual([29_000, 62_000, 65_000]);
    expect(pushes.at(-1)).toMatchObject({ atMs: 122_000 });
    expect(countDays(mergeRanges(pushes.flatMap((push) => push.ranges)))).toBe(40);
  });

  it('splits a burst over a long calendar into its exact number of bounded pushes', () => {
    const changes = Array.from({ length: 1_000 }, (_, i) => ({ atMs: i, range: one(i) }));
    const pushes = simulatePushes(changes, policy);
    expect(pushes.map((push) => countDays(push.ranges))).toEqual([366, 366, 268]);
  });
});
