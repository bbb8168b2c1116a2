import { createPaymentActivities, type PaymentActivityDeps } from './payments';

export type ActivityDeps = PaymentActivityDeps;

export function createActivities(deps: ActivityDeps) {
  return { ...createPaymentActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
