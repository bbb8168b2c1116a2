// A payment's first state and the observations that move it, for the tests of the payment fold
// (workflows/payments/state.ts) and of what is built on it.
import { applyObservation, initialPaymentState } from '../../workflows/payments/state';
import type { PaymentObservation, PaymentState, ProviderName } from '../../domain/payments';

export const T0 = '2026-01-01T00:00:00.000Z';

export function startPayment(
  options: { provider?: ProviderName; captureMethod?: 'automatic' | 'manual'; paymentId?: string; amount?: number; reference?: string } = {},
): PaymentState {
  return initialPaymentState(
    {
      paymentId: options.paymentId ?? 'pay_test',
      provider: options.provider ?? 'stripe',
      amount: { value: options.amount ?? 10_000, currency: 'SEK' },
      reference: options.reference ?? 'B-1',
      captureMethod: options.captureMethod ?? 'automatic',
    },
    T0,
  );
}

let seq = 0;
/** A webhook's observation; each gets an event id of its own unless given one. */
export const obs = (partial: Partial<PaymentObservation>): PaymentObservation => ({
  eventId: partial.eventId ?? `evt_${++seq}`,
  source: 'webhook',
  providerEventType: 'test',
  occurredAt: T0,
  ...partial,
});

export const fold = (events: PaymentObservation[], state: PaymentState) => events.reduce((current, event) => applyObservation(current, event).state, state);
