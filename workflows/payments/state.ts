// The payment state machine: a pure fold of provider observations. Webhooks arrive at least once
// and in any order, so the fold is built to be order-independent: lifecycle status only moves up a
// fixed ranking, amounts only grow, and refunds merge per refund id. Same events, same final state.
import { PROVIDER_CAPABILITIES } from '../../domain/payments';
import type { PaymentEventRecord, PaymentObservation, PaymentState, PaymentStatus, RefundObservation, RefundStatus, StartPaymentInput } from '../../domain/payments';

type LifecycleStatus = NonNullable<PaymentObservation['status']>;

/**
 * Higher rank wins. Terminal outcomes outrank the in-flight states; `succeeded` outranks the
 * failures because money that moved is the stronger fact (a retried card after a decline).
 */
const LIFECYCLE_RANK: Record<LifecycleStatus, number> = {
  created: 0,
  requires_action: 1,
  processing: 2,
  requires_capture: 3,
  failed: 4,
  canceled: 5,
  // Skerry expires a payment by cancelling it at the provider, whose `canceled` event may arrive
  // first; expired outranks canceled so both orders end the same.
  expired: 6,
  succeeded: 7,
};

const REFUND_STATUS_RANK: Record<RefundStatus, number> = { pending: 0, failed: 1, succeeded: 2 };

/** How many event ids a state keeps for deduplication; older duplicates also fold harmlessly. */
const MAX_SEEN_EVENT_IDS = 500;
const MAX_EVENT_RECORDS = 200;

export function initialPaymentState(input: StartPaymentInput, now: string): PaymentState {
  return {
    paymentId: input.paymentId,
    provider: input.provider,
    reference: input.reference,
    description: input.description,
    captureMethod: input.captureMethod,
    amount: input.amount,
    status: 'created',
    providerReference: input.adoptProviderReference,
    amountAuthorized: 0,
    amountCaptured: 0,
    amountRefunded: 0,
    refunds: {},
    commandCounts: { capture: 0, refund: 0 },
    requestHash: input.requestHash,
    events: [],
    seenEventIds: [],
    revision: 0,
    createdAt: now,
    updatedAt: now,
  };
}

export function lifecycleOf(status: PaymentStatus): LifecycleStatus {
  return status === 'partially_refunded' || status === 'refunded' ? 'succeeded' : status;
}

function refundDerivedStatus(lifecycle: LifecycleStatus, captured: number, refunded: number): PaymentStatus {
  if (lifecycle !== 'succeeded' || refunded <= 0) return lifecycle;
  return refunded >= captured && captured > 0 ? 'refunded' : 'partially_refunded';
}

function mergeRefund(existing: RefundObservation | undefined, incoming: RefundObservation): RefundObservation {
  if (!existing) return incoming;
  const status = REFUND_STATUS_RANK[incoming.status] > REFUND_STATUS_RANK[existing.status] ? incoming.status : existing.status;
  return { refundId: existing.refundId, amount: Math.max(existing.amount, incoming.amount), status };
}

export interface ApplyResult {
  state: PaymentState;
  /** False for a duplicate event id; the state is then returned unchanged. */
  applied: boolean;
  changed: boolean;
}

export function applyObservation(state: PaymentState, observation: PaymentObservation): ApplyResult {
  if (state.seenEventIds.includes(observation.eventId)) return { state, applied: false, changed: false };

  const before = state.status;
  const currentLifecycle = lifecycleOf(state.status);
  let lifecycle = currentLifecycle;
  if (observation.status && LIFECYCLE_RANK[observation.status] > LIFECYCLE_RANK[currentLifecycle]) {
    lifecycle = observation.status;
  }

  const incomingRefunds = [...(observation.refunds ?? []), ...(observation.refund ? [observation.refund] : [])];
  let refunds = state.refunds;
  for (const refund of incomingRefunds) {
    const merged = mergeRefund(refunds[refund.refundId], refund);
    const current = refunds[refund.refundId];
    if (!current || current.status !== merged.status || current.amount !== merged.amount) refunds = { ...refunds, [refund.refundId]: merged };
  }
  const refundedFromRefunds = Object.values(refunds)
    .filter((refund) => refund.status === 'succeeded')
    .reduce((sum, refund) => sum + refund.amount, 0);

  const amountCaptured = Math.max(state.amountCaptured, observation.amountCaptured ?? 0);
  const amountRefunded = Math.max(state.amountRefunded, observation.amountRefunded ?? 0, refundedFromRefunds);
  // Captured or refunded money proves the payment succeeded even when its success event is still on
  // the way, or when Skerry had already given up on it: money that moved is never recorded as failed.
  if ((amountCaptured > 0 || amountRefunded > 0) && LIFECYCLE_RANK[lifecycle] < LIFECYCLE_RANK.succeeded) lifecycle = 'succeeded';
  const status = refundDerivedStatus(lifecycle, amountCaptured > 0 ? amountCaptured : state.amount.value, amountRefunded);
  // A processing attempt that failed (Stripe hands the payment back to the payer) stays processing
  // here, since the fold never moves back; its reason is kept, and the workflow's expiry asks the provider.
  const declinedWhileProcessing =
    lifecycle === 'processing' && observation.status !== undefined && isAwaitingPayer(observation.status) && observation.failureReason !== undefined;

  const next: PaymentState = {
    ...state,
    status,
    providerReference: state.providerReference ?? observation.providerReference,
    // The next action belongs to the in-flight phase; once the payer is done it no longer applies.
    nextAction: LIFECYCLE_RANK[lifecycle] <= LIFECYCLE_RANK.processing ? observation.nextAction ?? state.nextAction : undefined,
    amountAuthorized: Math.max(state.amountAuthorized, observation.amountAuthorized ?? 0),
    amountCaptured,
    amountRefunded,
    refunds,
    // While the payer may still try again, the reason is the last attempt's (a declined card); it
    // goes once the payment moves on.
    failureReason: lifecycle === 'failed' || isAwaitingPayer(lifecycle) || declinedWhileProcessing ? observation.failureReason ?? state.failureReason : undefined,
    seenEventIds: [...state.seenEventIds, observation.eventId].slice(-MAX_SEEN_EVENT_IDS),
    revision: state.revision + 1,
    updatedAt: observation.occurredAt > state.updatedAt ? observation.occurredAt : state.updatedAt,
  };
  const record: PaymentEventRecord = {
    eventId: observation.eventId,
    source: observation.source,
    providerEventType: observation.providerEventType,
    statusBefore: before,
    statusAfter: status,
    applied: status !== before,
    occurredAt: observation.occurredAt,
  };
  next.events = [...state.events, record].slice(-MAX_EVENT_RECORDS);
  const changed =
    status !== before ||
    next.amountCaptured !== state.amountCaptured ||
    next.amountRefunded !== state.amountRefunded ||
    next.amountAuthorized !== state.amountAuthorized ||
    next.providerReference !== state.providerReference ||
    refunds !== state.refunds;
  return { state: next, applied: true, changed };
}

/** An outcome Skerry decides itself (expiry, a provider that refused to create the payment). */
export function localOutcome(outcome: 'expired' | 'failed', eventId: string, occurredAt: string, reason?: string): PaymentObservation {
  return { eventId, source: 'command', providerEventType: `skerry.${outcome}`, status: outcome, failureReason: reason, occurredAt };
}

/** Still waiting for the payer: these can expire. */
export const isAwaitingPayer = (status: PaymentStatus): boolean => status === 'created' || status === 'requires_action';

export const refundableAmount = (state: PaymentState): number => {
  const pending = Object.values(state.refunds)
    .filter((refund) => refund.status === 'pending')
    .reduce((sum, refund) => sum + refund.amount, 0);
  return Math.max(0, state.amountCaptured - state.amountRefunded - pending);
};

/** Why a command cannot run now, or undefined when it can. Used by the update validators. */
export const commandBlocker = {
  capture(state: PaymentState, amount: number | undefined): string | undefined {
    if (state.status !== 'requires_capture') return `payment is ${state.status}; only a payment in requires_capture can be captured`;
    const authorized = state.amountAuthorized || state.amount.value;
    if (amount !== undefined && (amount <= 0 || amount > authorized)) return `capture amount must be between 1 and ${authorized}`;
    if (amount !== undefined && amount < authorized && !PROVIDER_CAPABILITIES[state.provider].partialCapture) {
      return `${state.provider} does not support partial capture`;
    }
    return undefined;
  },
  cancel(state: PaymentState): string | undefined {
    if (!PROVIDER_CAPABILITIES[state.provider].cancel) return `${state.provider} does not support cancelling a payment`;
    if (!['created', 'requires_action', 'requires_capture'].includes(state.status)) {
      return `payment is ${state.status}; only created, requires_action or requires_capture payments can be canceled`;
    }
    return undefined;
  },
  refund(state: PaymentState, amount: number | undefined): string | undefined {
    if (state.status !== 'succeeded' && state.status !== 'partially_refunded') {
      return `payment is ${state.status}; only succeeded payments can be refunded`;
    }
    const available = refundableAmount(state);
    if (available <= 0) return 'nothing left to refund';
    if (amount !== undefined && (amount <= 0 || amount > available)) return `refund amount must be between 1 and ${available} (captured minus refunded)`;
    if (amount !== undefined && amount < available && !PROVIDER_CAPABILITIES[state.provider].partialRefund) {
      return `${state.provider} does not support partial refunds`;
    }
    return undefined;
  },
};
