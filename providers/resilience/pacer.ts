// A provider's request slots, shared by every process: each request takes the next free slot (one
// every 1/rate seconds, by the database's clock) and waits for it. Temporal's task-queue limit caps
// how many provider activities start per second across workers, but its token bucket lets a burst
// of `rate` through at once after a quiet spell, and one activity may send several requests; the
// shared slots make the provider see at most `rate` requests in any second, from all workers.
//
// The slot lives in provider_quota_usage, in the deployment-wide row (process '@pacer') of each
// provider: `window_started_at` is the earliest moment the next slot may start.
import type { Sql } from 'postgres';

export const PACER_PROCESS = '@pacer';

export interface RequestPacer {
  /**
   * Milliseconds to wait before sending, for the next free slot of `provider` at `ratePerSecond`.
   * `extraMs` widens the slot taken: the slot after it starts that much later, so a caller that
   * knows it runs late may send that much after its slot without crowding the next one.
   */
  reserve(provider: string, ratePerSecond: number, extraMs?: number): Promise<number>;
}

/**
 * The spacing between slots: 1/rate, plus a guard (10%, at most 25 ms) so that a request sent a
 * little late (a busy event loop, the network) does not bring `rate + 1` requests into one second at
 * the provider. The price is a rate a little under the configured one.
 */
export function slotIntervalMs(ratePerSecond: number): number {
  const base = 1_000 / ratePerSecond;
  return base + Math.min(25, base * 0.1);
}

/**
 * The slots in Postgres. `connection` should be the pacer's own (db/client.ts pacerConnection): on
 * the process's pool a question queues behind every other query when the pool is busy, and the
 * caller cannot tell that queue from lateness — it gave up slots it was never late for.
 */
export function createPostgresPacer(connection: Sql): RequestPacer {
  return {
    async reserve(provider, ratePerSecond, extraMs = 0) {
      const widthSeconds = (slotIntervalMs(ratePerSecond) + extraMs) / 1_000;
      const rows = await connection<Array<{ wait_ms: number }>>`
        insert into provider_quota_usage as q (provider, process, window_started_at, window_seconds, calls)
        values (${provider}, ${PACER_PROCESS}, clock_timestamp() + make_interval(secs => ${widthSeconds}::float8), 0, 1)
        on conflict (provider, process) do update set
          window_started_at = greatest(q.window_started_at, clock_timestamp()) + make_interval(secs => ${widthSeconds}::float8),
          updated_at = clock_timestamp()
        returning greatest(0, extract(epoch from (window_started_at - clock_timestamp())) * 1000 - ${widthSeconds * 1_000}::float8)::float8 as wait_ms`;
      return Number(rows[0]?.wait_ms ?? 0);
    },
  };
}

/** The same slots in one process's memory: for a client built without a database (tests, tools). */
export function createMemoryPacer(now: () => number = () => performance.now()): RequestPacer {
  const nextFree = new Map<string, number>();
  return {
    async reserve(provider, ratePerSecond, extraMs = 0) {
      const slot = Math.max(now(), nextFree.get(provider) ?? 0);
      nextFree.set(provider, slot + slotIntervalMs(ratePerSecond) + extraMs);
      return Math.max(0, slot - now());
    },
  };
}

/**
 * How late a request may go out after its slot: the guards of a second's slots, halved to leave the
 * other half for the trip to the provider. Later than that, the slot is given up for a new one.
 */
export function lateToleranceMs(ratePerSecond: number): number {
  return ((slotIntervalMs(ratePerSecond) - 1_000 / ratePerSecond) * ratePerSecond) / 2;
}

/**
 * The most a late caller widens its next slot by. Lateness past it is a stall (a worker starting up,
 * an event loop blocked for seconds), not a pace the caller keeps; widened by all of it, every caller
 * waiting through the stall pushed all later slots back by as much — twenty callers, twenty stalls.
 */
export const MAX_WIDENING_MS = 1_000;

/** A request that missed every slot it took: it is not sent (sending it late could break the rate). */
export class RequestSlotMissedError extends Error {
  constructor(provider: string, attempts: number, lateMs: number) {
    super(`${provider}: every one of ${attempts} request slots was reached too late (last by ${Math.round(lateMs)} ms); the request was not sent`);
    this.name = 'RequestSlotMissedError';
  }
}

/**
 * Waits for a slot and returns the time waited. A slot is a time on the database's clock; the wait
 * starts when the answer arrives, the answer may come late (a loaded database, a busy event loop
 * reading it) and the timer may fire late. A request that goes out after its slot lands in the next
 * slots' second: that is how `rate + 3` requests met in one second at a provider
 * when late callers, after three missed slots, went anyway. So a late caller never sends on a missed
 * slot: it takes a new one widened by the lateness it just saw, up to MAX_WIDENING_MS (the next
 * caller's slot moves back by as much), and may then be that much late. A machine slower than its
 * slots costs rate, never the provider's limit; a caller that misses `maxAttempts` slots fails
 * without sending.
 */
export async function waitForSlot(
  pacer: RequestPacer,
  provider: string,
  ratePerSecond: number,
  options: { now?: () => number; sleep?: (ms: number) => Promise<void>; maxAttempts?: number; onLate?: (lateMs: number) => void } = {},
): Promise<number> {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const tolerance = lateToleranceMs(ratePerSecond);
  const maxAttempts = options.maxAttempts ?? 8;
  let waited = 0;
  let extraMs = 0;
  for (let attempt = 1; ; attempt++) {
    const askedAt = now();
    const waitMs = await pacer.reserve(provider, ratePerSecond, extraMs);
    if (waitMs > 0) await sleep(waitMs);
    const elapsed = now() - askedAt;
    waited += elapsed;
    // At most this late: the slot lies no earlier than the moment the question was asked.
    const lateMs = elapsed - waitMs;
    if (lateMs <= tolerance + extraMs) return waited;
    options.onLate?.(lateMs);
    if (attempt >= maxAttempts) throw new RequestSlotMissedError(provider, attempt, lateMs);
    extraMs = Math.min(lateMs, MAX_WIDENING_MS);
  }
}
