// Vipps MobilePay's account of what moved: the Report API (settlement), not the ePayment API. A
// sales unit (MSN) settles into ledgers (one per currency); `GET /settlement/v1/ledgers` names them
// and `GET /report/v2/ledgers/{ledgerId}/funds/dates/{ledgerDate}` lists one booking day's funds
// entries (captures +, refunds −) in pages chained by an opaque `cursor`. Entries carry the ePayment
// `reference` (Skerry's provider reference) and their own `pspReference`. A booked entry is settled:
// it is part of the next payout.
//
// The period is walked ledger by ledger, day by day; the reconciliation's cursor is that position
// plus the API's own cursor, as JSON.
import type { ProviderTransaction, TransactionListRequest, TransactionPage } from '../../domain/provider-transactions';

export interface LedgerEntry {
  pspReference: string;
  time: string;
  ledgerDate: string;
  entryType: string;
  reference?: string;
  currency: string;
  amount: number;
  recipientHandle?: string;
}

export interface ReportApi {
  listLedgers(): Promise<{ items: Array<{ ledgerId: string; currency: string; settlesForRecipientHandles?: string[] }> }>;
  fundsByDate(ledgerId: string, ledgerDate: string, cursor: string | undefined, pageSize: number): Promise<{ items: LedgerEntry[]; cursor?: string; tryLater?: boolean }>;
}

interface Position {
  /** Ledgers of this sales unit, found on the first page. */
  ledgers: string[];
  ledger: number;
  day: string;
  cursor?: string;
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

function typeOf(entryType: string): ProviderTransaction['type'] {
  if (entryType === 'capture') return 'payment';
  if (entryType === 'refund') return 'refund';
  if (entryType.startsWith('payout')) return 'payout';
  if (entryType.startsWith('fee')) return 'fee';
  return 'other';
}

export function transactionFromEntry(entry: LedgerEntry): ProviderTransaction {
  return {
    transactionId: entry.pspReference,
    type: typeOf(entry.entryType),
    amount: entry.amount,
    currency: entry.currency.toUpperCase(),
    status: 'succeeded',
    settlement: 'settled',
    occurredAt: new Date(entry.time).toISOString(),
    providerReference: entry.reference,
    evidence: { pspReference: entry.pspReference, entryType: entry.entryType, ledgerDate: entry.ledgerDate },
  };
}

export function createMobilePayReportSource(api: ReportApi, merchantSerialNumber: string) {
  return async function listMobilePayTransactions(request: TransactionListRequest): Promise<TransactionPage> {
    const firstDay = request.from.slice(0, 10);
    const lastDay = new Date(Date.parse(request.to) - 1).toISOString().slice(0, 10);
    let position: Position;
    if (request.cursor) {
      position = JSON.parse(request.cursor) as Position;
    } else {
      const ledgers = await api.listLedgers();
      const mine = ledgers.items.filter((ledger) => !ledger.settlesForRecipientHandles || ledger.settlesForRecipientHandles.includes(`api:${merchantSerialNumber}`));
      position = { ledgers: mine.map((ledger) => ledger.ledgerId), ledger: 0, day: firstDay };
    }
    const ledgerId = position.ledgers[position.ledger];
    if (!ledgerId) return { transactions: [] };
    const page = await api.fundsByDate(ledgerId, position.day, position.cursor, Math.min(1_000, request.pageSize ?? 500));
    const transactions = page.items
      .map(transactionFromEntry)
      .filter((txn) => txn.occurredAt >= request.from && txn.occurredAt < request.to);
    let next: Position | undefined;
    if (page.cursor) next = { ...position, cursor: page.cursor };
    else if (position.day < lastDay) next = { ...position, day: nextDay(position.day), cursor: undefined };
    else if (position.ledger + 1 < position.ledgers.length) next = { ...position, ledger: position.ledger + 1, day: firstDay, cursor: undefined };
    return { transactions, nextCursor: next ? JSON.stringify(next) : undefined };
  };
}
