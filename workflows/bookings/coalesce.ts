// The availability sync's pure logic: how calendar changes coalesce into date ranges, when a batch is
// due, how the channel's rate limit delays it, and how a batch is cut into bounded pushes. No I/O and
// no clock of its own: the workflow passes workflow time in, the unit tests pass simulated time.
import { fromDayNumber, toDayNumber, type DateRange } from '../../domain/dates';
import type { CoalescePolicy, RateLimitPolicy } from '../../domain/sync-policies';

/** Merges overlapping and adjacent ranges; the result is sorted and disjoint. */
export function mergeRanges(ranges: readonly DateRange[]): DateRange[] {
  const sorted = ranges
    .map((range) => ({ from: toDayNumber(range.from), to: toDayNumber(range.to) }))
    .filter((range) => range.to >= range.from)
    .sort((a, b) => a.from - b.from);
  const merged: Array<{ from: number; to: number }> = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.from <= last.to + 1) last.to = Math.max(last.to, range.to);
    else merged.push({ ...range });
  }
  return merged.map((range) => ({ from: fromDayNumber(range.from), to: fromDayNumber(range.to) }));
}

export function countDays(ranges: readonly DateRange[]): number {
  return ranges.reduce((sum, range) => sum + toDayNumber(range.to) - toDayNumber(range.from) + 1, 0);
}

/**
 * Cuts ranges into batches of at most `maxDays` nights each (a long range is split), so one push
 * activity stays bounded and its heartbeats mean something.
 */
export function batchRanges(ranges: readonly DateRange[], maxDays: number): DateRange[][] {
  const batches: DateRange[][] = [];
  let current: DateRange[] = [];
  let size = 0;
  for (const range of mergeRanges(ranges)) {
    let from = toDayNumber(range.from);
    const to = toDayNumber(range.to);
    while (from <= to) {
      const take = Math.min(to - from + 1, maxDays - size);
      current.push({ from: fromDayNumber(from), to: fromDayNumber(from + take - 1) });
      size += take;
      from += take;
      if (size === maxDays) {
        batches.push(current);
        current = [];
        size = 0;
      }
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** What survives continue-as-new: the changes not pushed yet and the recent push times. */
export interface PendingChanges {
  ranges: DateRange[];
  firstChangeAtMs?: number;
  lastChangeAtMs?: number;
  /**
   * Set by the first urgent change (nights just sold): the batch is due at that moment instead of
   * after the quiet window, because every second the other channels still sell those nights is a
   * second an overbooking can happen in.
   */
  urgentAtMs?: number;
  /** Changes received since the workflow started (all runs). */
  changesReceived: number;
  /**
   * A property's sync: the same nights per unit (`ranges` is their union, which times the window),
   * so one push carries every unit's changes of the window.
   */
  byUnit?: Record<string, DateRange[]>;
}

/** Adds ranges to one unit's pending nights (a property's sync). */
function withUnitRanges(byUnit: Readonly<Record<string, DateRange[]>> | undefined, unitId: string, ranges: readonly DateRange[]): Record<string, DateRange[]> {
  return { ...byUnit, [unitId]: mergeRanges([...(byUnit?.[unitId] ?? []), ...ranges]) };
}

export const emptyPending = (): PendingChanges => ({ ranges: [], changesReceived: 0 });

export function addChange(pending: PendingChanges, ranges: readonly DateRange[], atMs: number, urgent = false, unitId?: string): PendingChanges {
  const urgentAtMs = pending.urgentAtMs ?? (urgent ? atMs : undefined);
  return {
    ranges: mergeRanges([...pending.ranges, ...ranges]),
    firstChangeAtMs: pending.firstChangeAtMs ?? atMs,
    lastChangeAtMs: atMs,
    ...(urgentAtMs !== undefined ? { urgentAtMs } : {}),
    changesReceived: pending.changesReceived + 1,
    ...(unitId !== undefined ? { byUnit: withUnitRanges(pending.byUnit, unitId, ranges) } : {}),
  };
}

/** The moment the pending changes are due, or undefined when nothing is pending. */
export function dueAtMs(pending: PendingChanges, policy: CoalescePolicy): number | undefined {
  if (pending.ranges.length === 0 || pending.firstChangeAtMs === undefined || pending.lastChangeAtMs === undefined) return undefined;
  return Math.min(pending.lastChangeAtMs + policy.quietMs, pending.firstChangeAtMs + policy.maxDelayMs, pending.urgentAtMs ?? Infinity);
}

/** Takes every pending range for a push; what arrives later starts a new window. */
export function takePending(pending: PendingChanges): { batch: DateRange[]; batchByUnit: Record<string, DateRange[]>; rest: PendingChanges } {
  return { batch: pending.ranges, batchByUnit: pending.byUnit ?? {}, rest: { ranges: [], changesReceived: pending.changesReceived } };
}

/** Puts ranges (and, for a property's sync, each unit's) back after a failed push: they go with the next batch. */
export function restorePending(pending: PendingChanges, ranges: readonly DateRange[], atMs: number, byUnit?: Readonly<Record<string, DateRange[]>>): PendingChanges {
  if (ranges.length === 0) return pending;
  let units = pending.byUnit;
  for (const [unitId, unitRanges] of Object.entries(byUnit ?? {})) units = withUnitRanges(units, unitId, unitRanges);
  return {
    ...pending,
    ranges: mergeRanges([...pending.ranges, ...ranges]),
    firstChangeAtMs: Math.min(pending.firstChangeAtMs ?? atMs, atMs),
    lastChangeAtMs: pending.lastChangeAtMs ?? atMs,
    ...(units !== undefined ? { byUnit: units } : {}),
  };
}

/** How long to wait before `pushes` more requests fit the rate limit (0 when they fit now). */
export function rateLimitWaitMs(recentPushAtMs: readonly number[], nowMs: number, policy: RateLimitPolicy, pushes = 1): number {
  const inWindow = recentPushAtMs.filter((at) => at > nowMs - policy.perMs).sort((a, b) => a - b);
  const excess = inWindow.length + pushes - policy.maxPushes;
  if (excess <= 0) return 0;
  // The window frees up when the `excess`-th oldest push in it leaves it.
  const freeing = inWindow[Math.min(excess, inWindow.length) - 1];
  return freeing === undefined ? 0 : Math.max(0, freeing + policy.perMs - nowMs);
}

/** Keeps only the push times still inside the rate-limit window. */
export function prunePushTimes(recentPushAtMs: readonly number[], nowMs: number, policy: RateLimitPolicy): number[] {
  return recentPushAtMs.filter((at) => at > nowMs - policy.perMs);
}

/**
 * Replays a sequence of change times through the policy and returns the pushes, deciding exactly as
 * the workflow does: wait until the batch is due, then for a rate-limit slot (changes arriving
 * meanwhile join the batch), then push it in bounded parts. Pushes are taken as instantaneous.
 * The unit tests pin exact push counts here.
 */
export function simulatePushes(
  changes: ReadonlyArray<{ atMs: number; range: DateRange; urgent?: boolean }>,
  policy: CoalescePolicy & { rateLimit: RateLimitPolicy; maxDaysPerPush: number },
): Array<{ atMs: number; ranges: DateRange[] }> {
  const pushes: Array<{ atMs: number; ranges: DateRange[] }> = [];
  const sorted = [...changes].sort((a, b) => a.atMs - b.atMs);
  let pending = emptyPending();
  let pushTimes: number[] = [];
  let index = 0;
  let now = sorted[0]?.atMs ?? 0;
  const absorbUntil = (untilMs: number) => {
    while (index < sorted.length && sorted[index]!.atMs <= untilMs) {
      pending = addChange(pending, [sorted[index]!.range], sorted[index]!.atMs, sorted[index]!.urgent);
      index += 1;
    }
  };
  for (;;) {
    const due = dueAtMs(pending, policy);
    const next = sorted[index];
    if (due === undefined) {
      if (!next) break;
      absorbUntil(next.atMs);
      now = Math.max(now, next.atMs);
      continue;
    }
    if (next && next.atMs < due) {
      absorbUntil(next.atMs);
      continue;
    }
    now = Math.max(now, due);
    const wait = rateLimitWaitMs(pushTimes, now, policy.rateLimit);
    if (wait > 0) {
      absorbUntil(now + wait - 1);
      now += wait;
    }
    const { batch, rest } = takePending(pending);
    pending = rest;
    for (const ranges of batchRanges(batch, policy.maxDaysPerPush)) {
      now += rateLimitWaitMs(pushTimes, now, policy.rateLimit);
      pushTimes = [...prunePushTimes(pushTimes, now, policy.rateLimit), now];
      pushes.push({ atMs: now, ranges });
    }
  }
  return pushes;
}
