// The one interface every payment provider implements. The payment workflow, the webhook pipeline
// and the activities only ever see these shapes, so a provider is an adapter, not a copy.
import type { Money } from '../domain/money';
import type { CaptureMethod, ProviderName, ProviderCapabilities, RefundObservation } from '../domain/payments';
import type { ProviderPaymentSnapshot } from '../domain/observations';
import type { TransactionListRequest, TransactionPage } from '../domain/provider-transactions';
import type { WebhookSource, VerifiedWebhookEvent } from '../domain/webhooks';

export interface CreateProviderPaymentRequest {
  paymentId: string;
  amount: Money;
  reference: string;
  description?: string;
  captureMethod: CaptureMethod;
  payer?: { alias?: string };
  idempotencyKey: string;
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

/** The configured providers, by name; the activities and the breaker's health checks look clients up here. */
export interface ProviderRegistry {
  get(provider: ProviderName): PaymentProviderClient;
}
