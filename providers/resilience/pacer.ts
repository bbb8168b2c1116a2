// A provider's request slots, shared by every process: each request takes the next free slot (one
// every 1/rate seconds, by the database's clock) and waits for it. Temporal's task-queue limit caps
// how many provider activities start per second across workers, but its token bucket lets a burst
// of `rate` through at once after a quiet spell, and one activity may send several requests; the
// shared slots make the provider see at most `rate` requests in any second, from all workers.
//
// The slot lives in provider_quota_usage, in the deployment-wide row (process '@pacer') of each
// provider: `window_started_at` is the last slot handed out.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client';

export const PACER_PROCESS = '@pacer';

export interface RequestPacer {
  /** Milliseconds to wait before sending, for the next free slot of `provider` at `ratePerSecond`. */
  reserve(provider: string, ratePerSecond: number): Promise<number>;
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

export function createPostgresPacer(db: Database): RequestPacer {
  return {
    async reserve(provider, ratePerSecond) {
      const intervalSeconds = slotIntervalMs(ratePerSecond) / 1_000;
      const rows = (await db.execute(sql`
        insert into provider_quota_usage as q (provider, process, window_started_at, window_seconds, calls)
        values (${provider}, ${PACER_PROCESS}, clock_timestamp(), 0, 1)
        on conflict (provider, process) do update set
          window_started_at = greatest(q.window_started_at + make_interval(secs => ${intervalSeconds}), clock_timestamp()),
          updated_at = clock_timestamp()
        returning greatest(0, extract(epoch from (window_started_at - clock_timestamp())) * 1000)::float8 as wait_ms`)) as unknown as Array<{ wait_ms: number }>;
      return Number(rows[0]?.wait_ms ?? 0);
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
 * Waits for a slot and returns the time waited. A slot is a time on the database's clock; the wait
 * starts when the answer arrives and the timer may fire late on a busy event loop, so a request can
 * reach its slot late and land in the next second together with the next `rate` requests. When the
 * whole wait overran the slot by more than the tolerance, the slot is given up and a new one taken
 * (at most `maxAttempts` slots, then the request goes: a stalled process must not stall forever).
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
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    const askedAt = now();
    const waitMs = await pacer.reserve(provider, ratePerSecond);
    if (waitMs > 0) await sleep(waitMs);
    const elapsed = now() - askedAt;
    waited += elapsed;
    // At most this late: the slot lies no earlier than the moment the database answered.
    const lateMs = elapsed - waitMs;
    if (lateMs <= tolerance || attempt >= (options.maxAttempts ?? 3)) return waited;
    options.onLate?.(lateMs);
  }
}
