// The circuit breakers of iCal feed hosts as the channel's health shows them. The import guards each
// fetch with the breaker of the feed's host (`ical:<host>`, activities/bookings/ical-import.ts), one
// shared by every feed on that host and every worker, through the same Postgres breaker store as the
// providers'.
import type { BreakerStore, CircuitState } from '../resilience/breaker-store';
import { ICAL_PROVIDER } from './fetch';

export interface IcalHostBreaker {
  host: string;
  state: CircuitState;
  openUntil: string | null;
  lastFailure: string | null;
}

/** The breaker name of a feed URL's host. */
export const icalBreakerKey = (url: string) => `${ICAL_PROVIDER}:${new URL(url).host}`;

/** Every feed host's breaker of this deployment (`scope`: RESILIENCE_SCOPE, as the store names them). */
export async function icalHostBreakers(store: Pick<BreakerStore, 'list'>, scope: string | undefined): Promise<IcalHostBreaker[]> {
  const suffix = scope ? `@${scope}` : '';
  return (await store.list())
    .filter((row) => row.provider.startsWith(`${ICAL_PROVIDER}:`) && (scope ? row.provider.endsWith(suffix) : !row.provider.includes('@')))
    .map((row) => ({
      host: row.provider.slice(ICAL_PROVIDER.length + 1, row.provider.length - suffix.length),
      state: row.state,
      openUntil: row.state === 'open' ? (row.openUntil?.toISOString() ?? null) : null,
      lastFailure: row.lastFailure ?? null,
    }));
}
