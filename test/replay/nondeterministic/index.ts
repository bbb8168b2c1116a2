// A deliberately incompatible change to the payment workflow: it waits on a timer before doing
// anything. Replaying any recorded history against it must fail — proof the replay test bites.
import { sleep } from '@temporalio/workflow';
import { paymentWorkflow as current } from '../../../workflows/payments/payment';

export async function paymentWorkflow(...args: Parameters<typeof current>): ReturnType<typeof current> {
  await sleep('1 second');
  return current(...args);
}
