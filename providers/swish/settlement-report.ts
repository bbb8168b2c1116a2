// Swish's account of what moved. Swish for merchants has no API that lists payments: a payment
// request can only be read by its id. What lists them is the merchant's bank: it books every settled
// Swish payment (credit) and refund (debit) and reports them per booking day — the "Swish report"
// banks deliver as a file (CSV, camt.054) or through their own corporate APIs, with the Swish number,
// amount, payer, Swish's payment reference, the merchant's order id (payee payment reference) and the
// message. Skerry reads that report as JSON pages from SWISH_SETTLEMENT_REPORT_URL
// (`GET <url>/v1/settlement-report?date=&page=&pageSize=&swishNumber=`); the sandbox serves one under
// `/swish/bank`. A real bank's format needs an adapter in front of that shape.
//
// The report does not carry the payment request id Skerry knows a payment by: rows are matched on
// the order id (Skerry's booking reference, alphanumerics, as sent in payeePaymentReference), paired
// in time order, and refunds on the payment reference of the payment they return.
import { request as undiciRequest } from 'undici';
import { classifyTransportError, kindFromHttpStatus, ProviderError } from '../errors';
import type { ProviderTransaction, TransactionListRequest, TransactionPage } from '../../domain/provider-transactions';
import { parseAmount } from './protocol';

export interface SwishSettlementRow {
  rowId: string;
  bookingDate: string;
  transactionTime: string;
  type: 'CREDIT' | 'DEBIT';
  amount: string;
  currency: string;
  swishNumber?: string;
  payerAlias?: string | null;
  paymentReference: string;
  orderId?: string | null;
  message?: string | null;
  originalPaymentReference?: string | null;
}

interface ReportPage {
  bookingDate: string;
  page: number;
  totalPages: number;
  rows: SwishSettlementRow[];
}

interface Position {
  day: string;
  page: number;
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

export function transactionFromRow(row: SwishSettlementRow): ProviderTransaction {
  const minor = parseAmount(row.amount);
  const refund = row.type === 'DEBIT';
  return {
    transactionId: row.paymentReference,
    type: refund ? 'refund' : 'payment',
    amount: refund ? -minor : minor,
    currency: row.currency.toUpperCase(),
    status: 'succeeded',
    // A line of the bank's report is money booked on the merchant's account.
    settlement: 'settled',
    occurredAt: new Date(row.transactionTime).toISOString(),
    merchantReference: row.orderId || undefined,
    relatedTransactionId: row.originalPaymentReference || undefined,
    evidence: { rowId: row.rowId, bookingDate: row.bookingDate, payerAlias: row.payerAlias ?? null, message: row.message ?? null },
  };
}

export function createSwishSettlementReportSource(options: { url: string; payeeAlias: string; timeoutMs?: number }) {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 20_000;
  return async function listSwishTransactions(request: TransactionListRequest): Promise<TransactionPage> {
    const operation = 'settlement_report';
    const lastDay = new Date(Date.parse(request.to) - 1).toISOString().slice(0, 10);
    const position: Position = request.cursor ? (JSON.parse(request.cursor) as Position) : { day: request.from.slice(0, 10), page: 1 };
    const url =
      `${base}/v1/settlement-report?date=${position.day}&page=${position.page}` +
      `&pageSize=${Math.min(1_000, request.pageSize ?? 500)}&swishNumber=${encodeURIComponent(options.payeeAlias)}`;
    let body: ReportPage;
    try {
      const response = await undiciRequest(url, { method: 'GET', headers: { accept: 'application/json' }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      const text = await response.body.text();
      if (response.statusCode !== 200) {
        throw new ProviderError('swish', operation, kindFromHttpStatus(response.statusCode), `settlement report answered ${response.statusCode}: ${text.slice(0, 200)}`, {
          httpStatus: response.statusCode,
        });
      }
      body = JSON.parse(text) as ReportPage;
    } catch (err) {
      throw err instanceof ProviderError ? err : classifyTransportError('swish', operation, err);
    }
    const transactions = body.rows.map(transactionFromRow).filter((txn) => txn.occurredAt >= request.from && txn.occurredAt < request.to);
    let next: Position | undefined;
    if (position.page < body.totalPages) next = { day: position.day, page: position.page + 1 };
    else if (position.day < lastDay) next = { day: nextDay(position.day), page: 1 };
    return { transactions, nextCursor: next ? JSON.stringify(next) : undefined };
  };
}
