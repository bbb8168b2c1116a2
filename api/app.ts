// The HTTP API's two doors, each built by a function that never listens (main.ts and server.ts do;
// tests use app.inject()):
//   - the admin door (buildAdminApp): the REST API, /docs, /metrics, /providers. Loopback by default,
//     every route behind a scoped API key (api/auth/), a Host allowlist, JSON only.
//   - the public door (buildPublicApp): what the internet must reach and nothing else — provider
//     webhooks, the pages providers send browsers back to, and /health — with abuse limits.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../observability/logger';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
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
import type { ApiKeyStore } from '../store/api-keys';
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
import { installAdminAccess, type AdminAccessDeps, type AdminRoute } from './auth/access';
import { accessFor, ROUTE_SCOPES } from './auth/route-scopes';
import { apiKeyRoutes } from './auth/key-routes';
import { airbnbCallbackRoutes, airbnbConnectRoutes, type AirbnbConnectDeps } from './channels/airbnb-connect';
import { returnPageRoutes } from './public/return-page';
import { codecRoutes, type CodecRoutesOptions } from './routes/codec';
import { unavailableDependency } from './unavailable';
import { readinessRoutes, type ReadinessDeps } from './routes/health';

export interface AdminAppDeps {
  payments: PaymentsClient;
  /** The webhook inbox, listed and replayed by operators. */
  inbox: WebhookInbox;
  delivery: WebhookDelivery;
  access: AdminAccessDeps;
  /** Providers this deployment offers; a payment for another one is refused with 400. */
  enabledProviders?: readonly ProviderName[];
  logger?: Logger;
  /** The registry GET /metrics serves; defaults to the process's. */
  metrics?: Metrics;
  /** The channel manager's routes (inventory, calendar, bookings, channels). */
  bookings?: InventoryRoutesDeps;
  /** Connecting Airbnb hosts over OAuth (its callback is on the public door). */
  airbnb?: AirbnbConnectDeps;
  /** Transaction reconciliation: start runs, follow them, read their reports. */
  reconciliation?: ReconciliationRoutesDeps;
  /** GET /providers: circuit breakers, quotas, rate limits, OAuth token health. */
  providers?: ProvidersRoutesDeps;
  /** POST /codec/encode|decode: the Temporal Web UI's and CLI's codec server (security/payload-codec.ts). */
  codec?: CodecRoutesOptions;
  /** GET /ready: the dependencies that must answer before this process takes traffic. */
  readiness?: ReadinessDeps;
  /** Extra admin routes; each needs its line in api/auth/route-scopes.ts. */
  extend?: (app: FastifyInstance) => Promise<void> | void;
}

export interface PublicAppDeps {
  payments: Pick<PaymentsClient, 'getPayment'>;
  inbox: WebhookInbox;
  delivery: WebhookDelivery;
  verifiers: WebhookVerifier[];
  logger?: Logger;
  webhookObserver?: WebhookObserver;
  /** GET /ready: the dependencies that must answer before this process takes traffic. */
  readiness?: ReadinessDeps;
  /** Drops cached provider reads of a payment a verified webhook reports a change of. */
  invalidateProviderReads?: (provider: string, providerReference: string) => Promise<void>;
  /** The Airbnb OAuth callback, bound to the connects started on the admin door. */
  airbnb?: AirbnbConnectDeps & { keys: ApiKeyStore };
  limits: {
    /** Webhook requests per minute, per provider route and source address. */
    webhookRatePerMinute: number;
    /** Return page and OAuth callback requests per minute, per source address. */
    pageRatePerMinute: number;
    /** Overrides of the per-provider webhook body limits (api/webhooks/routes.ts). */
    webhookBodyLimits?: Readonly<Record<string, number>>;
  };
}

/** What both doors share: zod validation, one log line per request, errors mapped to status codes. */
function baseApp(logger: Logger | undefined) {
  const app = Fastify({
    loggerInstance: (logger ?? createLogger({ level: 'silent' })) as FastifyBaseLogger,
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
    const unavailable = unavailableDependency(error);
    if (unavailable) {
      request.log.warn({ dependency: unavailable.dependency, err: (error as Error).message }, 'dependency unavailable; answering 503');
      return reply
        .code(503)
        .header('retry-after', String(unavailable.retryAfterSeconds))
        .send({ error: 'unavailable', dependency: unavailable.dependency, message: `${unavailable.dependency} is unavailable; retry later` });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });
  return app;
}

/** The OpenAPI document names each operation's scope, and the bearer scheme "Try it out" uses. */
const scopedTransform: typeof jsonSchemaTransform = (input) => {
  const transformed = jsonSchemaTransform(input);
  const method = [input.route.method].flat()[0] ?? 'GET';
  const access = accessFor(String(method), input.url);
  if (!access || access.scope === 'none') return { ...transformed, schema: { ...transformed.schema, security: [] } };
  const needs = [
    `Scope: \`${access.scope}\``,
    access.idempotency === 'required' ? 'Idempotency-Key required.' : access.idempotency === 'optional' ? 'An Idempotency-Key is honoured (answers kept 24 h).' : '',
    access.whenPaidBooking ? `A paid booking also needs \`${access.whenPaidBooking}\` and an Idempotency-Key.` : '',
    access.whenBookingTakesPayment ? `A booking that takes a payment also needs \`${access.whenBookingTakesPayment}\`.` : '',
  ].filter(Boolean);
  const description = [transformed.schema.description, needs.join(' ')].filter(Boolean).join('\n\n');
  return { ...transformed, schema: { ...transformed.schema, description } };
};

export type AdminApp = FastifyInstance & { adminRoutes: () => readonly AdminRoute[] };

export async function buildAdminApp(deps: AdminAppDeps): Promise<AdminApp> {
  const app = baseApp(deps.logger);
  // First: every route registered after this is checked against the scope table.
  const access = await installAdminAccess(app as unknown as FastifyInstance, { ...deps.access, routeScopes: deps.access.routeScopes ?? ROUTE_SCOPES });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Skerry API', version: '0.1.0', description: 'Payments and booking integrations as durable Temporal workflows. Every operation needs an API key (Authorization: Bearer sk_…) with the scope it names.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key, sk_…' } } },
      security: [{ apiKey: [] }],
    },
    transform: scopedTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/health', { schema: { hide: true } }, async () => ({ ok: true }));
  if (deps.readiness) await app.register(readinessRoutes, deps.readiness);

  await app.register(paymentsRoutes, { payments: deps.payments, enabledProviders: deps.enabledProviders });
  await app.register(operationsRoutes, { inbox: deps.inbox, delivery: deps.delivery, metrics: deps.metrics ?? getProcessMetrics() });
  await app.register(apiKeyRoutes, { keys: deps.access.keys });
  // The Airbnb connect is served here (admin door) and its callback on the public door.
  if (deps.bookings) await app.register(inventoryRoutes, { ...deps.bookings, airbnb: undefined });
  if (deps.airbnb) await app.register(airbnbConnectRoutes, deps.airbnb);
  if (deps.providers) await app.register(providersRoutes, deps.providers);
  if (deps.reconciliation) await app.register(reconciliationRoutes, deps.reconciliation);
  if (deps.codec) await app.register(codecRoutes, deps.codec);
  if (deps.extend) await deps.extend(app as unknown as FastifyInstance);
  await app.ready();
  access.assertEveryRouteScoped();
  return Object.assign(app as unknown as FastifyInstance, { adminRoutes: access.routes });
}

export async function buildPublicApp(deps: PublicAppDeps): Promise<FastifyInstance> {
  const app = baseApp(deps.logger);
  // Per route (each webhook provider, each page), per source address; off where a route sets none.
  await app.register(rateLimit, { global: false });

  app.get('/health', { schema: { hide: true } }, async () => ({ ok: true }));
  if (deps.readiness) await app.register(readinessRoutes, deps.readiness);

  await app.register(
    async (scope) =>
      registerWebhookRoutes(scope as unknown as FastifyInstance, {
        inbox: deps.inbox,
        delivery: deps.delivery,
        verifiers: deps.verifiers,
        observer: deps.webhookObserver,
        invalidate: deps.invalidateProviderReads,
        ratePerMinute: deps.limits.webhookRatePerMinute,
        bodyLimits: deps.limits.webhookBodyLimits,
      }),
    { prefix: '/webhooks' },
  );
  await app.register(returnPageRoutes, { payments: deps.payments, rateLimit: { max: deps.limits.pageRatePerMinute } });
  if (deps.airbnb) await app.register(airbnbCallbackRoutes, { ...deps.airbnb, rateLimit: { max: deps.limits.pageRatePerMinute } });
  await app.ready();
  return app as unknown as FastifyInstance;
}
