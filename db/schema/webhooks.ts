import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * received: recorded, its first delivery under way; pending: an attempt errored or waited, the next is
 * scheduled; delivered / closed: settled; parked: waited past WEBHOOK_PARK_AFTER_MS on what Skerry does
 * not control (its payment not in the ledger, no workflow); failed: delivery errored
 * WEBHOOK_MAX_DELIVERY_ATTEMPTS times; unmatched: refused (it names no payment of ours, or the wrong
 * one); ignored: an event Skerry does not act on. Parked and failed rows wait for an operator's replay.
 */
export const WEBHOOK_INBOX_STATUSES = ['received', 'pending', 'delivered', 'parked', 'failed', 'unmatched', 'ignored', 'closed'] as const;
export type WebhookInboxStatus = (typeof WEBHOOK_INBOX_STATUSES)[number];
/** Rows still owed a delivery attempt: the sweep claims these. */
export const DELIVERABLE_INBOX_STATUSES = ['received', 'pending'] as const satisfies readonly WebhookInboxStatus[];
/** Rows Skerry gave up delivering on its own: counted, alerted on, and moved back by a replay. */
export const GIVEN_UP_INBOX_STATUSES = ['parked', 'failed'] as const satisfies readonly WebhookInboxStatus[];

/**
 * The durable webhook inbox. A provider gets its 2xx only after its event is a row here; the
 * delivery loop then signals the workflow and marks the row, so a crash between the two is retried.
 */
export const webhookInbox = pgTable(
  'webhook_inbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    paymentId: text('payment_id'),
    providerReference: text('provider_reference'),
    /** The normalized event the delivery loop sends (observation, hint, adopt data). */
    delivery: jsonb('delivery').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status').$type<WebhookInboxStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    duplicates: integer('duplicates').notNull().default(0),
  },
  (table) => [
    uniqueIndex('webhook_inbox_provider_event_idx').on(table.provider, table.eventId),
    index('webhook_inbox_pending_idx').on(table.status, table.nextAttemptAt),
  ],
);
