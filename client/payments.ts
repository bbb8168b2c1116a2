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
import { DEFAULT_PAYMENT_TIMING, PROVIDER_CAPABILITIES, type CaptureMethod, type PaymentObservation, type PaymentState, type PaymentTiming, type ProviderName, type RefundRequest, type StartPaymentInput } from '../domain/payments';
import { paymentIdSearchAttribute, paymentProviderSearchAttribute, paymentReferenceSearchAttribute, paymentStatusSearchAttribute } from '../domain/search-attributes';
import { WORKFLOW_TASK_QUEUE } from '../domain/task-queues';
import { type Money } from '../domain/money';
import { DEFAULT_TEMPORAL_DEADLINES, withinDeadline, type TemporalDeadlines } from './deadlines';
import { initialPaymentState } from '../workflows/payments/state';
import { isGrpcServiceError } from '@temporalio/client';

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

export function createPaymentsClient(options: PaymentsClientOptions) {
  const { temporal } = options;
  const taskQueue = options.taskQueue ?? WORKFLOW_TASK_QUEUE;
  const timing: PaymentTiming = { ...DEFAULT_PAYMENT_TIMING, ...options.timing };
  const createWaitMs = options.createWaitMs ?? 10_000;
  const deadlines: PaymentDeadlines = { ...DEFAULT_PAYMENT_DEADLINES, ...options.deadlines };
  // Every call below runs inside a deadline, so an unreachable server is a 503, not a hang.
  const within = withinDeadline(temporal);

  const handleFor = (paymentId: string): PaymentHandle => temporal.workflow.getHandle<typeof paymentWorkflow>(paymentWorkflowId(paymentId));

  const startOptions = (input: StartPaymentInput): WorkflowStartOptions<typeof paymentWorkflow> => ({
    taskQueue,
    workflowId: paymentWorkflowId(input.paymentId),
    args: [input],
    // A closed payment keeps its id: a late webhook or a reused key must not start a second one.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: paymentIdSearchAttribute, value: input.paymentId },
      { key: paymentProviderSearchAttribute, value: input.provider },
      { key: paymentReferenceSearchAttribute, value: input.reference },
      { key: paymentStatusSearchAttribute, value: 'created' },
    ],
    staticSummary: paymentSummary(input),
    staticDetails:
      `**Payment** ${input.paymentId}\n\n- provider: ${input.provider}\n- amount: ${input.amount.value} ${input.amount.currency}` +
      `\n- reference: ${input.reference}\n- capture: ${input.captureMethod}` +
      (input.adoptProviderReference ? `\n- adopted from provider reference ${input.adoptProviderReference}` : ''),
  });

  async function getPayment(paymentId: string): Promise<PaymentState> {
    try {
      return await within(deadlines.callMs, () => handleFor(paymentId).query(paymentStateQuery));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new PaymentNotFoundError(paymentId);
      throw err;
    }
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
      return await within(deadlines.commandMs, () => execute(handleFor(paymentId)));
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
        state = await Promise.race([
          // The deadline ends the server-side wait too, not only this caller's.
          within(createWaitMs, () => handle.executeUpdate(awaitProviderPaymentUpdate)),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('create-wait elapsed')), createWaitMs).unref()),
        ]);
      } catch {
        // Closed already, or the provider is slow: answer with what the workflow knows now. A query
        // needs a worker; while none answers (a worker restarting) the payment is as it was started.
        try {
          state = await within(deadlines.callMs, () => handle.query(paymentStateQuery));
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

    /**
     * Delivers a provider observation to its payment. When the workflow does not exist yet and the
     * event carries enough to describe the payment, signal-with-start creates it adopting the
     * provider's payment; a closed payment is never restarted.
     */
    async deliverObservation(delivery: {
      paymentId: string;
      provider: ProviderName;
      kind: 'observation' | 'hint';
      observation?: PaymentObservation;
      hint?: { eventId: string; providerEventType: string };
      adopt?: { amount: Money; reference: string; captureMethod: CaptureMethod; providerReference: string };
    }): Promise<'delivered' | 'closed' | 'not_found'> {
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
        await within(deadlines.callMs, () => temporal.workflow.signalWithStart(paymentWorkflow, { ...startOptions(input), signal, signalArgs: [arg] }));
      };
      try {
        if (delivery.kind === 'hint') await deliver(paymentHintSignal, delivery.hint!);
        else await deliver(paymentObservedSignal, delivery.observation!);
        return 'delivered';
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return 'closed';
        if (err instanceof WorkflowNotFoundError) return 'not_found';
        throw err;
      }
    },
  };
}

export type PaymentsClient = ReturnType<typeof createPaymentsClient>;
