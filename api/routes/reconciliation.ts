// Transaction reconciliation over HTTP: start a run for a provider and period, follow it while it
// runs, and read its report as JSON or CSV.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../schemas';
import {
  createReconciliationClient,
  ReconciliationNotFoundError,
  ReconciliationRequestError,
  type ReconciliationClient,
} from '../../client/reconciliation';
import { createReconciliationStore } from '../../store/reconciliation';
import { enabledPaymentProviders, type Config } from '../../config';
import type { Database } from '../../db/client';
import type { Logger } from '../../observability/logger';
import type { Metrics } from '../../observability/metrics';
import { PROVIDERS } from '../../domain/payments';
import { DISCREPANCY_KINDS } from '../../domain/reconciliation';

export interface ReconciliationRoutesDeps {
  reconciliation: ReconciliationClient;
}

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const Json = z.unknown();
const RunParams = z.object({ id: z.string().min(1).max(100).describe('The run id, reconciliation-<provider>-<YYYY-MM-DD>') });

const StartBody = z.strictObject({
  provider: z.enum(PROVIDERS),
  from: Day.describe('First day (UTC)'),
  to: Day.optional().describe('Last day, inclusive (UTC); default from'),
  checkBookings: z.boolean().optional().describe('Also match payments against bookings (default true)'),
  heal: z.boolean().optional().describe('Signal lost webhooks into their payments (default true)'),
  pageSize: z.number().int().min(1).max(500).optional().describe("Transactions per provider page (capped by the provider)"),
});

export async function reconciliationRoutes(app: FastifyInstance, deps: ReconciliationRoutesDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { reconciliation } = deps;

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof ReconciliationNotFoundError) return reply.code(404).send({ error: 'not_found', message: error.message });
    if (error instanceof ReconciliationRequestError) return reply.code(400).send({ error: 'invalid_request', message: error.message });
    throw error;
  });

  api.post(
    '/reconciliations',
    {
      schema: {
        summary: 'Reconcile a provider for a period (a day by default): the run id is reconciliation-<provider>-<day>',
        description: 'Answers 202 with the run; a run of the same period that is still going is returned as it is (started: false).',
        tags: ['reconciliation'],
        body: StartBody,
        response: { 202: Json, 400: ErrorBody },
      },
    },
    async (request, reply) => {
      const { provider, from, to, checkBookings, heal, pageSize } = request.body;
      const { id, started } = await reconciliation.start({ provider, from, to, options: { checkBookings, heal, pageSize } });
      const run = await reconciliation.get(id).catch(() => undefined);
      return reply
        .code(202)
        .header('location', `/reconciliations/${id}`)
        .send({ id, started, run: run ?? null });
    },
  );

  api.get(
    '/reconciliations',
    {
      schema: {
        summary: 'Recent reconciliation runs, newest period first',
        tags: ['reconciliation'],
        querystring: z.object({ provider: z.enum(PROVIDERS).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: { 200: Json },
      },
    },
    async (request) => ({ runs: await reconciliation.list({ provider: request.query.provider, limit: request.query.limit }) }),
  );

  api.get(
    '/reconciliations/:id',
    {
      schema: {
        summary: 'A run: status, phase and counts (live while it runs)',
        tags: ['reconciliation'],
        params: RunParams,
        response: { 200: Json, 404: ErrorBody },
      },
    },
    async (request) => reconciliation.get(request.params.id),
  );

  api.get(
    '/reconciliations/:id/report',
    {
      schema: {
        summary: "A run's report: every discrepancy with its evidence, and whether it healed or is left for a person",
        tags: ['reconciliation'],
        params: RunParams,
        querystring: z.object({ format: z.enum(['json', 'csv']).default('json'), kind: z.enum(DISCREPANCY_KINDS).optional() }),
        response: { 200: Json, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { format, kind } = request.query;
      if (format === 'csv') {
        const csv = await reconciliation.reportCsv(request.params.id, { kind });
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${request.params.id}.csv"`)
          .send(csv);
      }
      return reconciliation.report(request.params.id, { kind });
    },
  );
}

/**
 * The API process's reconciliation: the client its routes use, the nightly Schedule brought in line
 * with the configuration (idempotent, at every start), and the discrepancy gauge for Prometheus.
 */
export async function setupReconciliation(
  config: Config,
  deps: { temporal: Client; db: Database; metrics: Metrics; logger: Logger },
): Promise<ReconciliationRoutesDeps> {
  const store = createReconciliationStore(deps.db);
  // Swish lists nothing itself: it is reconciled only against a configured bank settlement report.
  const providers = enabledPaymentProviders(config).filter((provider) => provider !== 'swish' || Boolean(config.swish.settlementReportUrl));
  const reconciliation = createReconciliationClient({ temporal: deps.temporal, store, taskQueue: config.temporal.taskQueue, enabledProviders: providers });
  deps.metrics.registerGauge({
    name: 'skerry_reconciliation_discrepancies',
    help: "Discrepancies of each provider's latest finished reconciliation that did not heal (left for a person)",
    labelNames: ['provider'],
    collect: async () => (await store.openDiscrepanciesByProvider()).map((row) => ({ labels: { provider: row.provider }, value: row.open })),
  });
  try {
    const outcome = await reconciliation.ensureSchedule({ hour: config.reconciliation.scheduleHour, providers });
    deps.logger.info({ schedule: outcome, hour: config.reconciliation.scheduleHour ?? 'off', providers }, 'reconciliation schedule');
  } catch (err) {
    // The API serves without it; the next start tries again.
    deps.logger.error({ err: (err as Error).message }, 'could not create or update the reconciliation schedule');
  }
  return { reconciliation };
}
