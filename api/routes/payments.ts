// The payment routes: start, read, capture, cancel, refund. Each is a call on client/payments, whose
// errors the app's error handler maps to 404/409/502.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PaymentsClient } from '../../client/payments';
import { LATE_SUCCESS_POLICIES, PAYMENT_STATUSES, PROVIDERS, type PaymentState, type ProviderName } from '../../domain/payments';
import { paymentWorkflowId } from '../../domain/workflow-ids';
import { ErrorBody } from '../schemas';

export interface PaymentsRoutesDeps {
  payments: PaymentsClient;
  /** Providers this deployment offers; a payment for another one is refused with 400. */
  enabledProviders?: readonly ProviderName[];
}

const Money = z.object({
  value: z.number().int().positive().describe('Integer amount in minor units (öre, cents)'),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
    .transform((code) => code.toUpperCase()),
});

const CreatePaymentBody = z.object({
  provider: z.enum(PROVIDERS),
  amount: Money,
  reference: z.string().min(1).max(200).describe('Booking or order reference (`PaymentReference` in Temporal, stored in the clear): never a guest\'s name, email or phone number'),
  captureMethod: z.enum(['automatic', 'manual']).default('automatic'),
  description: z.string().max(500).optional(),
  payer: z.object({ alias: z.string().min(1).max(40).optional() }).optional(),
});

const NextAction = z.record(z.string(), z.unknown()).nullable();

export const PaymentView = z.object({
  paymentId: z.string(),
  workflowId: z.string(),
  provider: z.enum(PROVIDERS),
  status: z.enum(PAYMENT_STATUSES),
  providerReference: z.string().nullable(),
  nextAction: NextAction,
  reference: z.string(),
  captureMethod: z.enum(['automatic', 'manual']),
  amount: z.object({ value: z.number(), currency: z.string() }),
  amountCaptured: z.number(),
  amountRefunded: z.number(),
  failureReason: z.string().nullable(),
  refunds: z.array(z.object({ refundId: z.string(), amount: z.number(), status: z.string() })),
  lateSuccess: z
    .object({ policy: z.enum(LATE_SUCCESS_POLICIES), closedAs: z.enum(PAYMENT_STATUSES), amountCaptured: z.number(), observedAt: z.string() })
    .nullable()
    .describe('Money the provider captured after Skerry had closed the payment, and the LATE_SUCCESS_POLICY that settled it (reopen or refund)'),
  events: z.array(
    z.object({
      eventId: z.string(),
      source: z.string(),
      providerEventType: z.string(),
      statusBefore: z.string(),
      statusAfter: z.string(),
      applied: z.boolean(),
      occurredAt: z.string(),
    }),
  ),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const PaymentParams = z.object({ id: z.string().regex(/^pay_[a-z0-9]{6,40}$/, 'must be a Skerry payment id (pay_…)') });
const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(255).optional() });

export function paymentView(state: PaymentState) {
  return {
    paymentId: state.paymentId,
    workflowId: paymentWorkflowId(state.paymentId),
    provider: state.provider,
    status: state.status,
    providerReference: state.providerReference ?? null,
    nextAction: (state.nextAction as Record<string, unknown> | undefined) ?? null,
    reference: state.reference,
    captureMethod: state.captureMethod,
    amount: state.amount,
    amountCaptured: state.amountCaptured,
    amountRefunded: state.amountRefunded,
    failureReason: state.failureReason ?? null,
    refunds: Object.values(state.refunds),
    lateSuccess: state.lateSuccess ?? null,
    events: state.events,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

export async function paymentsRoutes(app: FastifyInstance, { payments, enabledProviders }: PaymentsRoutesDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/payments',
    {
      schema: {
        summary: 'Start a payment',
        tags: ['payments'],
        body: CreatePaymentBody,
        headers: IdempotencyHeaders,
        response: { 201: PaymentView, 200: PaymentView, 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      if (enabledProviders && !enabledProviders.includes(request.body.provider)) {
        return reply.code(400).send({
          error: 'invalid_request',
          message: `body.provider: ${request.body.provider} is not configured here (offered: ${enabledProviders.join(', ') || 'none'})`,
        });
      }
      const state = await payments.startPayment(request.body, { idempotencyKey: request.headers['idempotency-key'] });
      return reply.code(201).send(paymentView(state));
    },
  );

  api.get(
    '/payments/:id',
    { schema: { summary: 'Read a payment', tags: ['payments'], params: PaymentParams, response: { 200: PaymentView, 404: ErrorBody } } },
    async (request) => paymentView(await payments.getPayment(request.params.id)),
  );

  api.post(
    '/payments/:id/capture',
    {
      schema: {
        summary: 'Capture an authorized payment (all or part)',
        tags: ['payments'],
        params: PaymentParams,
        headers: IdempotencyHeaders,
        body: z.object({ amount: z.number().int().positive().optional() }).default({}),
        response: { 200: PaymentView, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody },
      },
    },
    async (request) =>
      paymentView(await payments.capture(request.params.id, request.body, { updateId: request.headers['idempotency-key'] })),
  );

  api.post(
    '/payments/:id/cancel',
    {
      schema: {
        summary: 'Cancel a payment that has not been captured',
        tags: ['payments'],
        params: PaymentParams,
        headers: IdempotencyHeaders,
        response: { 200: PaymentView, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody },
      },
    },
    async (request) => paymentView(await payments.cancel(request.params.id, { updateId: request.headers['idempotency-key'] })),
  );

  api.post(
    '/payments/:id/refunds',
    {
      schema: {
        summary: 'Refund a captured payment (all or part)',
        tags: ['payments'],
        params: PaymentParams,
        headers: IdempotencyHeaders,
        body: z.object({ amount: z.number().int().positive().optional(), reason: z.string().max(200).optional() }).default({}),
        response: { 200: PaymentView, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody },
      },
    },
    async (request) =>
      paymentView(await payments.refund(request.params.id, request.body, { updateId: request.headers['idempotency-key'] })),
  );
}
