// Transaction reconciliation: one row per run (a provider and a period), the provider's
// transactions the run fetched (staged, so matching is SQL and a resumed fetch never counts a
// transaction twice), and the discrepancies it found. Written only by the reconciliation
// activities; the payment ledger itself is never edited by a reconciliation.
import { bigint, bigserial, boolean, date, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const reconciliationRuns = pgTable(
  'reconciliation_runs',
  {
    /** The workflow id, `reconciliation-<provider>-<YYYY-MM-DD>`: a re-run of a period replaces its rows. */
    id: text('id').primaryKey(),
    /** The Temporal run that wrote the rows; a new run of the same id starts from empty rows. */
    temporalRunId: text('temporal_run_id').notNull(),
    provider: text('provider').notNull(),
    periodFrom: date('period_from', { mode: 'string' }).notNull(),
    /** Last day of the period, inclusive. */
    periodTo: date('period_to', { mode: 'string' }).notNull(),
    trigger: text('trigger').$type<'schedule' | 'manual'>().notNull(),
    status: text('status').$type<'running' | 'completed' | 'failed'>().notNull(),
    phase: text('phase').notNull(),
    pages: integer('pages').notNull().default(0),
    transactionsFetched: integer('transactions_fetched').notNull().default(0),
    ledgerPayments: integer('ledger_payments').notNull().default(0),
    matched: integer('matched').notNull().default(0),
    discrepancies: integer('discrepancies').notNull().default(0),
    healable: integer('healable').notNull().default(0),
    healed: integer('healed').notNull().default(0),
    /** Discrepancies a person looked at and chose to leave as they are: not open any more. */
    ignored: integer('ignored').notNull().default(0),
    /** Discrepancies by kind. */
    counts: jsonb('counts').notNull().default({}),
    /** Options, and one entry per fetch attempt (the page it resumed at). */
    details: jsonb('details').notNull().default({}),
    error: text('error'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (table) => [index('reconciliation_runs_provider_period_idx').on(table.provider, table.periodFrom)],
);

/** The provider's transactions as one run fetched them, normalized (providers/types.ts). */
export const reconciliationTransactions = pgTable(
  'reconciliation_transactions',
  {
    runId: text('run_id')
      .notNull()
      .references(() => reconciliationRuns.id, { onDelete: 'cascade' }),
    transactionId: text('transaction_id').notNull(),
    type: text('type').notNull(),
    /** Signed minor units, as the transaction moves the merchant's balance (a refund is negative). */
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    status: text('status').notNull(),
    settlement: text('settlement').notNull(),
    expectedSettlementAt: timestamp('expected_settlement_at', { withTimezone: true }),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    /** Inside the run's period (the fetch also reads a little slack on both sides). */
    inPeriod: boolean('in_period').notNull(),
    paymentId: text('payment_id'),
    providerReference: text('provider_reference'),
    merchantReference: text('merchant_reference'),
    relatedTransactionId: text('related_transaction_id'),
    /** The ledger payment the matching resolved this transaction to. */
    resolvedPaymentId: text('resolved_payment_id'),
    page: integer('page').notNull(),
    evidence: jsonb('evidence'),
  },
  (table) => [
    primaryKey({ columns: [table.runId, table.transactionId] }),
    index('reconciliation_transactions_resolved_idx').on(table.runId, table.resolvedPaymentId),
  ],
);

export const reconciliationDiscrepancies = pgTable(
  'reconciliation_discrepancies',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => reconciliationRuns.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    paymentId: text('payment_id'),
    transactionId: text('transaction_id'),
    reservationId: text('reservation_id'),
    providerReference: text('provider_reference'),
    ledgerStatus: text('ledger_status'),
    providerStatus: text('provider_status'),
    ledgerAmount: bigint('ledger_amount', { mode: 'number' }),
    providerAmount: bigint('provider_amount', { mode: 'number' }),
    currency: text('currency'),
    /** What was compared, and why it does not agree. */
    evidence: jsonb('evidence').notNull(),
    /** The provider's state explains it (a lost webhook): healed by signalling the payment's workflow. */
    healable: boolean('healable').notNull().default(false),
    /** The ledger now agrees with the provider (checked after the signal, never written here). */
    healed: boolean('healed').notNull().default(false),
    healResult: text('heal_result'),
    healAttemptedAt: timestamp('heal_attempted_at', { withTimezone: true }),
    healedAt: timestamp('healed_at', { withTimezone: true }),
    /** A person's decision: `ignored` (left as it is, on purpose) or `heal_requested` (healed on demand). */
    resolution: text('resolution').$type<'ignored' | 'heal_requested'>(),
    /** Who decided (the API key's name and id), when, and why: an audit trail, not a free-for-all. */
    resolvedBy: text('resolved_by'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    resolutionNote: text('resolution_note'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('reconciliation_discrepancies_run_idx').on(table.runId, table.kind),
    index('reconciliation_discrepancies_payment_idx').on(table.paymentId),
  ],
);
