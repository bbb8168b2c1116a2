// A direct booking's payment: a child payment workflow the reservation starts once the nights are held.
import { ParentClosePolicy, startChild, workflowInfo, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { paymentWorkflow } from '../payments/payment';
import type { DirectBookingRequest } from '../../domain/bookings';
import type { Money } from '../../domain/money';
import type { ProviderName, StartPaymentInput } from '../../domain/payments';
import { paymentWorkflowId } from '../../domain/workflow-ids';
import { paymentIdSearchAttribute, paymentProviderSearchAttribute, paymentReferenceSearchAttribute, paymentStatusSearchAttribute } from '../../domain/search-attributes';

export async function startBookingPayment(options: {
  reservationId: string;
  paymentId: string;
  provider: ProviderName;
  amount: Money;
  request: DirectBookingRequest;
}): Promise<void> {
  const { reservationId, paymentId, request } = options;
  const paymentInput: StartPaymentInput = {
    paymentId,
    provider: options.provider,
    amount: options.amount,
    reference: reservationId,
    captureMethod: 'automatic',
    description: `${request.guest.name}, ${request.checkIn} → ${request.checkOut}`,
    timing: request.paymentTiming,
  };
  await startChild<typeof paymentWorkflow>('paymentWorkflow', {
    workflowId: paymentWorkflowId(paymentId),
    args: [paymentInput],
    taskQueue: workflowInfo().taskQueue,
    // The payment lives on for refunds after this reservation workflow closes.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: paymentIdSearchAttribute, value: paymentId },
      { key: paymentProviderSearchAttribute, value: paymentInput.provider },
      { key: paymentReferenceSearchAttribute, value: paymentInput.reference },
      { key: paymentStatusSearchAttribute, value: 'created' },
    ],
    staticSummary: `${paymentInput.provider} payment ${paymentInput.amount.value} ${paymentInput.amount.currency} for booking ${reservationId}`,
  });
}
