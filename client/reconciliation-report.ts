// A run's report, for a person: what was compared, what disagrees, what healed itself and what is
// left to decide. JSON for tools, CSV (RFC 4180) for a spreadsheet.
import { DISCREPANCY_KINDS, type DiscrepancyKind, type DiscrepancyResolution } from '../domain/reconciliation';
import type { DiscrepancyRow } from '../store/reconciliation-discrepancies';
import type { ReconciliationRunView } from '../store/reconciliation-runs';

export interface DiscrepancyView {
  id: number;
  kind: DiscrepancyKind;
  paymentId: string | null;
  transactionId: string | null;
  reservationId: string | null;
  providerReference: string | null;
  ledgerStatus: string | null;
  providerStatus: string | null;
  ledgerAmount: number | null;
  providerAmount: number | null;
  currency: string | null;
  explanation: string;
  healable: boolean;
  healed: boolean;
  healResult: string | null;
  /** Healed by a signal to the payment's workflow, ignored by a person, or left for a person. */
  resolution: DiscrepancyResolution;
  /** Who ignored it or asked for its heal (the API key's name and id), when, and why. */
  resolvedBy: string | null;
  resolvedAt: string | null;
  resolutionNote: string | null;
  evidence: unknown;
}

function resolutionOf(row: DiscrepancyRow): DiscrepancyResolution {
  if (row.healed) return 'healed';
  if (row.resolution === 'ignored') return 'ignored';
  if (row.healable && (row.healResult === 'signalled' || row.healResult === 'healing')) return 'healing';
  return 'for_a_person';
}

export function discrepancyView(row: DiscrepancyRow): DiscrepancyView {
  const evidence = (row.evidence ?? {}) as { explanation?: string };
  return {
    id: row.id,
    kind: row.kind as DiscrepancyKind,
    paymentId: row.paymentId,
    transactionId: row.transactionId,
    reservationId: row.reservationId,
    providerReference: row.providerReference,
    ledgerStatus: row.ledgerStatus,
    providerStatus: row.providerStatus,
    ledgerAmount: row.ledgerAmount,
    providerAmount: row.providerAmount,
    currency: row.currency,
    explanation: evidence.explanation ?? row.kind,
    healable: row.healable,
    healed: row.healed,
    healResult: row.healResult,
    resolution: resolutionOf(row),
    resolvedBy: row.resolvedBy,
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    resolutionNote: row.resolutionNote,
    evidence: row.evidence,
  };
}

export function reportJson(run: ReconciliationRunView, rows: DiscrepancyRow[]) {
  const discrepancies = rows.map(discrepancyView);
  const byKind = Object.fromEntries(DISCREPANCY_KINDS.map((kind) => [kind, discrepancies.filter((d) => d.kind === kind).length]));
  return {
    run,
    summary: {
      discrepancies: discrepancies.length,
      byKind,
      healed: discrepancies.filter((d) => d.resolution === 'healed').length,
      healing: discrepancies.filter((d) => d.resolution === 'healing').length,
      ignored: discrepancies.filter((d) => d.resolution === 'ignored').length,
      forAPerson: discrepancies.filter((d) => d.resolution === 'for_a_person').length,
    },
    discrepancies,
  };
}

const CSV_COLUMNS = [
  'id',
  'kind',
  'resolution',
  'payment_id',
  'transaction_id',
  'reservation_id',
  'provider_reference',
  'ledger_status',
  'provider_status',
  'ledger_amount',
  'provider_amount',
  'currency',
  'heal_result',
  'explanation',
  // A person's decision, last so that readers of the earlier columns keep their positions.
  'resolved_by',
  'resolved_at',
  'resolution_note',
] as const;

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  // Quote what needs it; a leading = + - @ is prefixed so a spreadsheet never runs it as a formula.
  const safe = /^[=+\-@]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function reportCsv(rows: DiscrepancyRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows.map(discrepancyView)) {
    lines.push(
      [
        row.id,
        row.kind,
        row.resolution,
        row.paymentId,
        row.transactionId,
        row.reservationId,
        row.providerReference,
        row.ledgerStatus,
        row.providerStatus,
        row.ledgerAmount,
        row.providerAmount,
        row.currency,
        row.healResult,
        row.explanation,
        row.resolvedBy,
        row.resolvedAt,
        row.resolutionNote,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
