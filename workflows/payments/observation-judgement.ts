// Whether an observation can still change a payment, judged outside its workflow (the webhook
// inbox) against a state the workflow is known to have reached: its ledger row, or that row with
// the observations delivered since folded in. The fold (state.ts) is monotone — status only moves
// up, amounts only grow — so an observation that changes nothing in an earlier state of the
// payment changes nothing in any later one: a stale ledger can make a change look like one (and it
// is delivered), never the other way round. What the ledger does not keep counts as a change.
import { LATE_SUCCESS_CLOSED_STATUSES, type NextAction, type PaymentObservation, type PaymentState } from '../../domain/payments';
import { mayBeLateSuccess } from './late-success';
import { applyObservation, isAwaitingPayer, lifecycleOf } from './state';

/**
 * Next actions fixed for the life of the provider's payment that come with its reference while the
 * payer has still to act: a PaymentIntent keeps one client secret, and the workflow had it from the
 * create call's answer (or the adopting webhook) when it recorded the reference. Any other next
 * action may be new (a second redirect for another attempt), so it is delivered.
 */
const NEXT_ACTIONS_FIXED_WITH_THE_REFERENCE: ReadonlySet<NextAction['type']> = new Set(['stripe_client_secret']);

export interface ObservationJudgement {
  /** False only when folding the observation into `known` provably changes nothing the workflow keeps. */
  changes: boolean;
  /** `known` with the observation folded in: still a state the workflow reaches once it has the observation. */
  state: PaymentState;
}

export function judgeObservation(known: PaymentState, observation: PaymentObservation): ObservationJudgement {
  const result = applyObservation(known, observation);
  if (!result.applied) return { changes: false, state: known };
  const next = result.state;
  const inFlight = isAwaitingPayer(next.status) || lifecycleOf(next.status) === 'processing';
  const changes =
    result.changed ||
    next.failureReason !== known.failureReason ||
    // The reason and the next action are the latest attempt's, not a monotone fold: one the
    // payment keeps may be newer than what is known, so an observation carrying one is delivered.
    (observation.failureReason !== undefined && next.failureReason !== undefined) ||
    (inFlight && observation.nextAction !== undefined && !knownWithReference(known, observation)) ||
    // A closed payment without money runs again for an event that may be money arriving late; that
    // decision belongs to the delivery (client/payments.ts), so such an event is always delivered.
    (LATE_SUCCESS_CLOSED_STATUSES.includes(known.status) && mayBeLateSuccess(known, observation));
  return { changes, state: next };
}

/** The observation's next action is one the payment has had since its reference was known. */
function knownWithReference(known: PaymentState, observation: PaymentObservation): boolean {
  return (
    observation.nextAction !== undefined &&
    NEXT_ACTIONS_FIXED_WITH_THE_REFERENCE.has(observation.nextAction.type) &&
    isAwaitingPayer(known.status) &&
    known.providerReference !== undefined &&
    known.providerReference === observation.providerReference
  );
}
