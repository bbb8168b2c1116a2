import { bigint, index, integer, jsonb, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/** The ledger: one row per payment, the latest state the payment workflow recorded. */
export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(),
    workflowId: text('workflow_id').notNull(),
    provider: text('provider').notNull(),
    status: text('status').notNull(),
    reference: text('reference').notNull(),
    description: text('description'),
    captureMethod: text('capture_method').notNull(),
    currency: text('currency').notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    amountAuthorized: bigint('amount_authorized', { mode: 'number' }).notNull().default(0),
    amountCaptured: bigint('amount_captured', { mode: 'number' }).notNull().default(0),
    amountRefunded: bigint('amount_refunded', { mode: 'number' }).notNull().default(0),
    providerReference: text('provider_reference'),
    failureReason: text('failure_reason'),
    revision: integer('revision').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('payments_status_idx').on(table.status),
    index('payments_reference_idx').on(table.reference),
    uniqueIndex('payments_provider_reference_idx').on(table.provider, table.providerReference),
    // The console's list (GET /payments): newest first, filtered by provider or status, paged by (created_at, id).
    index('payments_created_idx').on(table.createdAt.desc(), table.id.desc()),
    index('payments_provider_created_idx').on(table.provider, table.createdAt.desc(), table.id.desc()),
    index('payments_status_created_idx').on(table.status, table.createdAt.desc(), table.id.desc()),
    // Searching by a provider's reference without knowing the provider (the console's search box).
    index('payments_provider_reference_only_idx').on(table.providerReference),
  ],
);

/** Every observation the workflow applied or ignored, once each (the workflow's event id is unique). */
export const paymentEvents = pgTable(
  'payment_events',
  {
    id: serial('id').primaryKey(),
    paymentId: text('payment_id')
      .notNull()
      .references(() => payments.id),
    eventId: text('event_id').notNull(),
    source: text('source').notNull(),
    providerEventType: text('provider_event_type').notNull(),
    statusBefore: text('status_before').notNull(),
    statusAfter: text('status_after').notNull(),
    applied: integer('applied').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
    details: jsonb('details'),
  },
  (table) => [uniqueIndex('payment_events_payment_event_idx').on(table.paymentId, table.eventId)],
);
