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
  provider: ProviderName;
  eventId: string;
  eventType: string;
  /** Skerry's payment id when the event carries it (metadata, custom_id, payee reference). */
  paymentId?: string;
  providerReference?: string;
  /**
   * `observation`: the event is authenticated and applied as is.
   * `hint`: the event is unauthenticated (Swish callbacks): the workflow asks the provider instead.
   * `none`: stored and acknowledged, nothing to deliver (unknown or irrelevant event types).
   */
  delivery: 'observation' | 'hint' | 'none';
  observation?: PaymentObservation;
  /** What signal-with-start needs to adopt a payment whose workflow does not exist yet. */
  adopt?: { amount: Money; reference: string; captureMethod: CaptureMethod };
  payload: unknown;
}

export interface WebhookVerifier {
  readonly provider: ProviderName;
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
