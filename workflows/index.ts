// The workflowsPath entry: every workflow type the worker registers.
export { paymentWorkflow } from './payments/payment';
export { listingSyncWorkflow } from './bookings/listing-sync';
export { reservationWorkflow } from './bookings/reservation';
export { reservationPollWorkflow } from './bookings/reservation-poll';
export { channelResyncWorkflow } from './bookings/resync';
export { icalImportWorkflow } from './bookings/ical-import';
export { reconciliationWorkflow } from './reconciliation/reconcile';
export { scheduledReconciliationWorkflow } from './reconciliation/scheduled';
export { retentionPruneWorkflow } from './retention/prune';
