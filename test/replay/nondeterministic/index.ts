// A deliberately incompatible change to every workflow type: each waits on a timer before doing
// anything. Replaying any recorded history against it must fail — proof the replay test bites.
import { sleep } from '@temporalio/workflow';
import * as current from '../../../workflows';

function waitingFirst<Args extends unknown[], Result>(workflow: (...args: Args) => Promise<Result>) {
  return async (...args: Args): Promise<Result> => {
    await sleep('1 second');
    return workflow(...args);
  };
}

export const paymentWorkflow = waitingFirst(current.paymentWorkflow);
export const listingSyncWorkflow = waitingFirst(current.listingSyncWorkflow);
export const reservationWorkflow = waitingFirst(current.reservationWorkflow);
export const reservationPollWorkflow = waitingFirst(current.reservationPollWorkflow);
export const channelResyncWorkflow = waitingFirst(current.channelResyncWorkflow);
export const icalImportWorkflow = waitingFirst(current.icalImportWorkflow);
export const reconciliationWorkflow = waitingFirst(current.reconciliationWorkflow);
export const scheduledReconciliationWorkflow = waitingFirst(current.scheduledReconciliationWorkflow);
export const retentionPruneWorkflow = waitingFirst(current.retentionPruneWorkflow);
