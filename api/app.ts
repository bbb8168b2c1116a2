// The HTTP API. buildApp never listens: main.ts does, and tests use app.inject().
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../observability/logger';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PaymentsClient } from '../client/payments';
import { PaymentConflictError, PaymentNotFoundError, PaymentProviderError } from '../client/payments';
import type { WebhookVerifier } from '../providers/types';
import { PAYMENT_STATUSES, PROVIDERS, type PaymentState, type ProviderName } from '../workflows/payments/messages';
import type { WebhookInbox } from './webhooks/inbox';
import type { WebhookDelivery } from './webhooks/delivery';
import { registerWebhookRoutes, type WebhookObserver } from './webhooks/routes';
import { inventoryRoutes, type InventoryRoutesDeps } from './routes/inventory';
import { providersRoutes, type ProvidersRoutesDeps } from './routes/providers';
import { reconciliationRoutes, type ReconciliationRoutesDeps } from './routes/reconciliation';
import { operationsRoutes } from './routes/operations';
import { installRequestLogging } from './request-log';
import { getProcessMetrics, type Metrics } from '../observability/metrics';

export interface AppDeps {
  payments: PaymentsClient;
  inbox: WebhookInbox;
  delivery: WebhookDelivery;
  verifiers: WebhookVerifier[];
  /** Providers this deployment offers; a payment for another one is refused with 400. */
  enabledProviders?: readonly ProviderName[];
  logger?: Logger;
  webhookObserver?: WebhookObserver;
  /** The registry GET /metrics serves; defaults to the process's. */
  metrics?: Metrics;
  /** The channel manager's routes (inventory, calendar, bookings, channels). */
  bookings?: InventoryRoutesDeps;
  /** Transaction reconciliation: start runs, follow them, read their reports. */
  reconciliation?: ReconciliationRoutesDeps;
  /** GET /providers: circuit breakers, quotas, rate limits, OAuth token health. */
  providers?: ProvidersRoutesDeps;
  /** Drops cached provider reads of a payment a verified webhook reports a change of. */
  invalidateProviderReads?: (provider: string, providerReference: string) => Promise<void>;
  /** Extra routes (metrics, providers) registered by main.ts. */
  extend?: (app: FastifyInstance) => Promise<void> | void;
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
  reference: z.string().min(1).max(200).describe('Booking or order reference'),
  captureMethod: z.enum(['automatic', 'manual']).default('automatic'),
  description: z.string().max(500).optional(),
  payer: z.object({ alias: z.string().min(1).max(40).optional() }).optional(),
});

const NextAction = z.record(z.string(), z.unknown()).nullable();

const PaymentView = z.object({
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

const ErrorBody = z.object({ error: z.string(), message: z.string(), fields: z.array(z.object({ path: z.string(), message: z.string() })).optional() });
const PaymentParams = z.object({ id: z.string().regex(/^pay_[a-z0-9]{6,40}$/, 'must be a Skerry payment id (pay_…)') });
const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(255).optional() });

export function paymentView(state: PaymentState) {
  return {
    paymentId: state.paymentId,
    workflowId: `payment-${state.paymentId}`,
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
    events: state.events,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: (deps.logger ?? createLogger({ level: 'silent' })) as FastifyBaseLogger,
    // installRequestLogging writes one line per request with the fields operators search by.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installRequestLogging(app as unknown as FastifyInstance);

  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const fields = error.validation.map((issue) => ({
        path: `${error.validationContext ?? 'body'}${issue.instancePath.replaceAll('/', '.')}`,
        message: issue.message ?? 'invalid',
      }));
      return reply.code(400).send({
        error: 'invalid_request',
        message: fields.map((field) => `${field.path}: ${field.message}`).join('; '),
        fields,
      });
    }
    if (error instanceof PaymentNotFoundError) return reply.code(404).send({ error: 'not_found', message: error.message });
    if (error instanceof PaymentConflictError) return reply.code(409).send({ error: 'conflict', message: error.message });
    if (error instanceof PaymentProviderError) return reply.code(502).send({ error: `provider_${error.kind}`, message: error.message });
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: 'bad_request', message: (error as Error).message });
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Skerry API', version: '0.1.0', description: 'Payments and booking integrations as durable Temporal workflows' },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/health', { schema: { hide: true } }, async () => ({ ok: true }));

  app.post(
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
      if (deps.enabledProviders && !deps.enabledProviders.includes(request.body.provider)) {
        return reply.code(400).send({
          error: 'invalid_request',
          message: `body.provider: ${request.body.provider} is not configured here (offered: ${deps.enabledProviders.join(', ') || 'none'})`,
        });
      }
      const state = await deps.payments.startPayment(request.body, { idempotencyKey: request.headers['idempotency-key'] });
      return reply.code(201).send(paymentView(state));
    },
  );

  app.get(
    '/payments/:id',
    { schema: { summary: 'Read a payment', tags: ['payments'], params: PaymentParams, response: { 200: PaymentView, 404: ErrorBody } } },
    async (request) => paymentView(await deps.payments.getPayment(request.params.id)),
  );

  app.post(
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
      paymentView(await deps.payments.capture(request.params.id, request.body, { updateId: request.headers['idempotency-key'] })),
  );

  app.post(
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
    async (request) => paymentView(await deps.payments.cancel(request.params.id, { updateId: request.headers['idempotency-key'] })),
  );

  app.post(
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
      paymentView(await deps.payments.refund(request.params.id, request.body, { updateId: request.headers['idempotency-key'] })),
  );

  await app.register(
    async (scope) => registerWebhookRoutes(scope as unknown as FastifyInstance, {
        inbox: deps.inbox,
        delivery: deps.delivery,
        verifiers: deps.verifiers,
        observer: deps.webhookObserver,
        invalidate: deps.invalidateProviderReads,
      }),
    { prefix: '/webhooks' },
  );

  await app.register(operationsRoutes, { inbox: deps.inbox, delivery: deps.delivery, metrics: deps.metrics ?? getProcessMetrics() });
  if (deps.bookings) await app.register(inventoryRoutes, deps.bookings);
  if (deps.providers) await app.register(providersRoutes, deps.providers);
  if (deps.reconciliation) await app.register(reconciliationRoutes, deps.reconciliation);
  if (deps.extend) await deps.extend(app as unknown as FastifyInstance);
  return app;
}
