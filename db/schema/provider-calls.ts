// Provider calls rolled up per provider and hour: what the overview's latency and error-rate chart
// reads. Prometheus histograms live in one process and die with it; these rows survive restarts and
// add up across workers. One row per provider and hour, so a day is at most a few hundred rows.
import { bigint, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const providerCallHours = pgTable(
  'provider_call_hours',
  {
    provider: text('provider').notNull(),
    /** The hour's start (UTC). */
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    calls: integer('calls').notNull().default(0),
    /** Calls that did not answer ok (any ProviderError kind: unavailable, rate limited, refused...). */
    errors: integer('errors').notNull().default(0),
    /** Sum of latencies in milliseconds: the mean is latencyMsSum / calls. */
    latencyMsSum: bigint('latency_ms_sum', { mode: 'number' }).notNull().default(0),
    latencyMsMax: integer('latency_ms_max').notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.provider, table.hour] })],
);
