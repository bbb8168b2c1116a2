// Reconciliation: what a run finds, counts and reports, and the provider's own account of what moved.
// Pure types and values, no I/O.
import type { ProviderName } from './payments';
import { addDays } from './dates';

/**
 * What a reconciliation can find. The provider leg (provider ↔ ledger) gives at most one per
 * payment or transaction; the booking leg (ledger ↔ bookings) at most one per payment.
 * - missing_in_ledger: the provider moved money the ledger has no payment for (an orphan transaction).
 * - missing_at_provider: the ledger took money in the period, the provider shows no transaction for it.
 * - amount_mismatch / currency_mismatch: both sides know the payment, not for the same money.
 * - status_mismatch: both sides know it, in different states. When the ledger is only behind the
 *   provider (a lost webhook) it is healable: the payment's workflow is told what the provider says.
 *   Money captured on a payment the ledger closed (failed, expired, canceled) is healable too: it
 *   reaches the payment as a late success, which LATE_SUCCESS_POLICY reopens or refunds.
 * - payment_without_booking: the ledger took money for no booking (no reservation names the payment).
 * - booking_not_settled: a paid booking whose money the provider shows but has not settled.
 */
export const DISCREPANCY_KINDS = [
  'missing_in_ledger',
  'missing_at_provider',
  'amount_mismatch',
  'currency_mismatch',
  'status_mismatch',
  'payment_without_booking',
  'booking_not_settled',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/**
 * Where a discrepancy stands: healed (the ledger agrees now), healing (its payment was told and has
 * not recorded it yet), ignored (a person decided to leave it), or for a person to decide.
 */
export const DISCREPANCY_RESOLUTIONS = ['healed', 'healing', 'ignored', 'for_a_person'] as const;
export type DiscrepancyResolution = (typeof DISCREPANCY_RESOLUTIONS)[number];

export type ReconciliationStatus = 'running' | 'completed' | 'failed';
export type ReconciliationPhase = 'starting' | 'fetching' | 'matching' | 'healing' | 'verifying' | 'done';

export interface ReconciliationOptions {
  /** Transactions asked for per provider page (the provider caps it: Stripe 100, PayPal 500). */
  pageSize?: number;
  /** Match ledger payments against bookings (the channel manager's reservations). Default true. */
  checkBookings?: boolean;
  /** Signal lost webhooks into their payments. Default true. */
  heal?: boolean;
  /** How long the fetch may go without a heartbeat before another worker resumes it. */
  heartbeatTimeoutMs?: number;
  /** First wait before checking that healed payments reached the ledger (then doubling, 4 checks). */
  healVerifyDelayMs?: number;
}

export interface ReconciliationInput {
  provider: ProviderName;
  /** First day of the period, YYYY-MM-DD (UTC). */
  from: string;
  /** Last day of the period, inclusive; default `from`. */
  to?: string;
  trigger: 'schedule' | 'manual';
  options?: ReconciliationOptions;
}

export interface ReconciliationCounts {
  pages: number;
  transactions: number;
  /** Ledger payments of this provider that took money in the period. */
  ledgerPayments: number;
  /** Payments both sides agree on. */
  matched: number;
  discrepancies: number;
  byKind: Partial<Record<DiscrepancyKind, number>>;
  healable: number;
  /** Signals delivered to payment workflows. */
  healSignalled: number;
  /** Healable discrepancies the ledger now agrees with. */
  healed: number;
  /** Discrepancies a person chose to leave as they are (POST …/ignore): not open any more. */
  ignored?: number;
  /** What is still for a person: discrepancies neither healed nor ignored. */
  open?: number;
}

export const EMPTY_COUNTS: ReconciliationCounts = {
  pages: 0,
  transactions: 0,
  ledgerPayments: 0,
  matched: 0,
  discrepancies: 0,
  byKind: {},
  healable: 0,
  healSignalled: 0,
  healed: 0,
};

export interface ReconciliationState {
  /** The workflow id, also the run's id in Postgres and in the API. */
  runId: string;
  provider: ProviderName;
  from: string;
  to: string;
  trigger: ReconciliationInput['trigger'];
  status: ReconciliationStatus;
  phase: ReconciliationPhase;
  counts: ReconciliationCounts;
  startedAt: string;
  finishedAt?: string;
  error?: string;
}



export interface ScheduledReconciliationInput {
  providers: ProviderName[];
  /** Which day: the scheduled day minus this many days (default 1, yesterday). */
  daysBack?: number;
  options?: ReconciliationOptions;
}

export interface ScheduledReconciliationResult {
  day: string;
  runs: Array<{ provider: ProviderName; runId: string; outcome: ReconciliationStatus | 'already_running' | 'failed_to_start'; discrepancies?: number }>;
}

/** The period as timestamps: [from 00:00Z, day after `to` 00:00Z). */
export function periodBounds(from: string, to: string): { start: string; end: string } {
  return { start: `${from}T00:00:00.000Z`, end: `${addDays(to, 1)}T00:00:00.000Z` };
}
