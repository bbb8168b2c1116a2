// Where circuit breakers keep their state, and what they read and write there: one row per
// provider (the current state and the failure window) and an event per transition. Postgres holds it
// in every deployment (breaker-store-postgres.ts); the in-memory store here serves unit tests and a
// process without a database.
import type { CircuitState } from '../../db/schema';

export type { CircuitState };

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

/** The share of a window's calls that failed (null before the first call). */
export const failureRate = (calls: number, failures: number) => (calls > 0 ? failures / calls : null);

/** Breakers of this process alone: unit tests, and a process without a database. */
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
        failureRate: failureRate(before.windowCalls, before.windowFailures),
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
