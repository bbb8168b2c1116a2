// The HTTP API's two doors, each built by a function that never listens (main.ts and server.ts do;
// tests use app.inject()):
//   - the admin door (buildAdminApp): the REST API, /docs, /metrics, /providers. Loopback by default,
//     every route behind a scoped API key (api/auth/), a Host allowlist, JSON only.
//   - the public door (buildPublicApp): what the internet must reach and nothing else — provider
//     webhooks, the pages providers send browsers back to, and /health — with abuse limits.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import { createLogger, type Logger } from '../observability/logger';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
import { providerCallRoutes } from './routes/provider-calls';
import { reconciliationRoutes, type ReconciliationRoutesDeps } from './routes/reconciliation';
import { operationsRoutes } from './routes/operations';
import { paymentListRoutes, type PaymentListRoutesDeps } from './routes/payment-list';
import { propertyCalendarRoutes, type PropertyCalendarDeps } from './routes/property-calendar';
import { webhookEventRoutes } from './routes/webhook-event';
import { icalRoutes, type IcalRoutesDeps } from './routes/ical';
import { icalFeedRoutes, type IcalFeedRouteDeps } from './ical/feed';
import { installRequestLogging } from './request-log';
import { getProcessMetrics, type Metrics } from '../observability/metrics';
import { installAdminAccess, type AdminAccessDeps, type AdminRoute } from './auth/access';
import { accessFor, ROUTE_SCOPES, type RouteAccess } from './auth/route-scopes';
import { ErrorBody, Unavailable } from './schemas';
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
  /** GET /payments and the overview's totals, read from the ledger. */
  paymentList?: PaymentListRoutesDeps;
  /** GET /properties/:id/calendar: the console's units × nights grid. */
  propertyCalendar?: PropertyCalendarDeps;
  /** iCal feeds per unit (export URLs, imports) and the channel's health. */
  ical?: IcalRoutesDeps;
  /** The operator's console, built (stack/console-build.ts) into this folder; served under /console/. */
  consoleDir?: string;
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
  /** GET /ical/<token>.ics: the calendars OTAs import. */
  ical?: IcalFeedRouteDeps;
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

/**
 * The answers a route gives whatever its handler does, documented once here rather than on every
 * route: 400 from the validation of its parameters, query or body (baseApp's error handler), and for a route
 * behind a key 401 (no key), 403 (a key without the scope), 503 (the key could not be looked up), 415
 * (a state-changing request that is not JSON) and, where an Idempotency-Key is honoured, 422 (the key
 * reused with another request).
 */
function withSharedAnswers(schema: FastifySchema, method: string, access: RouteAccess | undefined): FastifySchema {
  const response: Record<string, unknown> = { ...(schema.response as Record<string, unknown> | undefined) };
  if (schema.params || schema.querystring || schema.body || schema.headers) response[400] ??= ErrorBody;
  if (access && access.scope !== 'none') {
    if (method !== 'GET') response[415] ??= ErrorBody;
    response[401] ??= ErrorBody;
    response[403] ??= ErrorBody;
    response[503] ??= Unavailable;
    if (access.idempotency) response[422] ??= ErrorBody;
  }
  return { ...schema, response };
}

/** The OpenAPI document names each operation's scope, and the bearer scheme "Try it out" uses. */
const scopedTransform: typeof jsonSchemaTransform = (input) => {
  const method = [input.route.method].flat()[0] ?? 'GET';
  const access = accessFor(String(method), input.url);
  const transformed = jsonSchemaTransform({ ...input, schema: input.schema && withSharedAnswers(input.schema, String(method), access) });
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
  if (deps.paymentList) await app.register(paymentListRoutes, deps.paymentList);
  await app.register(webhookEventRoutes, { inbox: deps.inbox });
  await app.register(operationsRoutes, { inbox: deps.inbox, delivery: deps.delivery, metrics: deps.metrics ?? getProcessMetrics() });
  await app.register(apiKeyRoutes, { keys: deps.access.keys });
  // The Airbnb connect is served here (admin door) and its callback on the public door.
  if (deps.bookings) await app.register(inventoryRoutes, deps.bookings);
  if (deps.propertyCalendar) await app.register(propertyCalendarRoutes, deps.propertyCalendar);
  if (deps.ical) await app.register(icalRoutes, deps.ical);
  if (deps.airbnb) await app.register(airbnbConnectRoutes, deps.airbnb);
  if (deps.providers) await app.register(providersRoutes, deps.providers);
  if (deps.providers) await app.register(providerCallRoutes, deps.providers);
  if (deps.reconciliation) await app.register(reconciliationRoutes, deps.reconciliation);
  if (deps.codec) await app.register(codecRoutes, deps.codec);
  if (deps.consoleDir) await registerConsole(app as unknown as FastifyInstance, deps.consoleDir);
  if (deps.extend) await deps.extend(app as unknown as FastifyInstance);
  await app.ready();
  access.assertEveryRouteScoped();
  return Object.assign(app as unknown as FastifyInstance, { adminRoutes: access.routes });
}

/**
 * The console's files carry no data (every page asks the API with the signed-in key), so they need no
 * key; when they were not built, the page says how to build them.
 */
async function registerConsole(app: FastifyInstance, dir: string): Promise<void> {
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/', 302));
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/console/*', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The console is not built. Run npm run console:build (npm start builds it), then reload.'),
    );
    return;
  }
  await app.register(fastifyStatic, { root: dir, prefix: '/console/', index: 'index.html', schemaHide: true, cacheControl: true, maxAge: '1h' });
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
  if (deps.ical) await app.register(icalFeedRoutes, deps.ical);
  await app.ready();
  return app as unknown as FastifyInstance;
}
