// A run's report, for a person: what was compared, what disagrees, what healed itself and what is
// left to decide. JSON for tools, CSV (RFC 4180) for a spreadsheet.
import { DISCREPANCY_KINDS, type DiscrepancyKind } from '../domain/reconciliation';
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
  /** Healed by a signal to the payment's workflow, or left for a person. */
  resolution: 'healed' | 'healing' | 'for_a_person';
  evidence: unknown;
}

export function discrepancyView(row: DiscrepancyRow): DiscrepancyView {
  const evidence = (row.evidence ?? {}) as { explanation?: string };
  const resolution = row.healed ? 'healed' : row.healable && row.healResult === 'signalled' ? 'healing' : 'for_a_person';
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
    resolution,
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
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
