// Every call the API makes to Temporal runs inside a deadline. Without one, a call to an
// unreachable server is retried by the connection for as long as it takes and the caller (an HTTP
// request) hangs; with one it fails with DEADLINE_EXCEEDED, which api/unavailable.ts answers as 503.
import type { Client } from '@temporalio/client';

export interface TemporalDeadlines {
  /** Starts, queries, describes, signals and Schedule changes: the server answers these at once when it is up. */
  callMs: number;
  /** Updates that wait for the workflow's answer (a provider's, a hold's): long by design, but not endless. */
  commandMs: number;
}

export const DEFAULT_TEMPORAL_DEADLINES: TemporalDeadlines = { callMs: 10_000, commandMs: 30_000 };

/** Runs `call` so that every Temporal request it makes ends `ms` from now at the latest. */
export type WithinDeadline = <T>(ms: number, call: () => Promise<T>) => Promise<T>;

export function withinDeadline(temporal: Pick<Client, 'withDeadline'>): WithinDeadline {
  return (ms, call) => temporal.withDeadline(Date.now() + ms, call);
}
