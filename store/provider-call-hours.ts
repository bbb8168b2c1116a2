// Provider calls per provider and hour (db/schema/provider-calls.ts). Every call is counted in
// memory and flushed as one upsert per provider and hour every few seconds: a payment burst costs a
// handful of statements, not one per call, and several workers add up in the same rows.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { ProviderCallObserver } from '../observability/observers';
import type { Logger } from '../observability/logger';

const HOUR_MS = 3_600_000;

export interface ProviderCallHour {
  provider: string;
  /** ISO time of the hour's start (UTC). */
  hour: string;
  calls: number;
  errors: number;
  latencyMsSum: number;
  latencyMsMax: number;
}

interface Bucket {
  provider: string;
  hourMs: number;
  calls: number;
  errors: number;
  latencyMsSum: number;
  latencyMsMax: number;
}

export function createProviderCallHours(db: Database) {
  return {
    /** Adds the buckets to their rows (created when absent). */
    async add(buckets: readonly ProviderCallHour[]): Promise<void> {
      if (buckets.length === 0) return;
      const values = sql.join(
        buckets.map((b) => sql`(${b.provider}, ${b.hour}::timestamptz, ${b.calls}, ${b.errors}, ${Math.round(b.latencyMsSum)}, ${Math.round(b.latencyMsMax)})`),
        sql`, `,
      );
      await db.execute(sql`
        insert into provider_call_hours as t (provider, hour, calls, errors, latency_ms_sum, latency_ms_max)
        values ${values}
        on conflict (provider, hour) do update set
          calls = t.calls + excluded.calls,
          errors = t.errors + excluded.errors,
          latency_ms_sum = t.latency_ms_sum + excluded.latency_ms_sum,
          latency_ms_max = greatest(t.latency_ms_max, excluded.latency_ms_max)`);
    },

    /** Every provider's hours from `since` (inclusive), oldest first. */
    async since(since: Date): Promise<ProviderCallHour[]> {
      const rows = await db.execute<{ provider: string; hour: Date | string; calls: number; errors: number; latency_ms_sum: string | number; latency_ms_max: number }>(sql`
        select provider, hour, calls, errors, latency_ms_sum, latency_ms_max
          from provider_call_hours where hour >= ${since.toISOString()}::timestamptz
         order by hour, provider`);
      return rows.map((row) => ({
        provider: row.provider,
        hour: new Date(row.hour).toISOString(),
        calls: row.calls,
        errors: row.errors,
        latencyMsSum: Number(row.latency_ms_sum),
        latencyMsMax: row.latency_ms_max,
      }));
    },

    /** Retention: deletes a batch of hours older than the cutoff; returns how many. */
    async pruneOlderThan({ cutoff, limit }: { cutoff: Date; limit: number }): Promise<number> {
      const rows = await db.execute<{ n: number }>(sql`
        with gone as (
          delete from provider_call_hours where ctid in (
            select ctid from provider_call_hours where hour < ${cutoff.toISOString()}::timestamptz limit ${limit})
          returning 1)
        select count(*)::int as n from gone`);
      return rows[0]?.n ?? 0;
    },
  };
}

export type ProviderCallHours = ReturnType<typeof createProviderCallHours>;

/**
 * The observer the provider-call runner reports to (beside the Prometheus one): counts in memory,
 * flushes every `flushEveryMs`. A failed flush keeps its counts for the next one, so a database
 * blip loses nothing; `close()` flushes what is left.
 */
export function createProviderCallRollup(hours: Pick<ProviderCallHours, 'add'>, options: { flushEveryMs?: number; logger?: Logger; now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  let pending = new Map<string, Bucket>();
  let flushing: Promise<void> | undefined;

  const flush = async (): Promise<void> => {
    // One flush at a time: a second caller waits for the running one, then flushes what came since.
    while (flushing) await flushing;
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    flushing = hours
      .add([...batch.values()].map((b) => ({ provider: b.provider, hour: new Date(b.hourMs).toISOString(), calls: b.calls, errors: b.errors, latencyMsSum: b.latencyMsSum, latencyMsMax: b.latencyMsMax })))
      .catch((err: unknown) => {
        for (const [key, bucket] of batch) merge(key, bucket);
        options.logger?.warn({ err: err instanceof Error ? err.message : String(err), buckets: batch.size }, 'could not record provider call hours; kept for the next flush');
      })
      .finally(() => {
        flushing = undefined;
      });
    await flushing;
  };

  function merge(key: string, bucket: Bucket) {
    const into = pending.get(key);
    if (!into) {
      pending.set(key, { ...bucket });
      return;
    }
    into.calls += bucket.calls;
    into.errors += bucket.errors;
    into.latencyMsSum += bucket.latencyMsSum;
    into.latencyMsMax = Math.max(into.latencyMsMax, bucket.latencyMsMax);
  }

  const timer = setInterval(() => void flush(), options.flushEveryMs ?? 5_000);
  timer.unref();

  const observer: ProviderCallObserver = {
    onCall(provider, _operation, outcome, seconds) {
      const hourMs = Math.floor(now() / HOUR_MS) * HOUR_MS;
      const latencyMs = seconds * 1000;
      merge(`${provider}\u0000${hourMs}`, { provider, hourMs, calls: 1, errors: outcome === 'ok' ? 0 : 1, latencyMsSum: latencyMs, latencyMsMax: latencyMs });
    },
  };

  return {
    observer,
    flush,
    async close(): Promise<void> {
      clearInterval(timer);
      await flush();
    },
  };
}

export type ProviderCallRollup = ReturnType<typeof createProviderCallRollup>;


/** Several observers as one: each call is reported to every one of them (metrics, the hourly rollup). */
export function combineObservers(...observers: Array<ProviderCallObserver | undefined>): ProviderCallObserver {
  const present = observers.filter((observer): observer is ProviderCallObserver => Boolean(observer));
  return {
    onCall: (...args) => present.forEach((observer) => observer.onCall?.(...args)),
    onRetry: (...args) => present.forEach((observer) => observer.onRetry?.(...args)),
  };
}
