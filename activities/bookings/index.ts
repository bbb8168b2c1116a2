// The booking activities, one file per concern, built from injected dependencies like payments'.
import { ApplicationFailure } from '@temporalio/common';
import type { BookingActivityDeps } from './deps';
import { createIcalImportActivities } from './ical-import';
import { createPollActivities } from './poll';
import { createReservationActivities } from './reservations';
import { createResyncActivities } from './resync';
import { createSyncActivities } from './sync';

export type { BookingActivityDeps } from './deps';

/**
 * Without dependencies (a payments-only worker) the booking activities exist but fail, not retried,
 * saying so: a workflow never hangs on an activity type the worker lacks.
 */
export function createBookingActivities(deps: BookingActivityDeps | undefined) {
  const need = (): BookingActivityDeps => {
    if (!deps) throw ApplicationFailure.create({ type: 'ChannelNotConfigured', message: 'this worker has no booking dependencies', nonRetryable: true });
    return deps;
  };
  return {
    ...createSyncActivities(need),
    ...createReservationActivities(need),
    ...createPollActivities(need),
    ...createResyncActivities(need),
    ...createIcalImportActivities(need),
  };
}

export type BookingActivities = ReturnType<typeof createBookingActivities>;
