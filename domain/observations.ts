// What a provider says about a payment, normalized, and how it becomes an observation the payment
// state machine folds. Pure: webhooks, polls, the reconciler and the workflow all use this one mapping.
import type { PaymentObservation, NextAction, RefundObservation } from './payments';

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

/** One snapshot read at the provider (a poll, a command's answer, the reconciler) as an observation. */
export function observationFromSnapshot(
  snapshot: ProviderPaymentSnapshot,
  eventId: string,
  source: PaymentObservation['source'],
  providerEventType: string,
  occurredAt: string,
): PaymentObservation {
  return {
    eventId,
    source,
    providerEventType,
    providerReference: snapshot.providerReference,
    status: snapshot.status,
    amountAuthorized: snapshot.amountAuthorized,
    amountCaptured: snapshot.amountCaptured,
    amountRefunded: snapshot.amountRefunded,
    nextAction: snapshot.nextAction,
    failureReason: snapshot.failureReason,
    refunds: snapshot.refunds,
    occurredAt,
  };
}
