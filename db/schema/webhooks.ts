import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const WEBHOOK_INBOX_STATUSES = ['pending', 'delivered', 'unmatched', 'ignored', 'closed', 'failed'] as const;
export type WebhookInboxStatus = (typeof WEBHOOK_INBOX_STATUSES)[number];

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
