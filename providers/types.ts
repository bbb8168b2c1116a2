// The one interface every payment provider implements. The payment workflow, the webhook pipeline
// and the activities only ever see these shapes, so a provider is an adapter, not a copy.
import type {
  CaptureMethod,
  Money,
  NextAction,
  PaymentObservation,
  ProviderCapabilities,
  ProviderName,
  RefundObservation,
} from '../workflows/payments/messages';
import type { ChannelName, ChannelReservationEvent } from '../workflows/bookings/messages';

/** Who sends webhooks: the payment providers, and the booking channels that push (Airbnb). */
export type WebhookSource = ProviderName | ChannelName;

export interface CreateProviderPaymentRequest {
  paymentId: string;
  amount: Money;
  reference: string;
  description?: string;
  captureMethod: CaptureMethod;
  payer?: { alias?: string };
  idempotencyKey: string;
}

/** The provider's view of a payment, normalized. */
export interface ProviderPaymentSnapshot {
  providerReference: string;
  status: NonNullable<PaymentObservation['status']>;
  providerStatus: string;
  amountAuthorized?: number;
  amountCaptured: number;
  amountRefunded: number;
  nextAction?: NextAction;
  failureReason?: string;
  /** Each refund's own state, where the provider reports refunds one by one. */
  refunds?: RefundObservation[];
}

export interface PaymentProviderClient {
  readonly name: ProviderName;
  readonly capabilities: ProviderCapabilities;
  createPayment(request: CreateProviderPaymentRequest): Promise<ProviderPaymentSnapshot>;
  getPayment(providerReference: string): Promise<ProviderPaymentSnapshot>;
  capturePayment(request: { providerReference: string; amount: number; idempotencyKey: string }): Promise<ProviderPaymentSnapshot>;
  cancelPayment(request: { providerReference: string; idempotencyKey: string; reason: 'requested' | 'expired' }): Promise<ProviderPaymentSnapshot>;
  refundPayment(request: {
    providerReference: string;
    amount: number;
    currency: string;
    idempotencyKey: string;
    reason?: string;
  }): Promise<RefundObservation>;
  /** The provider's transaction listing, for reconciliation (see TransactionSource). */
  listTransactions?: TransactionSource['listTransactions'];
  /**
   * A cheap authenticated read that closes a half-open circuit breaker when it succeeds. An answer
   * that is not an outage (a 404 for a probe id) counts as healthy; 5xx, timeouts and resets do not.
   */
  healthCheck?(): Promise<unknown>;
}

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

/**
 * Paging through the provider's transactions with the provider's own pagination (Stripe
 * `starting_after`, PayPal `page`, the Swish bank report's pages, the MobilePay Report API cursor).
 * The cursor is opaque and serializable, so a killed worker resumes at the page it stopped at.
 */
export interface TransactionSource {
  listTransactions(request: TransactionListRequest): Promise<TransactionPage>;
}

export interface IncomingWebhook {
  rawBody: Buffer;
  headers: Record<string, string | string[] | undefined>;
  /** Path and query as received, needed by schemes that sign the request line. */
  url: string;
  now?: Date;
}

/** A webhook event that passed verification, normalized for the inbox. */
export interface VerifiedWebhookEvent {
  provider: WebhookSource;
  eventId: string;
  eventType: string;
  /** Skerry's payment id when the event carries it (metadata, custom_id, payee reference). */
  paymentId?: string;
  providerReference?: string;
  /**
   * `observation`: the event is authenticated and applied as is.
   * `hint`: the event is unauthenticated (Swish callbacks): the workflow asks the provider instead.
   * `none`: stored and acknowledged, nothing to deliver (unknown or irrelevant event types).
   * `reservation`: a booking channel's reservation message, delivered to its reservation workflow.
   */
  delivery: 'observation' | 'hint' | 'none' | 'reservation';
  observation?: PaymentObservation;
  reservation?: ChannelReservationEvent;
  /** What signal-with-start needs to adopt a payment whose workflow does not exist yet. */
  adopt?: { amount: Money; reference: string; captureMethod: CaptureMethod };
  payload: unknown;
}

export interface WebhookVerifier {
  readonly provider: WebhookSource;
  /** Throws WebhookVerificationError for anything not provably from the provider. */
  verify(webhook: IncomingWebhook): Promise<VerifiedWebhookEvent[]>;
}

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    message: string,
    readonly reason: 'missing_signature' | 'bad_signature' | 'stale' | 'malformed' | 'unverifiable',
  ) {
    super(message);
  }
}
