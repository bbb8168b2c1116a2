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
import type { PaymentsClient } from '../client/payments';
import { PaymentConflictError, PaymentNotFoundError, PaymentProviderError } from '../client/payments';
import type { WebhookVerifier } from '../providers/types';
import type { ProviderName } from '../domain/payments';
import type { WebhookInbox } from '../store/webhook-inbox';
import type { WebhookDelivery } from './webhooks/delivery';
import { registerWebhookRoutes } from './webhooks/routes';
import { type WebhookObserver } from '../observability/observers';
import { paymentsRoutes } from './routes/payments';
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

  await app.register(paymentsRoutes, { payments: deps.payments, enabledProviders: deps.enabledProviders });

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
