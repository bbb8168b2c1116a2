// Who may use the admin API: scoped API keys (only their hash is kept), the responses of
// money-moving requests remembered under their Idempotency-Key, and the OAuth connects a key started.
import { boolean, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** What a key may do. Each admin route needs exactly one of these (api/auth/route-scopes.ts). */
export const API_SCOPES = ['read', 'payments:write', 'refunds:write', 'inventory:write', 'channels:admin', 'ops:admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/**
 * One row per API key. The key itself is never stored: a leaked table cannot be replayed. Keys are
 * 256 random bits, so an unsalted SHA-256 is as strong as a password hash would be, and lets a
 * request be authenticated by one indexed lookup.
 */
export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** The key's first characters, shown in lists so a person can tell keys apart. */
  prefix: text('prefix').notNull(),
  hash: text('hash').notNull().unique(),
  scopes: text('scopes').array().$type<ApiScope[]>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revoked: boolean('revoked').notNull().default(false),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/**
 * A money-moving request's answer, kept under (API key, Idempotency-Key) for 24 hours: a retry with
 * the same body gets the first answer and moves nothing again, whatever happened to the workflow in
 * between (continue-as-new forgets update ids; this table does not).
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    apiKeyId: text('api_key_id').notNull(),
    key: text('key').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    /** SHA-256 of the method, the path and the validated body: the same key with another request is refused. */
    requestHash: text('request_hash').notNull(),
    /** `pending` while the first request runs; `done` once its answer is stored. */
    state: text('state').$type<'pending' | 'done'>().notNull().default('pending'),
    responseStatus: integer('response_status'),
    responseType: text('response_type'),
    responseBody: text('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.apiKeyId, table.key] }), index('idempotency_keys_expires_idx').on(table.expiresAt)],
);

/**
 * An OAuth connect in progress (Airbnb hosts): the state sent to the provider is random, only its
 * hash is kept, it is bound to the API key that started the connect and it expires. The callback
 * consumes it once.
 */
export const oauthConnectStates = pgTable('oauth_connect_states', {
  stateHash: text('state_hash').primaryKey(),
  channel: text('channel').notNull(),
  apiKeyId: text('api_key_id').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
