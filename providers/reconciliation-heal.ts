// Healing one reconciliation discrepancy: read the payment at its provider (the source of truth) and,
// when the provider confirms what the discrepancy says, deliver that to the payment's workflow as an
// observation — signal-with-start, so a payment whose workflow is gone is adopted. The run's healing
// loop (activities/reconciliation) and a person's heal from the API (client/reconciliation) both go
// through here, so an on-demand heal is exactly the heal a run would have made.
import type { CaptureMethod, PaymentObservation, PaymentStatus, ProviderName } from '../domain/payments';
import type { Money } from '../domain/money';
import { observationFromSnapshot } from '../domain/observations';
import type { HealCandidate } from '../store/reconciliation-discrepancies';
import { classifyTransportError, ProviderError } from './errors';
import type { ProviderRegistry } from './types';

/** How a healing observation reaches its payment's workflow (client/payments' delivery, injected). */
export interface HealDelivery {
  deliverObservation(delivery: {
    paymentId: string;
    provider: ProviderName;
    kind: 'observation';
    observation: PaymentObservation;
    adopt: { amount: Money; reference: string; captureMethod: CaptureMethod; providerReference: string; closedAs?: PaymentStatus; revision?: number };
  }): Promise<'delivered' | 'reopened' | 'closed' | 'not_found'>;
}

export interface HealOutcome {
  /** signalled (the workflow was told), not_healable, not_confirmed, failed, workflow_closed, workflow_not_found. */
  result: string;
  note?: string;
}

const HEAL_CALL_TIMEOUT_MS = 20_000;

/**
 * Heals one candidate. A provider that is down throws its retryable ProviderError (the caller retries
 * or says so); anything else ends in an outcome to record.
 */
export async function healDiscrepancy(
  candidate: HealCandidate,
  deps: { providers: ProviderRegistry; payments: HealDelivery; eventId: string; now: () => number; callTimeoutMs?: number },
): Promise<HealOutcome> {
  if (!candidate.providerReference) return { result: 'not_healable', note: 'the ledger payment has no provider reference to read' };
  let snapshot;
  try {
    snapshot = await Promise.race([
      deps.providers.get(candidate.provider).getPayment(candidate.providerReference),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('provider read timed out')), deps.callTimeoutMs ?? HEAL_CALL_TIMEOUT_MS).unref()),
    ]);
  } catch (err) {
    const failure = err instanceof ProviderError ? err : classifyTransportError(candidate.provider, 'getPayment', err);
    if (failure.retryable) throw failure;
    return { result: 'failed', note: `${failure.provider} ${failure.operation}: ${failure.message}` };
  }
  // Captured money confirms a lost success, and money on a payment the ledger closed: the latter
  // reaches the payment as a late success, settled by LATE_SUCCESS_POLICY.
  const confirms =
    candidate.reason === 'lost_payment_webhook' || candidate.reason === 'money_moved_on_closed_payment'
      ? snapshot.status === 'succeeded' || snapshot.amountCaptured > 0
      : snapshot.amountRefunded > 0 || (snapshot.refunds ?? []).some((refund) => refund.status === 'succeeded');
  if (!confirms) return { result: 'not_confirmed', note: `the provider now says ${snapshot.providerStatus}` };
  const observation = observationFromSnapshot(snapshot, deps.eventId, 'poll', `reconciliation.${snapshot.providerStatus}`, new Date(deps.now()).toISOString());
  const delivered = await deps.payments.deliverObservation({
    paymentId: candidate.paymentId,
    provider: candidate.provider,
    kind: 'observation',
    observation,
    adopt: {
      amount: { value: candidate.amount, currency: candidate.currency },
      reference: candidate.reference,
      captureMethod: candidate.captureMethod,
      providerReference: candidate.providerReference,
      // Money on a payment the ledger closed is a late success even when its workflow is gone.
      ...(candidate.reason === 'money_moved_on_closed_payment' ? { closedAs: candidate.ledgerStatus as PaymentStatus, revision: candidate.ledgerRevision } : {}),
    },
  });
  if (delivered === 'delivered' || delivered === 'reopened') return { result: 'signalled' };
  return { result: delivered === 'closed' ? 'workflow_closed' : 'workflow_not_found', note: `the payment's workflow is ${delivered.replace('_', ' ')}` };
}
