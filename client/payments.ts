// The typed façade backend code uses to run payments without HTTP. The API is built on it too.
import { createHash, randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, type SignalDefinition } from '@temporalio/common';
import { paymentWorkflow } from '../workflows/payments/payment';
import { awaitProviderPaymentUpdate, cancelUpdate, captureUpdate, paymentHintSignal, paymentObservedSignal, paymentStateQuery, refundUpdate } from '../workflows/payments/messages';
import { paymentWorkflowId } from '../domain/workflow-ids';
import {
  DEFAULT_PAYMENT_TIMING,
  LATE_SUCCESS_CLOSED_STATUSES,
  PROVIDER_CAPABILITIES,
  type CaptureMethod,
  type LateSuccessPolicy,
  type PaymentEventRecord,
  type PaymentObservation,
  type PaymentState,
  type PaymentStatus,
  type PaymentTiming,
  type ProviderName,
  type RefundRequest,
  type StartPaymentInput,
} from '../domain/payments';
import { paymentIdSearchAttribute, paymentProviderSearchAttribute, paymentReferenceSearchAttribute, paymentStatusSearchAttribute } from '../domain/search-attributes';
import { WORKFLOW_TASK_QUEUE } from '../domain/task-queues';
import { type Money } from '../domain/money';
import { DEFAULT_TEMPORAL_DEADLINES, withinDeadline, type TemporalDeadlines } from './deadlines';
import { initialPaymentState } from '../workflows/payments/state';
import { mayBeLateSuccess } from '../workflows/payments/late-success';
import { isGrpcServiceError } from '@temporalio/client';
import { judgeObservation } from '../workflows/payments/observation-judgement';
import type { PaymentLedger } from '../store/payment-ledger';
import { createKnownPayments } from './known-payments';

/** gRPC CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE: no answer in time (the server, or a worker it waited for). */
const ANSWERLESS_CODES = [1, 4, 14];

/** The SDK wraps the gRPC error (ServiceError → cause): look through the causes. */
function answerless(err: unknown): boolean {
  for (let current: unknown = err; current; current = (current as { cause?: unknown }).cause) {
    if (isGrpcServiceError(current) && ANSWERLESS_CODES.includes(current.code)) return true;
  }
  return false;
}

export interface CreatePaymentRequest {
  provider: ProviderName;
  amount: Money;
  reference: string;
  captureMethod?: CaptureMethod;
  description?: string;
  payer?: { alias?: string };
}

export class PaymentNotFoundError extends Error {
  override readonly name = 'PaymentNotFoundError';
  constructor(readonly paymentId: string) {
    super(`payment ${paymentId} not found`);
  }
}

/** The payment cannot do what was asked in its current state (HTTP 409). */
export class PaymentConflictError extends Error {
  override readonly name = 'PaymentConflictError';
}

/** The provider refused or failed the command (HTTP 502); `kind` is the ProviderError kind. */
export class PaymentProviderError extends Error {
  override readonly name = 'PaymentProviderError';
  constructor(
    message: string,
    readonly kind: string,
  ) {
    super(message);
  }
}

export interface PaymentsClientOptions {
  temporal: Client;
  taskQueue?: string;
  timing?: Partial<PaymentTiming>;
  /** How long startPayment waits for the provider payment before answering without it. */
  createWaitMs?: number;
  /** How long each call to Temporal may take; past it the call fails (the API answers 503) instead of hanging. */
  deadlines?: Partial<PaymentDeadlines>;
  /** What a new run does with money captured for a payment an earlier run closed (LATE_SUCCESS_POLICY). */
  lateSuccessPolicy?: LateSuccessPolicy;
  /**
   * With the ledger, deliverIfChanging sends a workflow only the observations that can change its
   * payment; the others go to the payment's timeline as ignored (`no_change`), costing the workflow
   * no task. Without it (the reconciler) every observation is signalled.
   */
  ledger?: Pick<PaymentLedger, 'recorded' | 'recordIgnored' | 'ignoredEvents'>;
}

/** `reopened`: the payment had closed, and the event may be money that came late; a new run settles it. */
export type DeliveryOutcome = 'delivered' | 'reopened' | 'closed' | 'not_found';
/** `no_change`: the payment already records everything the observation says; it is in the timeline as ignored, not signalled. */
export type WebhookDeliveryOutcome = DeliveryOutcome | 'no_change';

/** What deliverObservation delivers: a provider's observation of a payment, or a hint to ask the provider. */
export interface ObservationDelivery {
  paymentId: string;
  provider: ProviderName;
  kind: 'observation' | 'hint';
  observation?: PaymentObservation;
  hint?: { eventId: string; providerEventType: string };
  /**
   * What signal-with-start needs to adopt a payment whose workflow does not exist. With
   * `closedAs` (the ledger closed it; its workflow is gone, e.g. past retention) the run starts
   * as a late-success run from the ledger's state, as for a payment whose workflow is closed.
   */
  adopt?: { amount: Money; reference: string; captureMethod: CaptureMethod; providerReference: string; closedAs?: PaymentStatus; revision?: number };
}

/** Capture, cancel and refund take the command deadline: they wait for the provider's answer through the workflow. */
export type PaymentDeadlines = TemporalDeadlines;

export const DEFAULT_PAYMENT_DEADLINES: PaymentDeadlines = DEFAULT_TEMPORAL_DEADLINES;

export function paymentIdForIdempotencyKey(idempotencyKey: string): string {
  return `pay_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;
}

export function newPaymentId(): string {
  return `pay_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

function requestHash(request: CreatePaymentRequest): string {
  const canonical = JSON.stringify([
    request.provider,
    request.amount.value,
    request.amount.currency,
    request.reference,
    request.captureMethod ?? 'automatic',
    request.description ?? null,
    request.payer?.alias ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export function paymentSummary(input: Pick<StartPaymentInput, 'provider' | 'amount' | 'reference' | 'paymentId'>): string {
  return `${input.provider} payment ${input.amount.value} ${input.amount.currency} for ${input.reference} (${input.paymentId})`;
}

/** The failure type the server gives an accepted update whose workflow closed before answering it. */
const UPDATE_OUTLIVED_WORKFLOW = 'AcceptedUpdateCompletedWorkflow';

type PaymentHandle = WorkflowHandle<typeof paymentWorkflow>;

/**
 * The workflow's events with the ledger's ignored ones it never saw, each placed before the first
 * workflow event that happened later; the workflow's own order stays as it is.
 */
export function withIgnored(events: PaymentEventRecord[], ignored: PaymentEventRecord[]): PaymentEventRecord[] {
  const seen = new Set(events.map((event) => event.eventId));
  const extra = ignored.filter((event) => !seen.has(event.eventId));
  if (extra.length === 0) return events;
  const merged: PaymentEventRecord[] = [];
  let next = 0;
  for (const event of events) {
    while (next < extra.length && extra[next]!.occurredAt <= event.occurredAt) merged.push(extra[next++]!);
    merged.push(event);
  }
  return [...merged, ...extra.slice(next)];
}

export function createPaymentsClient(options: PaymentsClientOptions) {
  const { temporal } = options;
  const taskQueue = options.taskQueue ?? WORKFLOW_TASK_QUEUE;
  const timing: PaymentTiming = { ...DEFAULT_PAYMENT_TIMING, ...options.timing };
  const createWaitMs = options.createWaitMs ?? 10_000;
  const deadlines: PaymentDeadlines = { ...DEFAULT_PAYMENT_DEADLINES, ...options.deadlines };
  const lateSuccessPolicy: LateSuccessPolicy = options.lateSuccessPolicy ?? 'refund';
  // Every call below runs inside a deadline, so an unreachable server is a 503, not a hang.
  const within = withinDeadline(temporal);
  const known = createKnownPayments();
  const learn = (state: PaymentState): PaymentState => {
    known.learn(state);
    return state;
  };

  const handleFor = (paymentId: string): PaymentHandle => temporal.workflow.getHandle<typeof paymentWorkflow>(paymentWorkflowId(paymentId));

  const startOptions = (input: StartPaymentInput, status: PaymentState['status'] = 'created'): WorkflowStartOptions<typeof paymentWorkflow> => ({
    taskQueue,
    workflowId: paymentWorkflowId(input.paymentId),
    args: [input],
    // A closed payment keeps its id: a late webhook or a reused key must not start a second one.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: paymentIdSearchAttribute, value: input.paymentId },
      { key: paymentProviderSearchAttribute, value: input.provider },
      { key: paymentReferenceSearchAttribute, value: input.reference },
      { key: paymentStatusSearchAttribute, value: status },
    ],
    staticSummary: paymentSummary(input),
    staticDetails:
      `**Payment** ${input.paymentId}\n\n- provider: ${input.provider}\n- amount: ${input.amount.value} ${input.amount.currency}` +
      `\n- reference: ${input.reference}\n- capture: ${input.captureMethod}` +
      (input.adoptProviderReference ? `\n- adopted from provider reference ${input.adoptProviderReference}` : ''),
  });

  async function getPayment(paymentId: string): Promise<PaymentState> {
    let state: PaymentState;
    try {
      state = learn(await within(deadlines.callMs, () => handleFor(paymentId).query(paymentStateQuery)));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new PaymentNotFoundError(paymentId);
      throw err;
    }
    // Observations judged to change nothing never reached the workflow; the reader still sees them, as ignored.
    return options.ledger ? { ...state, events: withIgnored(state.events, await options.ledger.ignoredEvents(paymentId)) } : state;
  }

  /** Whether a payment workflow exists under this id, running or closed. */
  async function paymentExists(paymentId: string): Promise<boolean> {
    try {
      await within(deadlines.callMs, () => handleFor(paymentId).describe());
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** Runs one command update and turns Temporal's answers into the payment's own errors. */
  async function runUpdate(paymentId: string, execute: (handle: PaymentHandle) => Promise<PaymentState>): Promise<PaymentState> {
    try {
      return learn(await within(deadlines.commandMs, () => execute(handleFor(paymentId))));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // Updates reach only running workflows; a payment that exists but has closed is a conflict.
        if (await paymentExists(paymentId)) throw new PaymentConflictError('payment is closed; it accepts no more commands');
        throw new PaymentNotFoundError(paymentId);
      }
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause;
        if (cause instanceof ApplicationFailure && cause.type === 'PaymentCommandRejected') throw new PaymentConflictError(cause.message);
        if (cause instanceof ApplicationFailure && cause.type === UPDATE_OUTLIVED_WORKFLOW) {
          throw new PaymentConflictError('payment is closed; it accepts no more commands');
        }
        // An activity failure wraps the provider's own error: surface that, with its type.
        const root = cause instanceof ActivityFailure && cause.cause instanceof ApplicationFailure ? cause.cause : cause;
        if (root instanceof ApplicationFailure && root.type?.startsWith('ProviderError.')) {
          throw new PaymentProviderError(root.message, root.type.slice('ProviderError.'.length));
        }
        throw new PaymentConflictError(root?.message ?? err.message);
      }
      throw err;
    }
  }

  /**
   * Delivers a provider observation to its payment. When the workflow does not exist yet and the
   * event carries enough to describe the payment, signal-with-start creates it adopting the
   * provider's payment. A closed payment runs again only for an event that may be money arriving
   * after it closed (`reopened`); anything else for it is `closed`.
   */
  async function deliverObservation(delivery: ObservationDelivery): Promise<DeliveryOutcome> {
    const deliver = async <Arg>(signal: SignalDefinition<[Arg]>, arg: Arg): Promise<void> => {
      if (!delivery.adopt) {
        await within(deadlines.callMs, () => handleFor(delivery.paymentId).signal(signal, arg));
        return;
      }
      const input: StartPaymentInput = {
        paymentId: delivery.paymentId,
        provider: delivery.provider,
        amount: delivery.adopt.amount,
        reference: delivery.adopt.reference,
        captureMethod: delivery.adopt.captureMethod,
        adoptProviderReference: delivery.adopt.providerReference,
        timing,
      };
      const { closedAs, revision } = delivery.adopt;
      if (closedAs && LATE_SUCCESS_CLOSED_STATUSES.includes(closedAs)) {
        const fromLedger: PaymentState = { ...initialPaymentState(input, new Date().toISOString()), status: closedAs, revision: revision ?? 0 };
        await within(deadlines.callMs, () =>
          temporal.workflow.signalWithStart(paymentWorkflow, { ...startOptions(input, closedAs), args: [input, fromLedger, { policy: lateSuccessPolicy }], signal, signalArgs: [arg] }),
        );
        return;
      }
      await within(deadlines.callMs, () => temporal.workflow.signalWithStart(paymentWorkflow, { ...startOptions(input), signal, signalArgs: [arg] }));
    };
    /**
     * The payment's runs have all closed. An event that may be money arriving after Skerry gave up
     * starts a new run of the same workflow id, carrying the closed state: one mechanism for the
     * webhook inbox and the reconciler, and the payment's id, history and queries stay one.
     */
    const reopenForLateEvent = async <Arg>(signal: SignalDefinition<[Arg]>, arg: Arg): Promise<'reopened' | 'closed'> => {
      const handle = handleFor(delivery.paymentId);
      // Another delivery may have started the new run since this one was refused: join it.
      if ((await within(deadlines.callMs, () => handle.describe())).status.name === 'RUNNING') {
        await within(deadlines.callMs, () => handle.signal(signal, arg));
        return 'reopened';
      }
      let closed: PaymentState;
      try {
        closed = await within(deadlines.callMs, () => handle.result());
      } catch {
        // A run that failed or was terminated has no state to carry: reconciliation reports it.
        return 'closed';
      }
      if (!mayBeLateSuccess(closed, delivery.kind === 'hint' ? 'hint' : delivery.observation!)) return 'closed';
      const input: StartPaymentInput = {
        paymentId: closed.paymentId,
        provider: closed.provider,
        amount: closed.amount,
        reference: closed.reference,
        captureMethod: closed.captureMethod,
        description: closed.description,
        requestHash: closed.requestHash,
        timing,
      };
      await within(deadlines.callMs, () =>
        temporal.workflow.signalWithStart(paymentWorkflow, {
          ...startOptions(input, closed.status),
          args: [input, closed, { policy: lateSuccessPolicy }],
          // Only here may a closed payment's id run again; a second late event joins the run it started.
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          signal,
          signalArgs: [arg],
        }),
      );
      return 'reopened';
    };
    const send = async <Arg>(signal: SignalDefinition<[Arg]>, arg: Arg): Promise<DeliveryOutcome> => {
      try {
        await deliver(signal, arg);
        return 'delivered';
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return reopenForLateEvent(signal, arg);
        if (err instanceof WorkflowNotFoundError) return (await paymentExists(delivery.paymentId)) ? reopenForLateEvent(signal, arg) : 'not_found';
        throw err;
      }
    };
    return delivery.kind === 'hint' ? send(paymentHintSignal, delivery.hint!) : send(paymentObservedSignal, delivery.observation!);
  }

  return {
    /**
     * Starts a payment (or returns the one already started with this idempotency key) and waits,
     * up to createWaitMs, until the provider payment exists so the caller gets its next action.
     */
    async startPayment(request: CreatePaymentRequest, opts: { idempotencyKey?: string } = {}): Promise<PaymentState> {
      if (request.captureMethod === 'manual' && !PROVIDER_CAPABILITIES[request.provider].manualCapture) {
        throw new PaymentConflictError(`${request.provider} does not support manual capture`);
      }
      const paymentId = opts.idempotencyKey ? paymentIdForIdempotencyKey(opts.idempotencyKey) : newPaymentId();
      const hash = requestHash(request);
      const input: StartPaymentInput = {
        paymentId,
        provider: request.provider,
        amount: { value: request.amount.value, currency: request.amount.currency.toUpperCase() },
        reference: request.reference,
        captureMethod: request.captureMethod ?? 'automatic',
        description: request.description,
        payer: request.payer,
        requestHash: hash,
        timing,
      };
      let handle: PaymentHandle;
      try {
        handle = await within(deadlines.callMs, () =>
          temporal.workflow.start(paymentWorkflow, {
            ...startOptions(input),
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        );
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        handle = handleFor(paymentId);
      }

      let state: PaymentState;
      try {
        // Queued with the payment's webhook deliveries: the provider announces the payment it is
        // creating (Stripe's payment_intent.created) while this wait is on, and once it answers that
        // webhook is judged knowing the reference and next action the workflow has.
        state = await known.serialize(paymentId, () =>
          Promise.race([
            // The deadline ends the server-side wait too, not only this caller's.
            within(createWaitMs, () => handle.executeUpdate(awaitProviderPaymentUpdate)).then(learn),
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error('create-wait elapsed')), createWaitMs).unref()),
          ]),
        );
      } catch {
        // Closed already, or the provider is slow: answer with what the workflow knows now. A query
        // needs a worker; while none answers (a worker restarting) the payment is as it was started.
        try {
          state = learn(await within(deadlines.callMs, () => handle.query(paymentStateQuery)));
        } catch (err) {
          if (!answerless(err)) throw err;
          state = initialPaymentState(input, new Date().toISOString());
        }
      }
      if (opts.idempotencyKey && state.requestHash && state.requestHash !== hash) {
        throw new PaymentConflictError('Idempotency-Key was already used with different parameters');
      }
      return state;
    },

    getPayment,

    capture: (paymentId: string, request: { amount?: number } = {}, opts: { updateId?: string } = {}) =>
      runUpdate(paymentId, (handle) => handle.executeUpdate(captureUpdate, { args: [request], updateId: opts.updateId })),

    cancel: (paymentId: string, opts: { updateId?: string } = {}) =>
      runUpdate(paymentId, (handle) => handle.executeUpdate(cancelUpdate, { updateId: opts.updateId })),

    refund: (paymentId: string, request: RefundRequest = {}, opts: { updateId?: string } = {}) =>
      runUpdate(paymentId, (handle) => handle.executeUpdate(refundUpdate, { args: [request], updateId: opts.updateId })),

    deliverObservation,

    /**
     * deliverObservation for the webhook inbox: with the ledger configured, an observation that
     * cannot change its payment (judged against what its workflow is known to have reached) is put
     * in the payment's timeline as ignored instead of signalled (`no_change`); anything else, and
     * anything in doubt, is delivered. One payment's observations go through here one at a time.
     */
    async deliverIfChanging(delivery: ObservationDelivery): Promise<WebhookDeliveryOutcome> {
      const ledger = options.ledger;
      const observation = delivery.observation;
      if (!ledger || delivery.kind !== 'observation' || !observation) return deliverObservation(delivery);
      return known.serialize(delivery.paymentId, async () => {
        const basis = known.get(delivery.paymentId) ?? (await ledger.recorded(delivery.paymentId));
        const judged = basis && judgeObservation(basis, observation);
        if (judged && !judged.changes) {
          await ledger.recordIgnored(delivery.paymentId, observation);
          return 'no_change';
        }
        const outcome = await deliverObservation(delivery);
        if (judged && (outcome === 'delivered' || outcome === 'reopened')) known.learn(judged.state);
        return outcome;
      });
    },
  };
}

export type PaymentsClient = ReturnType<typeof createPaymentsClient>;
