// State every worker shares about each provider: its circuit breaker (and each transition), its
// OAuth tokens (encrypted at rest), and each process's count of calls against the provider's quota.
import { bigserial, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export type CircuitState = 'closed' | 'open' | 'half_open';

/** One row per provider: the breaker's state and the current failure-counting window. */
export const circuitBreakers = pgTable('circuit_breakers', {
  provider: text('provider').primaryKey(),
  state: text('state').$type<CircuitState>().notNull().default('closed'),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull().defaultNow(),
  windowCalls: integer('window_calls').notNull().default(0),
  windowFailures: integer('window_failures').notNull().default(0),
  openedAt: timestamp('opened_at', { withTimezone: true }),
  /** While open: calls fail fast until then; afterwards the next call runs the health check. */
  openUntil: timestamp('open_until', { withTimezone: true }),
  /** Consecutive failed probes: each one keeps the breaker open longer (capped). */
  failedProbes: integer('failed_probes').notNull().default(0),
  /** Half-open: the one process running the health check, and until when its claim holds. */
  probeOwner: text('probe_owner'),
  probeUntil: timestamp('probe_until', { withTimezone: true }),
  lastFailure: text('last_failure'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Every transition of every breaker, with what caused it. */
export const circuitBreakerEvents = pgTable(
  'circuit_breaker_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    provider: text('provider').notNull(),
    fromState: text('from_state').$type<CircuitState>().notNull(),
    toState: text('to_state').$type<CircuitState>().notNull(),
    reason: text('reason').notNull(),
    calls: integer('calls'),
    failures: integer('failures'),
    failureRate: doublePrecision('failure_rate'),
    /** The process that made the transition. */
    actor: text('actor').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('circuit_breaker_events_provider_idx').on(table.provider, table.at)],
);

/**
 * OAuth access tokens of client-credential providers (PayPal, MobilePay), shared by every process.
 * The tokens are sealed with AES-256-GCM (TOKEN_ENCRYPTION_KEY); the fingerprint (a SHA-256 prefix)
 * lets a process invalidate "the token that was just refused" without decrypting.
 */
export const oauthTokens = pgTable('oauth_tokens', {
  key: text('key').primaryKey(),
  provider: text('provider').notNull(),
  accessTokenEnc: text('access_token_enc'),
  refreshTokenEnc: text('refresh_token_enc'),
  fingerprint: text('fingerprint'),
  scopes: text('scopes'),
  issuedAt: timestamp('issued_at', { withTimezone: true }),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  refreshCount: integer('refresh_count').notNull().default(0),
  lastError: text('last_error'),
  lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Each process's use of each provider's quota, flushed every few seconds; GET /providers sums them.
 * The row of process '@pacer' is the deployment's: its window_started_at is the earliest moment the
 * next request slot may start (providers/resilience/pacer.ts).
 */
export const providerQuotaUsage = pgTable(
  'provider_quota_usage',
  {
    provider: text('provider').notNull(),
    process: text('process').notNull(),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull(),
    windowSeconds: integer('window_seconds').notNull(),
    calls: integer('calls').notNull(),
    throttledMs: integer('throttled_ms').notNull().default(0),
    /** From the provider's rate-limit headers, when it sends them. */
    limit: integer('limit'),
    remaining: integer('remaining'),
    resetAt: timestamp('reset_at', { withTimezone: true }),
    details: jsonb('details'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.provider, table.process] })],
);
