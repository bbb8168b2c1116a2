// One payment, from creation at the provider to its last refund, for every provider alike.
// Provider differences live behind the activities; this code only sees normalized observations.
import {
  ApplicationFailure,
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../../activities/payments';
import { observationFromSnapshot, type ProviderPaymentSnapshot } from '../../domain/observations';
import { callOptions, LEDGER_LOCAL_ACTIVITY_OPTIONS, providerTaskQueue, type PaymentCallKind } from '../shared/retry-policies';
import { CommandLock } from '../shared/command-lock';
import { awaitProviderPaymentUpdate, cancelUpdate, captureUpdate, paymentHintSignal, paymentObservedSignal, paymentStateQuery, paymentStatusChangedSignal, refundUpdate } from './messages';
import {
  DEFAULT_PAYMENT_TIMING,
  providerIdempotencyKey,
  type LateSuccessStart,
  type PaymentEventRecord,
  type PaymentObservation,
  type PaymentState,
  type PaymentStatus,
  type StartPaymentInput,
} from '../../domain/payments';
import { paymentStatusSearchAttribute } from '../../domain/search-attributes';
import { applyObservation, commandBlocker, initialPaymentState, isAwaitingPayer, localOutcome } from './state';
import { isFinal } from '../../domain/payments';
import { lateSuccessAction } from './late-success';

// Provider calls run on the provider's own task queue (its server-side rate limit); ledger writes
// stay local activities.
const activitiesFor = (provider: string, kind: PaymentCallKind, extra: ActivityOptions = {}) =>
  proxyActivities<PaymentActivities>({ ...callOptions(provider, kind), taskQueue: providerTaskQueue(workflowInfo().taskQueue, provider), ...extra });

const iso = (ms: number) => new Date(ms).toISOString();

function rejectCommand(reason: string | undefined): void {
  if (reason) throw ApplicationFailure.create({ type: 'PaymentCommandRejected', message: reason, nonRetryable: true });
}

function describeFailure(err: unknown): { type: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'ApplicationFailure', message: cause.message };
  return { type: 'Error', message: err instanceof Error ? err.message : String(err) };
}

/**
 * `carried` continues a payment (continue-as-new, or a new run of a closed one); `late` starts that
 * new run when the provider reported something for a payment an earlier run had closed.
 */
export async function paymentWorkflow(input: StartPaymentInput, carried?: PaymentState, late?: LateSuccessStart): Promise<PaymentState> {
  const timing = { ...DEFAULT_PAYMENT_TIMING, ...input.timing };
  const provider = input.provider;
  // Every call carries a summary for the Web UI's event history (metadata: replay ignores it).
  const ledgerCall = (summary: string) => proxyLocalActivities<PaymentActivities>({ ...LEDGER_LOCAL_ACTIVITY_OPTIONS, summary });
  const read = (summary: string) => activitiesFor(provider, 'read', { summary: `${provider}: ${summary}` });
  const command = (summary: string) => activitiesFor(provider, 'command', { summary: `${provider}: ${summary}` });

  let state = carried ?? initialPaymentState(input, iso(Date.now()));
  const createdAtMs = Date.parse(state.createdAt);
  let unrecorded: PaymentEventRecord[] = [];
  let ledgerDirty = !carried;
  let providerPaymentKnown = Boolean(carried?.providerReference || carried?.creationError);
  let hintsPending = 0;
  let lastObservationAtMs = Date.now();
  let publishedStatus = carried?.status;
  const lock = new CommandLock();

  const observe = (observation: PaymentObservation) => {
    const result = applyObservation(state, observation);
    if (!result.applied) return;
    state = result.state;
    const record = state.events[state.events.length - 1];
    if (record) unrecorded.push(record);
    ledgerDirty = true;
    lastObservationAtMs = Date.now();
  };

  const observeSnapshot = (snapshot: ProviderPaymentSnapshot, eventId: string, source: PaymentObservation['source'], type: string) =>
    observe(observationFromSnapshot(snapshot, eventId, source, type, iso(Date.now())));

  const flush = async () => {
    if (!ledgerDirty) return;
    const events = unrecorded;
    unrecorded = [];
    ledgerDirty = false;
    await ledgerCall(`ledger: record ${state.status}`).recordPaymentState({ state, events });
    if (publishedStatus !== state.status) {
      publishedStatus = state.status;
      upsertSearchAttributes([{ key: paymentStatusSearchAttribute, value: state.status }]);
      setCurrentDetails(
        `**${state.status}** · ${state.amount.value} ${state.amount.currency} via ${provider}` +
          ` · captured ${state.amountCaptured}, refunded ${state.amountRefunded}` +
          (state.providerReference ? ` · ${state.providerReference}` : ''),
      );
      await notifyParent();
    }
  };

  // Only a child payment (a booking's) has a parent to tell; a closed parent is no error.
  const notifyParent = async () => {
    const parent = workflowInfo().parent;
    if (!parent) return;
    try {
      // By workflow id alone: the parent may have continued as new since it started this payment.
      await getExternalWorkflowHandle(parent.workflowId).signal(paymentStatusChangedSignal, {
        paymentId: state.paymentId,
        status: state.status,
        providerReference: state.providerReference,
        failureReason: state.failureReason,
      });
    } catch {
      // The parent has closed; the ledger still records the payment.
    }
  };

  // A poll is a second opinion next to the webhooks: when it fails for good (retries spent, a
  // refused token) the payment keeps its state and is asked again at the next wake-up, instead of
  // the whole workflow failing.
  const pollProvider = async (reason: string): Promise<ProviderPaymentSnapshot | undefined> => {
    if (!state.providerReference) return undefined;
    try {
      const snapshot = await read(`read payment (${reason})`).getProviderPayment({ provider, providerReference: state.providerReference });
      observeSnapshot(snapshot, `poll:${reason}:${Date.now()}`, 'poll', `poll.${snapshot.providerStatus}`);
      return snapshot;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      lastObservationAtMs = Date.now();
      setCurrentDetails(`**${state.status}** · last poll of ${provider} failed: ${describeFailure(err).message}`);
      return undefined;
    }
  };

  setHandler(paymentObservedSignal, (observation) => observe(observation));
  setHandler(paymentHintSignal, () => {
    hintsPending += 1;
  });
  setHandler(paymentStateQuery, () => state);
  setHandler(awaitProviderPaymentUpdate, async () => {
    await condition(() => providerPaymentKnown);
    return state;
  });

  /** Captures at the provider; the caller holds the lock and has checked the state. */
  const capture = async (amount: number | undefined, providerEventType: string) => {
    const n = state.commandCounts.capture + 1;
    const captureAmount = amount ?? (state.amountAuthorized || state.amount.value);
    const snapshot = await command(`capture ${captureAmount} ${state.amount.currency}`).captureProviderPayment({
      provider,
      providerReference: state.providerReference!,
      amount: captureAmount,
      idempotencyKey: providerIdempotencyKey.capture(state.paymentId, n),
    });
    state = { ...state, commandCounts: { ...state.commandCounts, capture: n } };
    observeSnapshot(snapshot, `command:capture:${n}`, 'command', providerEventType);
    await flush();
  };

  setHandler(
    captureUpdate,
    async ({ amount }) =>
      lock.run(async () => {
        rejectCommand(commandBlocker.capture(state, amount));
        await capture(amount, 'skerry.capture');
        return state;
      }),
    { validator: ({ amount }) => rejectCommand(commandBlocker.capture(state, amount)) },
  );

  setHandler(
    cancelUpdate,
    async () =>
      lock.run(async () => {
        rejectCommand(commandBlocker.cancel(state));
        const snapshot = await command('cancel (requested)').cancelProviderPayment({
          provider,
          providerReference: state.providerReference!,
          idempotencyKey: providerIdempotencyKey.cancel(state.paymentId),
          reason: 'requested',
        });
        observeSnapshot(snapshot, 'command:cancel', 'command', 'skerry.cancel');
        await flush();
        return state;
      }),
    { validator: () => rejectCommand(commandBlocker.cancel(state)) },
  );

  /**
   * Refunds at the provider; the caller holds the lock and has checked the state. The key is the
   * n-th refund's, or one fixed by the caller (the late-success refund: once per payment).
   */
  const refund = async (amount: number | undefined, reason: string | undefined, fixedKey?: string) => {
    const n = state.commandCounts.refund + 1;
    const refundAmount = amount ?? state.amountCaptured - state.amountRefunded;
    let observed;
    try {
      observed = await command(`refund ${refundAmount} ${state.amount.currency}`).refundProviderPayment({
        provider,
        providerReference: state.providerReference!,
        amount: refundAmount,
        currency: state.amount.currency,
        idempotencyKey: fixedKey ?? providerIdempotencyKey.refund(state.paymentId, n),
        reason,
      });
    } catch (err) {
      // A refund that may have reached the provider keeps its key, so the next try replays it.
      const failure = describeFailure(err);
      if (failure.type.startsWith('ProviderError.') && !failure.type.endsWith('unavailable')) {
        state = { ...state, commandCounts: { ...state.commandCounts, refund: n } };
      }
      throw err;
    }
    state = { ...state, commandCounts: { ...state.commandCounts, refund: n } };
    observe({
      eventId: `command:refund:${n}`,
      source: 'command',
      providerEventType: 'skerry.refund',
      refund: observed,
      occurredAt: iso(Date.now()),
    });
    await flush();
  };

  setHandler(
    refundUpdate,
    async ({ amount, reason }) =>
      lock.run(async () => {
        rejectCommand(commandBlocker.refund(state, amount));
        await refund(amount, reason);
        return state;
      }),
    { validator: ({ amount }) => rejectCommand(commandBlocker.refund(state, amount)) },
  );

  /**
   * A new run of a payment an earlier run closed as `closedAs`: the provider is asked (the event
   * that started the run may be only a hint), and money it captured is settled by the policy —
   * kept (`reopen`: the fold has made the payment succeeded) or refunded once.
   */
  const settleLateSuccess = async (closedAs: PaymentStatus, policy: LateSuccessStart['policy']) =>
    lock.run(async () => {
      await pollProvider('late-event');
      const action = lateSuccessAction(closedAs, state, policy);
      if (action.kind === 'none') {
        // The provider, asked just now, holds no money for it: whatever the event claimed (a
        // success without an amount), the payment stays as it closed.
        if (state.amountCaptured === 0 && state.status !== closedAs) {
          state = { ...state, status: closedAs, nextAction: undefined };
          ledgerDirty = true;
        }
        await flush();
        return;
      }
      if (!state.lateSuccess) {
        state = { ...state, lateSuccess: { policy, closedAs, amountCaptured: state.amountCaptured, observedAt: iso(Date.now()) } };
        ledgerDirty = true;
        await flush();
        await ledgerCall('late success: alert').recordLateSuccess({ paymentId: state.paymentId, provider, policy, closedAs, amountCaptured: state.amountCaptured });
      }
      if (action.kind !== 'refund') return;
      try {
        await refund(action.amount, `money captured after the payment closed as ${closedAs}`, providerIdempotencyKey.lateSuccessRefund(state.paymentId));
      } catch (err) {
        // The money stays recorded as captured and the payment open for refunds: the alert has
        // fired, and a person refunds it (the same key, so a refund that did go through is not repeated).
        if (!(err instanceof ActivityFailure)) throw err;
        state = { ...state, failureReason: `late-success refund failed: ${describeFailure(err).message}` };
        ledgerDirty = true;
      }
    });

  if (!carried) {
    await flush();
    try {
      if (input.adoptProviderReference) {
        const snapshot = await read('adopt the provider payment').getProviderPayment({ provider, providerReference: input.adoptProviderReference });
        observeSnapshot(snapshot, 'command:adopt', 'command', 'skerry.adopt');
      } else {
        const create = activitiesFor(provider, 'create', {
          scheduleToCloseTimeout: timing.expiresAfterMs,
          summary: `${provider}: create payment ${state.amount.value} ${state.amount.currency}`,
        });
        const snapshot = await create.createProviderPayment({
          provider,
          request: {
            paymentId: state.paymentId,
            amount: state.amount,
            reference: state.reference,
            description: state.description,
            captureMethod: state.captureMethod,
            payer: input.payer,
            idempotencyKey: providerIdempotencyKey.create(state.paymentId),
          },
        });
        observeSnapshot(snapshot, 'command:create', 'command', 'skerry.create');
      }
    } catch (err) {
      const failure = describeFailure(err);
      state = { ...state, creationError: failure };
      observe(localOutcome('failed', 'command:create-failed', iso(Date.now()), failure.message));
    }
    providerPaymentKnown = true;
  }

  if (carried && late && patched('late-success')) await settleLateSuccess(carried.status, late.policy);

  const expiresAtMs = createdAtMs + timing.expiresAfterMs;
  const refundWindowEndsMs = createdAtMs + timing.refundWindowMs;

  // Some providers (MobilePay, PayPal with AUTHORIZE) always authorize first: an automatic payment
  // is captured by Skerry as soon as it is authorized. A failed capture leaves the hold to expire.
  let autoCaptureFailed = false;

  while (!isFinal(state.status)) {
    await flush();
    if (state.status === 'requires_capture' && state.captureMethod === 'automatic' && !autoCaptureFailed) {
      await lock.run(async () => {
        if (state.status !== 'requires_capture') return;
        try {
          await capture(undefined, 'skerry.auto_capture');
        } catch (err) {
          autoCaptureFailed = true;
          state = { ...state, failureReason: describeFailure(err).message };
        }
      });
      continue;
    }
    const now = Date.now();
    const status = state.status;
    const hasPendingRefund = Object.values(state.refunds).some((refund) => refund.status === 'pending');
    if ((status === 'succeeded' || status === 'partially_refunded') && !hasPendingRefund && now >= refundWindowEndsMs) break;
    if (workflowInfo().continueAsNewSuggested && allHandlersFinished()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof paymentWorkflow>(input, state);
    }

    // The next moment something must happen without any event: expiry, hold release, or a poll
    // because the expected webhook has not come.
    let wakeAtMs: number;
    if (isAwaitingPayer(status) || status === 'processing' || hasPendingRefund) {
      wakeAtMs = lastObservationAtMs + timing.confirmWindowMs;
      if (isAwaitingPayer(status) || (status === 'processing' && patched('processing-expiry'))) wakeAtMs = Math.min(wakeAtMs, expiresAtMs);
    } else if (status === 'requires_capture') {
      wakeAtMs = createdAtMs + timing.authorizationHoldMs;
    } else {
      wakeAtMs = refundWindowEndsMs;
    }

    // Watch the revision, not the dirty flag: an update handler may flush a change before we look.
    const revisionSeen = state.revision;
    const woken = await condition(() => state.revision !== revisionSeen || ledgerDirty || hintsPending > 0, Math.max(1, wakeAtMs - now));
    if (woken && hintsPending === 0) continue;

    await lock.run(async () => {
      if (hintsPending > 0) {
        hintsPending = 0;
        await pollProvider('hint');
        return;
      }
      const current = state.status;
      const at = Date.now();
      // A processing payment whose attempt failed (Stripe returns it to requires_payment_method) is
      // the payer's again: it expires like one, once the provider says so (the fold never moves back).
      const processingExpiry = current === 'processing' && at >= expiresAtMs && patched('processing-expiry');
      const shouldExpire =
        (isAwaitingPayer(current) && at >= expiresAtMs) ||
        (current === 'requires_capture' && at >= createdAtMs + timing.authorizationHoldMs) ||
        processingExpiry;
      if (!shouldExpire) {
        await pollProvider('confirm-window');
        return;
      }
      // Ask first: the payer may have finished just now, and then there is nothing to expire.
      const before = await pollProvider('before-expiry');
      const backWithPayer = processingExpiry && state.status === 'processing' && before !== undefined && isAwaitingPayer(before.status);
      if (!(isAwaitingPayer(state.status) || state.status === 'requires_capture' || backWithPayer)) return;
      const snapshot = await command('cancel (expired)').cancelProviderPayment({
        provider,
        providerReference: state.providerReference!,
        idempotencyKey: providerIdempotencyKey.cancel(state.paymentId),
        reason: 'expired',
      });
      observeSnapshot(snapshot, 'command:expire', 'command', 'skerry.expire');
      if (snapshot.status === 'canceled' || snapshot.status === 'expired') {
        observe(localOutcome('expired', 'command:expired', iso(Date.now())));
      }
    });
  }

  await condition(allHandlersFinished);
  await flush();
  return state;
}
