import { createPaymentActivities, type PaymentActivityDeps } from './payments';
import { createBookingActivities, type BookingActivityDeps } from './bookings';

export interface ActivityDeps extends PaymentActivityDeps {
  /** Inventory, channels and sync (the channel manager); optional for a payments-only worker. */
  bookings?: BookingActivityDeps;
}

export function createActivities(deps: ActivityDeps) {
  return { ...createPaymentActivities(deps), ...createBookingActivities(deps.bookings) };
}

export type Activities = ReturnType<typeof createActivities>;
