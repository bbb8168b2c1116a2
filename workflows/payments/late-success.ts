// Money a provider captured after Skerry had closed the payment. Pure: the payment workflow asks
// what to do, the tests ask the same function.
import { LATE_SUCCESS_CLOSED_STATUSES, type LateSuccessPolicy, type PaymentState, type PaymentStatus } from '../../domain/payments';
import { refundableAmount } from './state';

export type LateSuccessAction =
  | { kind: 'none'; why: string }
  | { kind: 'reopen' }
  | { kind: 'refund'; amount: number };

/**
 * `closedAs` is the status the earlier run closed with, `state` the payment after the provider's
 * late observations were folded in. Captured money on a payment closed without any is a late
 * success; what the policy does with it is decided here, once.
 */
export function lateSuccessAction(closedAs: PaymentStatus, state: PaymentState, policy: LateSuccessPolicy): LateSuccessAction {
  if (!LATE_SUCCESS_CLOSED_STATUSES.includes(closedAs)) return { kind: 'none', why: `the payment closed as ${closedAs}, which holds money already` };
  if (state.amountCaptured <= 0) return { kind: 'none', why: `the provider captured nothing; the payment stays ${state.status}` };
  if (policy === 'reopen') return { kind: 'reopen' };
  const amount = refundableAmount(state);
  if (amount <= 0) return { kind: 'none', why: 'the captured money is refunded already' };
  return { kind: 'refund', amount };
}

/**
 * Whether an event for a closed payment may be a late success worth a new run: the payment closed
 * without money, and the event is a hint to ask the provider (an unsigned callback) or says money
 * moved or the payer completed it. Anything else is settled as closed, as before.
 */
export function mayBeLateSuccess(closed: Pick<PaymentState, 'status' | 'amountCaptured'>, event: { status?: PaymentStatus; amountCaptured?: number } | 'hint'): boolean {
  if (!LATE_SUCCESS_CLOSED_STATUSES.includes(closed.status) || closed.amountCaptured > 0) return false;
  if (event === 'hint') return true;
  return (event.amountCaptured ?? 0) > 0 || event.status === 'succeeded' || event.status === 'requires_capture';
}
