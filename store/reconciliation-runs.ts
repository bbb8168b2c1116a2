// Reconciliation runs and the provider transactions they stage, page by page. The matching reads
// the staged rows (reconciliation-matching.ts); nothing of them passes through workflow history.
import { desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { reconciliationRuns, reconciliationTransactions } from '../db/schema';
import type { ProviderTransaction } from '../domain/provider-transactions';
import type { ProviderName } from '../domain/payments';
import { DISCREPANCY_KINDS, type DiscrepancyKind, type ReconciliationCounts, type ReconciliationInput, type ReconciliationOptions, type ReconciliationPhase, type ReconciliationStatus } from '../domain/reconciliation';
import { countDiscrepancies } from './reconciliation-discrepancies';

/** Transactions are fetched this much beyond the period on both sides, so a capture at midnight is not lost between two runs. */
export const FETCH_SLACK_MS = 2 * 3_600_000;

export interface RunRow {
  id: string;
  temporalRunId: string;
  provider: string;
  periodFrom: string;
  periodTo: string;
  trigger: string;
  status: ReconciliationStatus;
  phase: string;
  pages: number;
  transactionsFetched: number;
  ledgerPayments: number;
  matched: number;
  discrepancies: number;
  healable: number;
  healed: number;
  ignored: number;
  counts: unknown;
  details: unknown;
  error: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export function createReconciliationRunStore(db: Database) {
  return {
    /**
     * Opens the run's row. The same Temporal run retrying keeps what it wrote; a new run of the same
     * id (a period reconciled again) starts from empty rows.
     */
    async beginRun(input: {
      runId: string;
      temporalRunId: string;
      provider: ProviderName;
      from: string;
      to: string;
      trigger: ReconciliationInput['trigger'];
      options: ReconciliationOptions;
    }): Promise<void> {
      await db.transaction(async (tx) => {
        const [existing] = await tx
          .select({ temporalRunId: reconciliationRuns.temporalRunId })
          .from(reconciliationRuns)
          .where(eq(reconciliationRuns.id, input.runId))
          .for('update');
        if (existing?.temporalRunId === input.temporalRunId) return;
        if (existing) await tx.delete(reconciliationRuns).where(eq(reconciliationRuns.id, input.runId));
        await tx.insert(reconciliationRuns).values({
          id: input.runId,
          temporalRunId: input.temporalRunId,
          provider: input.provider,
          periodFrom: input.from,
          periodTo: input.to,
          trigger: input.trigger,
          status: 'running',
          phase: 'starting',
          details: { options: input.options, fetchAttempts: [] },
        });
      });
    },

    async setPhase(runId: string, phase: ReconciliationPhase): Promise<void> {
      await db.update(reconciliationRuns).set({ phase, updatedAt: sql`now()` }).where(eq(reconciliationRuns.id, runId));
    },

    /** One entry per attempt of the fetch: where it started (0 = the first page, k = resumed after page k). */
    async recordFetchAttempt(runId: string, attempt: { attempt: number; resumedAfterPage: number; at: string }): Promise<void> {
      await db.execute(sql`
        update reconciliation_runs
           set details = jsonb_set(details, '{fetchAttempts}', coalesce(details->'fetchAttempts', '[]'::jsonb) || ${JSON.stringify(attempt)}::jsonb),
               phase = 'fetching', updated_at = now()
         where id = ${runId}`);
    },

    /**
     * Stores one page. Transactions already staged (a page fetched again after a resumed crash) are
     * skipped, and only the new ones are counted, in the same database transaction.
     */
    async stagePage(runId: string, page: number, transactions: ProviderTransaction[], period: { start: string; end: string }): Promise<number> {
      // A page may list the same transaction twice (a provider's own overlap): keep the first.
      const unique = [...new Map(transactions.map((txn) => [txn.transactionId, txn])).values()];
      const rows = unique.map((txn) => ({
        transaction_id: txn.transactionId,
        type: txn.type,
        amount: txn.amount,
        currency: txn.currency.toUpperCase(),
        status: txn.status,
        settlement: txn.settlement,
        expected_settlement_at: txn.expectedSettlementAt ?? null,
        occurred_at: txn.occurredAt,
        payment_id: txn.paymentId ?? null,
        provider_reference: txn.providerReference ?? null,
        merchant_reference: txn.merchantReference ?? null,
        related_transaction_id: txn.relatedTransactionId ?? null,
        evidence: txn.evidence ?? null,
      }));
      // One statement (one JSON parameter, one commit): the insert and the run's counters move
      // together, and only rows new to the run are counted.
      const [result] = await db.execute<{ inserted: number }>(sql`
        with input as (
          select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(
            transaction_id text, type text, amount bigint, currency text, status text, settlement text,
            expected_settlement_at timestamptz, occurred_at timestamptz, payment_id text, provider_reference text,
            merchant_reference text, related_transaction_id text, evidence jsonb)),
        inserted as (
          insert into reconciliation_transactions
            (run_id, transaction_id, type, amount, currency, status, settlement, expected_settlement_at, occurred_at, in_period,
             payment_id, provider_reference, merchant_reference, related_transaction_id, page, evidence)
          select ${runId}, transaction_id, type, amount, currency, status, settlement, expected_settlement_at, occurred_at,
                 occurred_at >= ${period.start}::timestamptz and occurred_at < ${period.end}::timestamptz,
                 payment_id, provider_reference, merchant_reference, related_transaction_id, ${page}, evidence
            from input
          on conflict do nothing
          returning 1)
        update reconciliation_runs
           set pages = greatest(pages, ${page}), transactions_fetched = transactions_fetched + (select count(*) from inserted),
               phase = 'fetching', updated_at = now()
         where id = ${runId}
        returning (select count(*)::int from inserted) as inserted`);
      return result?.inserted ?? 0;
    },

    async stagedCount(runId: string): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(reconciliationTransactions).where(eq(reconciliationTransactions.runId, runId));
      return row?.n ?? 0;
    },

    async finishRun(runId: string, outcome: { status: ReconciliationStatus; error?: string }): Promise<void> {
      const counts = await countDiscrepancies(db, runId);
      await db
        .update(reconciliationRuns)
        .set({
          status: outcome.status,
          phase: 'done',
          error: outcome.error ?? null,
          discrepancies: counts.total,
          healable: counts.healable,
          healed: counts.healed,
          counts: counts.byKind,
          finishedAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(eq(reconciliationRuns.id, runId));
    },

    async getRun(runId: string): Promise<RunRow | undefined> {
      const [row] = await db.select().from(reconciliationRuns).where(eq(reconciliationRuns.id, runId));
      return row as RunRow | undefined;
    },

    async listRuns(filter: { provider?: string; limit?: number } = {}): Promise<RunRow[]> {
      const rows = await db
        .select()
        .from(reconciliationRuns)
        .where(filter.provider ? eq(reconciliationRuns.provider, filter.provider) : undefined)
        .orderBy(desc(reconciliationRuns.periodFrom), desc(reconciliationRuns.startedAt))
        .limit(filter.limit ?? 50);
      return rows as RunRow[];
    },
  };
}

/** The run as the API and the CLI show it. */
export function runView(row: RunRow) {
  const byKind = (row.counts ?? {}) as Partial<Record<DiscrepancyKind, number>>;
  const counts: ReconciliationCounts = {
    pages: row.pages,
    transactions: row.transactionsFetched,
    ledgerPayments: row.ledgerPayments,
    matched: row.matched,
    discrepancies: row.discrepancies,
    byKind: Object.fromEntries(DISCREPANCY_KINDS.filter((kind) => byKind[kind]).map((kind) => [kind, byKind[kind]!])),
    healable: row.healable,
    healSignalled: 0,
    healed: row.healed,
    ignored: row.ignored,
    open: Math.max(0, row.discrepancies - row.healed - row.ignored),
  };
  const details = (row.details ?? {}) as { fetchAttempts?: unknown[]; options?: unknown };
  return {
    id: row.id,
    workflowId: row.id,
    provider: row.provider,
    from: row.periodFrom,
    to: row.periodTo,
    trigger: row.trigger,
    status: row.status,
    phase: row.phase,
    counts,
    fetchAttempts: details.fetchAttempts ?? [],
    options: details.options ?? {},
    error: row.error,
    startedAt: row.startedAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

export type ReconciliationRunView = ReturnType<typeof runView>;
