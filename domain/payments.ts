// The payment domain: providers, statuses, observations and the state a payment workflow keeps.
// Pure types and values, no I/O: the workflows, the activities, the stores and the edges share them.
import type { Money } from './money';

export const PROVIDERS = ['stripe', 'paypal', 'swish', 'mobilepay'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const PAYMENT_STATUSES = [
  'created',
  'requires_action',
  'processing',
  'requires_capture',
  'succeeded',
  'failed',
  'canceled',
  'expired',
  'partially_refunded',
  'refunded',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export type CaptureMethod = 'automatic' | 'manual';

/**
 * What Skerry does with money a provider captured for a payment Skerry had already closed as
 * expired, canceled or failed (a race at the provider, or an answer lost on the way): `refund` gives
 * it back automatically, `reopen` keeps it and the payment becomes succeeded.
 */
export const LATE_SUCCESS_POLICIES = ['refund', 'reopen'] as const;
export type LateSuccessPolicy = (typeof LATE_SUCCESS_POLICIES)[number];

/** The closed statuses a late success can reopen: none of them holds money. */
export const LATE_SUCCESS_CLOSED_STATUSES: readonly PaymentStatus[] = ['failed', 'canceled', 'expired'];

/** The start argument of a new run for a payment whose earlier run closed before the money arrived. */
export interface LateSuccessStart {
  policy: LateSuccessPolicy;
}

/** Shown in the payment's view: the late success, what it found, and what the policy did with it. */
export interface LateSuccessRecord {
  policy: LateSuccessPolicy;
  closedAs: PaymentStatus;
  amountCaptured: number;
  observedAt: string;
}

export interface ProviderCapabilities {
  manualCapture: boolean;
  partialCapture: boolean;
  partialRefund: boolean;
  cancel: boolean;
}

/** What each provider can do; the API and the command validators answer 409 for the rest. */
export const PROVIDER_CAPABILITIES: Record<ProviderName, ProviderCapabilities> = {
  stripe: { manualCapture: true, partialCapture: true, partialRefund: true, cancel: true },
  paypal: { manualCapture: true, partialCapture: true, partialRefund: true, cancel: true },
  // Swish pays at once: no authorization to hold or capture.
  swish: { manualCapture: false, partialCapture: false, partialRefund: true, cancel: true },
  mobilepay: { manualCapture: true, partialCapture: true, partialRefund: true, cancel: true },
};

/** What the payer (or the merchant's front end) must do next to complete the payment. */
export type NextAction =
  | { type: 'stripe_client_secret'; clientSecret: string }
  | { type: 'redirect'; url: string }
  | { type: 'swish_app'; paymentRequestToken: string; url?: string }
  | { type: 'swish_payer_alias'; payerAlias: string };

export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export interface RefundObservation {
  refundId: string;
  amount: number;
  status: RefundStatus;
}

/**
 * One normalized observation of a payment at its provider. Webhooks, polls and the answers to our
 * own commands all become observations; the state machine folds them in any order.
 */
export interface PaymentObservation {
  /** Dedupe key: the provider's event id, or a deterministic id for polls and commands. */
  eventId: string;
  source: 'webhook' | 'poll' | 'command';
  providerEventType: string;
  providerReference?: string;
  /** Lifecycle status as the provider reports it; refund states are derived from amounts instead. */
  status?: Exclude<PaymentStatus, 'partially_refunded' | 'refunded'>;
  amountAuthorized?: number;
  /** Cumulative amount captured so far. */
  amountCaptured?: number;
  /** Cumulative amount refunded so far, where the provider reports it. */
  amountRefunded?: number;
  refund?: RefundObservation;
  /** Several refunds at once (a poll of a provider that reports each refund). */
  refunds?: RefundObservation[];
  failureReason?: string;
  nextAction?: NextAction;
  occurredAt: string;
}

export interface StartPaymentInput {
  paymentId: string;
  provider: ProviderName;
  amount: Money;
  reference: string;
  captureMethod: CaptureMethod;
  description?: string;
  /** Provider-specific payer data (e.g. a Swish payer alias for the e-commerce flow). */
  payer?: { alias?: string };
  /** SHA-256 of the creating request, so a reused Idempotency-Key with other parameters is refused. */
  requestHash?: string;
  /** Adopt a payment that already exists at the provider instead of creating one (signal-with-start). */
  adoptProviderReference?: string;
  timing?: Partial<PaymentTiming>;
}

/** Durations in milliseconds; fixed at start so the workflow stays deterministic. */
export interface PaymentTiming {
  /** How long to wait for a webhook before asking the provider directly. */
  confirmWindowMs: number;
  /** A payment the payer never completes is cancelled at the provider and marked expired. */
  expiresAfterMs: number;
  /** How long an uncaptured authorization is held before it is released. */
  authorizationHoldMs: number;
  /** How long a succeeded payment stays open for refunds and late events. */
  refundWindowMs: number;
}

export const DEFAULT_PAYMENT_TIMING: PaymentTiming = {
  confirmWindowMs: 60_000,
  expiresAfterMs: 30 * 60_000,
  authorizationHoldMs: 7 * 24 * 3_600_000,
  refundWindowMs: 180 * 24 * 3_600_000,
};

export interface PaymentEventRecord {
  eventId: string;
  source: PaymentObservation['source'];
  providerEventType: string;
  statusBefore: PaymentStatus;
  statusAfter: PaymentStatus;
  applied: boolean;
  occurredAt: string;
}

export interface PaymentState {
  paymentId: string;
  provider: ProviderName;
  reference: string;
  description?: string;
  captureMethod: CaptureMethod;
  amount: Money;
  status: PaymentStatus;
  providerReference?: string;
  nextAction?: NextAction;
  amountAuthorized: number;
  amountCaptured: number;
  amountRefunded: number;
  refunds: Record<string, RefundObservation>;
  failureReason?: string;
  requestHash?: string;
  /** Set when the provider refused to create the payment; the payment is then failed. */
  creationError?: { type: string; message: string };
  /** Money that arrived after Skerry had closed the payment, and the policy that settled it. */
  lateSuccess?: LateSuccessRecord;
  /** Commands issued to the provider so far; numbers the idempotency keys of the next one. */
  commandCounts: { capture: number; refund: number };
  events: PaymentEventRecord[];
  seenEventIds: string[];
  /** Grows with every applied observation; the ledger never overwrites a newer revision. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface CaptureRequest {
  amount?: number;
}
export interface RefundRequest {
  amount?: number;
  reason?: string;
}

export interface PaymentStatusChange {
  paymentId: string;
  status: PaymentStatus;
  providerReference?: string;
  failureReason?: string;
}

/** Idempotency keys sent to providers: stable across activity retries and worker restarts. */
export const providerIdempotencyKey = {
  create: (paymentId: string) => `skerry-${paymentId}-create`,
  capture: (paymentId: string, n: number) => `skerry-${paymentId}-capture-${n}`,
  cancel: (paymentId: string) => `skerry-${paymentId}-cancel`,
  refund: (paymentId: string, n: number) => `skerry-${paymentId}-refund-${n}`,
  /** One per payment: however often a late success is delivered or retried, it is refunded once. */
  lateSuccessRefund: (paymentId: string) => `skerry-${paymentId}-late-success-refund`,
};

export const FINAL_STATUSES: readonly PaymentStatus[] = ['failed', 'canceled', 'expired', 'refunded'];

export const isFinal = (status: PaymentStatus): boolean => FINAL_STATUSES.includes(status);
