// The provider's own account of what moved (balance transactions, report lines), normalized, as the
// reconciliation pages through it.
// ─── Reconciliation: the provider's own account of what moved ─────────────────────────────────

/** One transaction on the provider's side (a balance transaction, a report line), normalized. */
export interface ProviderTransaction {
  /** The provider's id of the transaction itself (txn_…, a PayPal transaction id, a pspReference). */
  transactionId: string;
  type: 'payment' | 'refund' | 'payout' | 'fee' | 'other';
  /** Signed, in minor units, as it moves the merchant's balance: a refund is negative. */
  amount: number;
  /** ISO 4217, upper case. */
  currency: string;
  status: 'succeeded' | 'pending' | 'failed' | 'reversed';
  /** Whether the money has reached the merchant's settled balance (paid out, available, booked). */
  settlement: 'settled' | 'pending';
  /** When the provider expects it settled (Stripe's available_on), where it says. */
  expectedSettlementAt?: string;
  occurredAt: string;
  /** Skerry's payment id, where the transaction carries it (metadata, custom_id). */
  paymentId?: string;
  /** The payment at the provider (PaymentIntent, ePayment reference): the ledger's provider_reference. */
  providerReference?: string;
  /** The merchant's own reference as the provider echoes it (Swish's payeePaymentReference). */
  merchantReference?: string;
  /** The payment a refund belongs to, by the provider's transaction id (Swish originalPaymentReference). */
  relatedTransactionId?: string;
  /** A few raw fields, kept as the discrepancy's evidence. */
  evidence?: Record<string, string | number | boolean | null>;
}

export interface TransactionListRequest {
  /** ISO timestamps, [from, to). */
  from: string;
  to: string;
  /** Opaque: the `nextCursor` of the previous page; absent for the first page. */
  cursor?: string;
  pageSize?: number;
}

export interface TransactionPage {
  transactions: ProviderTransaction[];
  /** Absent on the last page. Checkpointed by the reconciliation activity between pages. */
  nextCursor?: string;
}
