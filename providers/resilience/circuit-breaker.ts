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
// circuit_breaker_events, logged, and reported to `onTransition` (metrics). The state lives in a
// BreakerStore (breaker-store.ts, breaker-store-postgres.ts); what counts as unwell and the health
// check are in health-probe.ts.
import type { BreakerSettings } from '../../config/resilience';
import type { Logger } from '../../observability/logger';
import { ProviderError } from '../errors';
import type { BreakerRow, BreakerStore, BreakerTransition, BreakerEvent, CircuitState } from './breaker-store';
import { countsAgainstProvider, probeHealth } from './health-probe';

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
            key,
            (current) =>
              current.state === 'half_open' && current.probeOwner === claim
                ? { to: 'open', reason, openForMs: this.#openFor(settings, current.failedProbes + 1), failedProbes: current.failedProbes + 1 }
                : undefined,
            claim,
          );
        const close = (reason: string) =>
          this.#transition(key, (current) => (current.state === 'half_open' && current.probeOwner === claim ? { to: 'closed', reason } : undefined), claim);
        if (healthCheck) {
          const health = await probeHealth(healthCheck, this.#options.healthCheckTimeoutMs ?? 15_000);
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
