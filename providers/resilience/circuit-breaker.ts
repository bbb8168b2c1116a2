// One circuit breaker per provider, shared by every worker through Postgres (circuit_breakers).
//
// closed     calls run; each outcome is counted in the current window. Only failures that say the
//            provider is unwell count (unavailable, timeout, network); a decline or a validation
//            error is a healthy answer. When the failure rate within the window reaches the
//            threshold (after a minimum number of calls), the breaker opens.
// open       calls fail at once with a retryable `circuit_open` error whose Retry-After is the time
//            left open, so Temporal's next attempt comes when the breaker may close, not before.
// half_open  after the open time, the first caller (in any process) claims the probe and runs the
//            provider's health check; success closes the breaker, failure opens it again (longer
//            each time, up to a cap). Everyone else keeps failing fast meanwhile. A probe whose
//            process died is taken over when its claim expires.
//
// Every transition is made under the row's lock (SELECT … FOR UPDATE), written to
// circuit_breaker_events, logged, and reported to `onTransition` (metrics).
import { desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { circuitBreakerEvents, type CircuitState } from '../../db/schema';
import type { Logger } from '../../observability/logger';
import { ProviderError, type ProviderErrorKind } from '../errors';

export type { CircuitState };

export interface BreakerSettings {
  /** Share of counted calls that failed (0-1) at which the breaker opens. */
  failureRateThreshold: number;
  /** Calls needed in the window before the rate means anything. */
  minimumCalls: number;
  windowMs: number;
  /** How long the breaker stays open before the first probe. */
  openMs: number;
  /** Longest open time after repeated failed probes (each doubles it). */
  maxOpenMs: number;
  /** How long a probe's claim holds before another process may take it over. */
  probeLeaseMs: number;
}

export interface BreakerRow {
  provider: string;
  state: CircuitState;
  windowStartedAt: Date;
  windowCalls: number;
  windowFailures: number;
  openedAt?: Date;
  openUntil?: Date;
  /** Milliseconds until openUntil by the database's clock (0 when past or closed). */
  remainingOpenMs: number;
  probeOwner?: string;
  /** Milliseconds the probe's claim still holds. */
  probeRemainingMs: number;
  failedProbes: number;
  lastFailure?: string;
}

export interface BreakerTransition {
  to: CircuitState;
  reason: string;
  openForMs?: number;
  probeLeaseMs?: number;
  failedProbes?: number;
}

export interface BreakerEvent {
  provider: string;
  fromState: CircuitState;
  toState: CircuitState;
  reason: string;
  calls: number | null;
  failures: number | null;
  failureRate: number | null;
  actor: string;
  at: string;
}

/** Where breakers live: Postgres in every deployment; memory for unit tests. */
export interface BreakerStore {
  read(provider: string): Promise<BreakerRow>;
  /** Counts one outcome in the current window (a new window when the last one is over). */
  record(provider: string, failed: boolean, windowMs: number, failure?: string): Promise<BreakerRow>;
  /** Decides and applies a transition while holding the row; undefined leaves it as it is. */
  transition(provider: string, actor: string, decide: (row: BreakerRow) => BreakerTransition | undefined): Promise<{ row: BreakerRow; event?: BreakerEvent }>;
  list(): Promise<BreakerRow[]>;
  events(provider: string, limit: number): Promise<BreakerEvent[]>;
}

/** Failure kinds that say the provider itself is unwell. Rate limits have their own Retry-After. */
const COUNTED: ReadonlySet<ProviderErrorKind> = new Set(['unavailable', 'timeout', 'network']);

export function countsAgainstProvider(err: unknown): boolean {
  return err instanceof ProviderError && COUNTED.has(err.kind);
}

// ─── Postgres ──────────────────────────────────────────────────────────────────────────────────

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

const rate = (calls: number, failures: number) => (calls > 0 ? failures / calls : null);

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
          .values({ provider, fromState: before.state, toState: change.to, reason: change.reason, calls, failures, failureRate: rate(calls, failures), actor })
          .returning();
        const row = fromRaw((await readRaw(tx, provider, false))!);
        return {
          row,
          event: { provider, fromState: before.state, toState: change.to, reason: change.reason, calls, failures, failureRate: rate(calls, failures), actor, at: inserted!.at.toISOString() },
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

// ─── Memory (unit tests, a process without a database) ────────────────────────────────────────

export function createMemoryBreakerStore(now: () => number = Date.now): BreakerStore {
  interface Stored {
    state: CircuitState;
    windowStartedAt: number;
    windowCalls: number;
    windowFailures: number;
    openedAt?: number;
    openUntil?: number;
    probeOwner?: string;
    probeUntil?: number;
    failedProbes: number;
    lastFailure?: string;
  }
  const rows = new Map<string, Stored>();
  const events: BreakerEvent[] = [];
  const get = (provider: string) => {
    let row = rows.get(provider);
    if (!row) {
      row = { state: 'closed', windowStartedAt: now(), windowCalls: 0, windowFailures: 0, failedProbes: 0 };
      rows.set(provider, row);
    }
    return row;
  };
  const view = (provider: string, row: Stored): BreakerRow => ({
    provider,
    state: row.state,
    windowStartedAt: new Date(row.windowStartedAt),
    windowCalls: row.windowCalls,
    windowFailures: row.windowFailures,
    openedAt: row.openedAt === undefined ? undefined : new Date(row.openedAt),
    openUntil: row.openUntil === undefined ? undefined : new Date(row.openUntil),
    remainingOpenMs: row.state === 'open' ? Math.max(0, (row.openUntil ?? 0) - now()) : 0,
    probeOwner: row.probeOwner,
    probeRemainingMs: row.state === 'half_open' ? Math.max(0, (row.probeUntil ?? 0) - now()) : 0,
    failedProbes: row.failedProbes,
    lastFailure: row.lastFailure,
  });
  return {
    async read(provider) {
      return view(provider, get(provider));
    },
    async record(provider, failed, windowMs, failure) {
      const row = get(provider);
      if (row.windowStartedAt <= now() - windowMs) Object.assign(row, { windowStartedAt: now(), windowCalls: 0, windowFailures: 0 });
      row.windowCalls += 1;
      if (failed) row.windowFailures += 1;
      if (failure) row.lastFailure = failure;
      return view(provider, row);
    },
    async transition(provider, actor, decide) {
      const row = get(provider);
      const before = view(provider, row);
      const change = decide(before);
      if (!change || (change.to === before.state && change.to !== 'half_open')) return { row: before };
      if (change.to === 'open') {
        Object.assign(row, { state: 'open', openedAt: now(), openUntil: now() + (change.openForMs ?? 0), failedProbes: change.failedProbes ?? row.failedProbes, probeOwner: undefined, probeUntil: undefined });
      } else if (change.to === 'half_open') {
        Object.assign(row, { state: 'half_open', probeOwner: actor, probeUntil: now() + (change.probeLeaseMs ?? 0) });
      } else {
        Object.assign(row, { state: 'closed', openUntil: undefined, probeOwner: undefined, probeUntil: undefined, failedProbes: 0, windowStartedAt: now(), windowCalls: 0, windowFailures: 0 });
      }
      const event: BreakerEvent = {
        provider,
        fromState: before.state,
        toState: change.to,
        reason: change.reason,
        calls: before.windowCalls,
        failures: before.windowFailures,
        failureRate: rate(before.windowCalls, before.windowFailures),
        actor,
        at: new Date(now()).toISOString(),
      };
      events.push(event);
      return { row: view(provider, row), event };
    },
    async list() {
      return [...rows.entries()].map(([provider, row]) => view(provider, row));
    },
    async events(provider, limit) {
      return events.filter((event) => event.provider === provider).slice(-limit).reverse();
    },
  };
}

// ─── The breakers ──────────────────────────────────────────────────────────────────────────────

export interface CircuitBreakersOptions {
  store: BreakerStore;
  /** The breaker settings of a provider; undefined = no breaker for it. */
  settings: (provider: string) => BreakerSettings | undefined;
  /** This process, as written into events and probe claims. */
  actor: string;
  logger: Logger;
  /** Every transition this process makes (metrics). */
  onTransition?: (event: BreakerEvent) => void;
  /** How long a process trusts the state it last read before asking the database again. */
  stateTtlMs?: number;
  /** Longest a health check may take. */
  healthCheckTimeoutMs?: number;
  /**
   * The stored breaker's name for a provider: the provider itself, or `<provider>@<scope>` when
   * several deployments share one database (RESILIENCE_SCOPE; the tests' stacks do).
   */
  keyOf?: (provider: string) => string;
}

const STATE_NUMBER: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };
export const circuitStateNumber = (state: CircuitState) => STATE_NUMBER[state];

export class CircuitBreakers {
  readonly #options: CircuitBreakersOptions;
  readonly #states = new Map<string, { row: BreakerRow; readAt: number }>();

  constructor(options: CircuitBreakersOptions) {
    this.#options = options;
  }

  get store(): BreakerStore {
    return this.#options.store;
  }

  /** The state as this process last saw it (for metrics without a query). */
  cachedStates(): BreakerRow[] {
    return [...this.#states.values()].map((entry) => entry.row);
  }

  async #state(provider: string): Promise<BreakerRow> {
    const cached = this.#states.get(provider);
    const ttl = this.#options.stateTtlMs ?? 500;
    if (cached && performance.now() - cached.readAt < ttl) {
      // Remaining times shrink while cached.
      const age = performance.now() - cached.readAt;
      return { ...cached.row, remainingOpenMs: Math.max(0, cached.row.remainingOpenMs - age), probeRemainingMs: Math.max(0, cached.row.probeRemainingMs - age) };
    }
    const row = await this.#options.store.read(provider);
    this.#remember(row);
    return row;
  }

  #remember(row: BreakerRow): void {
    this.#states.set(row.provider, { row, readAt: performance.now() });
  }

  /** Probe claims are per call, not per process: two calls in one process must not both probe. */
  #claims = 0;

  async #transition(provider: string, decide: (row: BreakerRow) => BreakerTransition | undefined, actor = this.#options.actor): Promise<BreakerRow> {
    const { row, event } = await this.#options.store.transition(provider, actor, decide);
    this.#remember(row);
    if (event) {
      const log = event.toState === 'closed' ? this.#options.logger.info.bind(this.#options.logger) : this.#options.logger.warn.bind(this.#options.logger);
      log(
        {
          provider,
          from: event.fromState,
          to: event.toState,
          reason: event.reason,
          calls: event.calls,
          failures: event.failures,
          failureRate: event.failureRate,
          openForMs: event.toState === 'open' ? row.remainingOpenMs : undefined,
        },
        'circuit breaker transition',
      );
      this.#options.onTransition?.(event);
    }
    return row;
  }

  #failFast(provider: string, operation: string, row: BreakerRow, delayMs: number): ProviderError {
    const retryAfterMs = Math.max(50, Math.round(delayMs));
    const why = row.state === 'half_open' ? 'a health check is running' : `next health check in ${(retryAfterMs / 1000).toFixed(1)} s`;
    return new ProviderError(provider, operation, 'circuit_open', `circuit breaker for ${provider} is ${row.state.replace('_', '-')}: ${why}${row.lastFailure ? ` (last failure: ${row.lastFailure})` : ''}`, {
      retryAfterMs,
    });
  }

  #openFor(settings: BreakerSettings, failedProbes: number): number {
    return Math.min(settings.maxOpenMs, settings.openMs * 2 ** failedProbes);
  }

  async #healthy(healthCheck: () => Promise<unknown>): Promise<{ ok: true } | { ok: false; reason: string }> {
    const timeoutMs = this.#options.healthCheckTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        healthCheck(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ProviderError('health', 'health_check', 'timeout', `health check timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { ok: true };
    } catch (err) {
      // An answer that is not an outage (404 for a probe id, a refused credential) means the provider is up.
      if (!countsAgainstProvider(err) && err instanceof ProviderError) return { ok: true };
      return { ok: false, reason: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs one provider call through the provider's breaker. `healthCheck` is the cheap read that
   * closes a half-open breaker; without one, the first call after the open time is the probe.
   */
  async guard<T>(provider: string, operation: string, fn: () => Promise<T>, healthCheck?: () => Promise<unknown>): Promise<T> {
    const settings = this.#options.settings(provider);
    if (!settings) return fn();
    const key = this.#options.keyOf?.(provider) ?? provider;
    let row: BreakerRow;
    try {
      row = await this.#state(key);
    } catch (err) {
      // The breaker's own store is down: do not let that stop provider calls.
      this.#options.logger.warn({ provider, err: (err as Error).message }, 'circuit breaker state unavailable; calling the provider');
      return fn();
    }

    if (row.state === 'open' && row.remainingOpenMs > 0) throw this.#failFast(provider, operation, row, row.remainingOpenMs);
    if (row.state !== 'closed') {
      const claim = `${this.#options.actor}#${++this.#claims}`;
      const claimed = await this.#transition(key, (current) => {
        if (current.state === 'open' && current.remainingOpenMs <= 0) return { to: 'half_open', reason: 'open time over; probing', probeLeaseMs: settings.probeLeaseMs };
        if (current.state === 'half_open' && current.probeRemainingMs <= 0) {
          return { to: 'half_open', reason: `probe by ${current.probeOwner ?? 'unknown'} expired; probing again`, probeLeaseMs: settings.probeLeaseMs };
        }
        return undefined;
      }, claim);
      if (claimed.state === 'open') throw this.#failFast(provider, operation, claimed, claimed.remainingOpenMs);
      if (claimed.state === 'half_open' && claimed.probeOwner !== claim) {
        throw this.#failFast(provider, operation, claimed, Math.min(claimed.probeRemainingMs, 1_000));
      }
      if (claimed.state === 'half_open') {
        const reopen = (reason: string) =>
          this.#transition(
            provider,
            (current) =>
              current.state === 'half_open' && current.probeOwner === claim
                ? { to: 'open', reason, openForMs: this.#openFor(settings, current.failedProbes + 1), failedProbes: current.failedProbes + 1 }
                : undefined,
            claim,
          );
        const close = (reason: string) =>
          this.#transition(key, (current) => (current.state === 'half_open' && current.probeOwner === claim ? { to: 'closed', reason } : undefined), claim);
        if (healthCheck) {
          const health = await this.#healthy(healthCheck);
          if (!health.ok) {
            const reopened = await reopen(`health check failed: ${health.reason}`);
            throw this.#failFast(provider, operation, reopened, reopened.remainingOpenMs);
          }
          await close('health check succeeded');
        } else {
          try {
            const result = await fn();
            await close('trial call succeeded');
            return result;
          } catch (err) {
            if (countsAgainstProvider(err)) await reopen(`trial call failed: ${(err as Error).message}`);
            else await close('trial call answered');
            throw err;
          }
        }
      }
    }

    try {
      const result = await fn();
      this.#options.store.record(key, false, settings.windowMs).then(
        (updated) => this.#remember(updated),
        (err: Error) => this.#options.logger.warn({ provider, err: err.message }, 'circuit breaker: could not record a success'),
      );
      return result;
    } catch (err) {
      const counted = countsAgainstProvider(err);
      try {
        const updated = await this.#options.store.record(key, counted, settings.windowMs, counted ? (err as Error).message.slice(0, 300) : undefined);
        this.#remember(updated);
        const failureRate = updated.windowCalls > 0 ? updated.windowFailures / updated.windowCalls : 0;
        if (counted && updated.state === 'closed' && updated.windowCalls >= settings.minimumCalls && failureRate >= settings.failureRateThreshold) {
          await this.#transition(key, (current) => {
            if (current.state !== 'closed') return undefined;
            const currentRate = current.windowCalls > 0 ? current.windowFailures / current.windowCalls : 0;
            if (current.windowCalls < settings.minimumCalls || currentRate < settings.failureRateThreshold) return undefined;
            return {
              to: 'open',
              reason: `${current.windowFailures} of ${current.windowCalls} calls failed within ${settings.windowMs / 1000} s (${Math.round(currentRate * 100)}%)`,
              openForMs: settings.openMs,
              failedProbes: 0,
            };
          });
        }
      } catch (storeErr) {
        this.#options.logger.warn({ provider, err: (storeErr as Error).message }, 'circuit breaker: could not record a failure');
      }
      throw err;
    }
  }
}
