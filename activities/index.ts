import { createPaymentActivities, type PaymentActivityDeps } from './payments';
import { createBookingActivities, type BookingActivityDeps } from './bookings';
import { createReconciliationActivities, type ReconciliationActivityDeps } from './reconciliation';
import { createRetentionActivities, type RetentionActivityDeps } from './retention';

export interface ActivityDeps extends PaymentActivityDeps {
  /** Inventory, channels and sync (the channel manager); optional for a payments-only worker. */
  bookings?: BookingActivityDeps;
  /** Transaction reconciliation (its store; providers, logger and observer are the payments' own). */
  reconciliation?: Omit<ReconciliationActivityDeps, 'providers' | 'logger' | 'observer'>;
  /** The retention prune's stores (webhook inbox, channel messages). */
  retention?: RetentionActivityDeps;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPaymentActivities(deps),
    ...createBookingActivities(deps.bookings),
    ...createReconciliationActivities(
      deps.reconciliation && { providers: deps.providers, logger: deps.logger, observer: deps.observer, ...deps.reconciliation },
    ),
    ...createRetentionActivities(deps.retention),
  };
}

export type Activities = ReturnType<typeof createActivities>;
