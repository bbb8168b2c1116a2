// The payment workflow's messages: signals, queries, updates and its workflow id, imported by the
// workflow and by whatever talks to it (client/, the webhook delivery, the reconciler).
import { defineSignal, defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PaymentObservation, PaymentState, PaymentStatusChange, CaptureRequest, RefundRequest } from '../../domain/payments';

/** A provider observation, from the webhook inbox or the reconciler. */
export const paymentObservedSignal = defineSignal<[PaymentObservation]>('paymentObserved');
/** An unsigned callback (Swish): only a hint to ask the provider, never applied as such. */
export const paymentHintSignal = defineSignal<[{ eventId: string; providerEventType: string }]>('paymentHint');

export const paymentStateQuery = defineQuery<PaymentState>('paymentState');
/**
 * Sent by a payment running as a child workflow (a booking's payment) to its parent on every status
 * change, so the parent's saga can confirm or compensate. Top-level payments send nothing.
 */
export const paymentStatusChangedSignal = defineSignal<[PaymentStatusChange]>('paymentStatusChanged');

/** Resolves once the provider payment exists (or its creation failed); the API waits on it. */
export const awaitProviderPaymentUpdate = defineUpdate<PaymentState>('awaitProviderPayment');
export const captureUpdate = defineUpdate<PaymentState, [CaptureRequest]>('capture');
export const cancelUpdate = defineUpdate<PaymentState, []>('cancel');
export const refundUpdate = defineUpdate<PaymentState, [RefundRequest]>('refund');
