// The circuit breakers' shared state in Postgres (circuit_breakers, circuit_breaker_events): every
// worker reads and counts in the same row, and every transition is decided under the row's lock
// (SELECT … FOR UPDATE), so two processes never both open a breaker or both claim its probe.
// Remaining times are computed by the database's clock, never a worker's.
import { desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { circuitBreakerEvents, type CircuitState } from '../../db/schema';
import { failureRate, type BreakerRow, type BreakerStore } from './breaker-store';

type RawRow = Record<string, unknown>;

const ROW_COLUMNS = sql`provider, state, window_started_at, window_calls, window_failures, opened_at, open_until, failed_probes,
  probe_owner, last_failure,
  greatest(0, floor(extract(epoch from (open_until - clock_timestamp())) * 1000))::float8 as remaining_open_ms,
  greatest(0, floor(extract(epoch from (probe_until - clock_timestamp())) * 1000))::float8 as probe_remaining_ms`;

const date = (value: unknown) => (value === null || value === undefined ? undefined : value instanceof Date ? value : new Date(String(value)));

function fromRaw(raw: RawRow): BreakerRow {
  return {
    provider: String(raw.provider),
    state: raw.state as CircuitState,
    windowStartedAt: date(raw.window_started_at)!,
    windowCalls: Number(raw.window_calls),
    windowFailures: Number(raw.window_failures),
    openedAt: date(raw.opened_at),
    openUntil: date(raw.open_until),
    remainingOpenMs: raw.state === 'open' ? Number(raw.remaining_open_ms ?? 0) : 0,
    probeOwner: (raw.probe_owner as string | null) ?? undefined,
    probeRemainingMs: raw.state === 'half_open' ? Number(raw.probe_remaining_ms ?? 0) : 0,
    failedProbes: Number(raw.failed_probes ?? 0),
    lastFailure: (raw.last_failure as string | null) ?? undefined,
  };
}


export function createPostgresBreakerStore(db: Database): BreakerStore {
  const ensure = (provider: string) => db.execute(sql`insert into circuit_breakers (provider) values (${provider}) on conflict do nothing`);

  const readRaw = async (executor: Pick<Database, 'execute'>, provider: string, lock: boolean) => {
    const rows = (await executor.execute(
      lock
        ? sql`select ${ROW_COLUMNS} from circuit_breakers where provider = ${provider} for update`
        : sql`select ${ROW_COLUMNS} from circuit_breakers where provider = ${provider}`,
    )) as unknown as RawRow[];
    return rows[0];
  };

  return {
    async read(provider) {
      let raw = await readRaw(db, provider, false);
      if (!raw) {
        await ensure(provider);
        raw = await readRaw(db, provider, false);
      }
      return fromRaw(raw!);
    },

    async record(provider, failed, windowMs, failure) {
      const f = failed ? 1 : 0;
      const rows = (await db.execute(sql`
        insert into circuit_breakers as b (provider, window_started_at, window_calls, window_failures, last_failure)
        values (${provider}, clock_timestamp(), 1, ${f}, ${failure ?? null})
        on conflict (provider) do update set
          window_started_at = case when b.window_started_at <= clock_timestamp() - make_interval(secs => ${windowMs / 1000}) then clock_timestamp() else b.window_started_at end,
          window_calls = case when b.window_started_at <= clock_timestamp() - make_interval(secs => ${windowMs / 1000}) then 1 else b.window_calls + 1 end,
          window_failures = case when b.window_started_at <= clock_timestamp() - make_interval(secs => ${windowMs / 1000}) then ${f} else b.window_failures + ${f} end,
          last_failure = coalesce(${failure ?? null}, b.last_failure),
          updated_at = clock_timestamp()
        returning ${ROW_COLUMNS}`)) as unknown as RawRow[];
      return fromRaw(rows[0]!);
    },

    async transition(provider, actor, decide) {
      await ensure(provider);
      return db.transaction(async (tx) => {
        const before = fromRaw((await readRaw(tx, provider, true))!);
        const change = decide(before);
        if (!change || (change.to === before.state && change.to !== 'half_open')) return { row: before };
        const calls = before.windowCalls;
        const failures = before.windowFailures;
        if (change.to === 'open') {
          await tx.execute(sql`update circuit_breakers set state = 'open', opened_at = clock_timestamp(),
            open_until = clock_timestamp() + make_interval(secs => ${(change.openForMs ?? 0) / 1000}),
            failed_probes = ${change.failedProbes ?? before.failedProbes}, probe_owner = null, probe_until = null, updated_at = clock_timestamp()
            where provider = ${provider}`);
        } else if (change.to === 'half_open') {
          await tx.execute(sql`update circuit_breakers set state = 'half_open', probe_owner = ${actor},
            probe_until = clock_timestamp() + make_interval(secs => ${(change.probeLeaseMs ?? 0) / 1000}), updated_at = clock_timestamp()
            where provider = ${provider}`);
        } else {
          await tx.execute(sql`update circuit_breakers set state = 'closed', open_until = null, probe_owner = null, probe_until = null,
            failed_probes = 0, window_started_at = clock_timestamp(), window_calls = 0, window_failures = 0, updated_at = clock_timestamp()
            where provider = ${provider}`);
        }
        const [inserted] = await tx
          .insert(circuitBreakerEvents)
          .values({ provider, fromState: before.state, toState: change.to, reason: change.reason, calls, failures, failureRate: failureRate(calls, failures), actor })
          .returning();
        const row = fromRaw((await readRaw(tx, provider, false))!);
        return {
          row,
          event: { provider, fromState: before.state, toState: change.to, reason: change.reason, calls, failures, failureRate: failureRate(calls, failures), actor, at: inserted!.at.toISOString() },
        };
      });
    },

    async list() {
      const rows = (await db.execute(sql`select ${ROW_COLUMNS} from circuit_breakers order by provider`)) as unknown as RawRow[];
      return rows.map(fromRaw);
    },

    async events(provider, limit) {
      const rows = await db.select().from(circuitBreakerEvents).where(eq(circuitBreakerEvents.provider, provider)).orderBy(desc(circuitBreakerEvents.id)).limit(limit);
      return rows.map((row) => ({ ...row, at: row.at.toISOString() }));
    },
  };
}
