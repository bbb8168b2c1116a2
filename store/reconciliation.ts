// Reconciliation in Postgres. The provider's transactions are staged per run, then one transaction
// of SQL statements resolves them to ledger payments and writes every discrepancy: the matching is
// set-based and never passes through workflow code or history. Every statement is idempotent per
// run, so an activity retried after a crash writes the same rows again, never twice.
import type { Database } from '../db/client';
import { createDiscrepancyStore } from './reconciliation-discrepancies';
import { createReconciliationMatcher } from './reconciliation-matching';
import { createReconciliationRunStore } from './reconciliation-runs';

/** What the reconciliation activities and the client use: runs and pages, the match, discrepancies. */
export function createReconciliationStore(db: Database) {
  return { ...createReconciliationRunStore(db), ...createReconciliationMatcher(db), ...createDiscrepancyStore(db) };
}

export type ReconciliationStore = ReturnType<typeof createReconciliationStore>;
