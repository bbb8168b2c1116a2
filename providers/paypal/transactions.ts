// PayPal's account of what moved: the Transaction Search API (`GET /v1/reporting/transactions`,
// the SDK's TransactionSearchController), at most 31 days per query, `page` 1, 2, … of up to 500
// lines, balance-affecting lines only. Skerry puts its payment id in `custom_id`, which the report
// echoes as `custom_field`; a refund's line names its capture in `paypal_reference_id`. PayPal
// documents that a transaction can take up to three hours to appear: reconcile a day after it ends.
import { TransactionSearchController } from '@paypal/paypal-server-sdk';
import type { ProviderTransaction, TransactionListRequest, TransactionPage } from '../../domain/provider-transactions';
import { fromPayPalValue } from './amounts';
import type { PayPalConnection } from './connection';
import { classifyPayPalError } from './errors';

const MAX_PAGE = 500;

interface Money {
  currency_code: string;
  value: string;
}

interface TransactionDetail {
  transaction_info?: {
    transaction_id?: string;
    paypal_reference_id?: string;
    transaction_event_code?: string;
    transaction_initiation_date?: string;
    transaction_updated_date?: string;
    transaction_amount?: Money;
    fee_amount?: Money;
    transaction_status?: string;
    invoice_id?: string;
    custom_field?: string;
  };
}

interface SearchBody {
  transaction_details?: TransactionDetail[];
  page?: number;
  total_pages?: number;
}

/** PayPal wants seconds, no fractions needed: 2025-01-02T00:00:00Z. */
const paypalTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Signed minor units from PayPal's signed decimal string. */
function signedMinor(money: Money): number {
  const negative = money.value.trim().startsWith('-');
  const minor = fromPayPalValue(money.value.trim().replace(/^-/, ''), money.currency_code);
  return negative ? -minor : minor;
}

/** T00xx: payments received; T11xx: reversals and refunds; T04xx: withdrawals (payouts); T01xx: fees. */
function typeOf(code: string | undefined): ProviderTransaction['type'] {
  if (!code) return 'other';
  if (code.startsWith('T00')) return 'payment';
  if (code.startsWith('T11')) return 'refund';
  if (code.startsWith('T04')) return 'payout';
  if (code.startsWith('T01')) return 'fee';
  return 'other';
}

export function transactionFromDetail(detail: TransactionDetail): ProviderTransaction | undefined {
  const info = detail.transaction_info;
  if (!info?.transaction_id || !info.transaction_amount || !info.transaction_initiation_date) return undefined;
  const status = info.transaction_status;
  return {
    transactionId: info.transaction_id,
    type: typeOf(info.transaction_event_code),
    amount: signedMinor(info.transaction_amount),
    currency: info.transaction_amount.currency_code.toUpperCase(),
    status: status === 'S' ? 'succeeded' : status === 'P' ? 'pending' : status === 'V' ? 'reversed' : 'failed',
    settlement: status === 'S' ? 'settled' : 'pending',
    occurredAt: new Date(info.transaction_initiation_date).toISOString(),
    paymentId: info.custom_field || undefined,
    merchantReference: info.invoice_id || undefined,
    relatedTransactionId: info.paypal_reference_id || undefined,
    evidence: {
      transactionId: info.transaction_id,
      eventCode: info.transaction_event_code ?? null,
      status: status ?? null,
      invoiceId: info.invoice_id ?? null,
      fee: info.fee_amount ? signedMinor(info.fee_amount) : null,
    },
  };
}

export function createPayPalTransactionSource(paypal: PayPalConnection) {
  const search = new TransactionSearchController(paypal.sdk);
  return async function listPayPalTransactions(request: TransactionListRequest): Promise<TransactionPage> {
    const page = request.cursor ? Number(request.cursor) : 1;
    const operation = 'search_transactions';
    let body: SearchBody;
    try {
      const response = await paypal.call<SearchBody>(operation, () =>
        search.searchTransactions({
          startDate: paypalTime(Date.parse(request.from)),
          // end_date is inclusive; the request's `to` is not.
          endDate: paypalTime(Date.parse(request.to) - 1_000),
          fields: 'transaction_info',
          balanceAffectingRecordsOnly: 'Y',
          pageSize: Math.min(MAX_PAGE, request.pageSize ?? MAX_PAGE),
          page,
        }),
      );
      body = response.body;
    } catch (err) {
      throw classifyPayPalError(operation, err);
    }
    const transactions = (body.transaction_details ?? []).map(transactionFromDetail).filter((txn): txn is ProviderTransaction => txn !== undefined);
    const totalPages = body.total_pages ?? page;
    return { transactions, nextCursor: page < totalPages ? String(page + 1) : undefined };
  };
}
