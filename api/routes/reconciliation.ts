// Transaction reconciliation over HTTP: start a run for a provider and period, follow it while it
// runs, read its report as JSON or CSV, and heal or ignore one discrepancy of it.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../schemas';
import {
  createReconciliationClient,
  DiscrepancyActionError,
  HealUnavailableError,
  ReconciliationNotFoundError,
  ReconciliationRequestError,
  type ReconciliationClient,
} from '../../client/reconciliation';
import { createReconciliationStore } from '../../store/reconciliation';
import type { ReconciliationRunView } from '../../store/reconciliation-runs';
import { enabledPaymentProviders, type Config } from '../../config';
import type { Database } from '../../db/client';
import type { Logger } from '../../observability/logger';
import type { Metrics } from '../../observability/metrics';
import { PROVIDERS } from '../../domain/payments';
import { DISCREPANCY_KINDS, DISCREPANCY_RESOLUTIONS } from '../../domain/reconciliation';
import { principalOf } from '../auth/access';
import { createProviderRegistry } from '../../providers/registry';
import type { ProviderResilience } from '../../providers/resilience';
import { createPaymentsClient } from '../../client/payments';

export interface ReconciliationRoutesDeps {
  reconciliation: ReconciliationClient;
}

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

// Loose objects: a run and a discrepancy gain fields as reconciliation learns more (ignored, open…),
// and the serializer passes what is not listed here instead of dropping it.
const RunView = z.looseObject({
  id: z.string().describe('reconciliation-<provider>-<YYYY-MM-DD>'),
  workflowId: z.string(),
  provider: z.string(),
  from: z.string(),
  to: z.string(),
  trigger: z.string(),
  status: z.enum(['running', 'completed', 'failed']),
  phase: z.string(),
  counts: z.looseObject({
    pages: z.number(),
    transactions: z.number(),
    ledgerPayments: z.number(),
    matched: z.number(),
    discrepancies: z.number(),
    byKind: z.record(z.string(), z.number()),
    healable: z.number(),
    healSignalled: z.number(),
    healed: z.number(),
  }),
  error: z.string().nullable(),
  startedAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});

/**
 * The client's run counts are an interface, which TypeScript does not match to the open object
 * above (an interface has no index signature); the same value as a plain object type does.
 */
const plain = <T extends object>(value: T): { [K in keyof T]: T[K] } => ({ ...value });
const openRun = (run: ReconciliationRunView) => ({ ...run, counts: plain(run.counts) });

/** One discrepancy as the report shows it, and as a person's heal or ignore answers it. */
const Discrepancy = z.object({
  id: z.number(),
  kind: z.enum(DISCREPANCY_KINDS),
  paymentId: z.string().nullable(),
  transactionId: z.string().nullable(),
  reservationId: z.string().nullable(),
  providerReference: z.string().nullable(),
  ledgerStatus: z.string().nullable(),
  providerStatus: z.string().nullable(),
  ledgerAmount: z.number().nullable(),
  providerAmount: z.number().nullable(),
  currency: z.string().nullable(),
  explanation: z.string(),
  healable: z.boolean(),
  healed: z.boolean(),
  healResult: z.string().nullable(),
  resolution: z.enum(DISCREPANCY_RESOLUTIONS).describe('healed, healing, ignored or for_a_person'),
  resolvedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  resolutionNote: z.string().nullable(),
  evidence: z.unknown().describe('What each side showed: the provider transaction, the ledger row, the booking'),
});

const ReportView = z.object({
  run: RunView,
  summary: z.looseObject({ discrepancies: z.number(), byKind: z.record(z.string(), z.number()), healed: z.number(), healing: z.number(), forAPerson: z.number() }),
  discrepancies: z.array(Discrepancy),
});
const RunParams = z.object({ id: z.string().min(1).max(100).describe('The run id, reconciliation-<provider>-<YYYY-MM-DD>') });

const DiscrepancyParams = RunParams.extend({ discrepancyId: z.coerce.number().int().positive().describe("The discrepancy's id in the run's report") });
const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(255).optional().describe('Required (the access check answers 400 without it): a retry with the same key gets the first answer') });

const Refusal = ErrorBody.extend({ reason: z.string().optional().describe('not_healable, healed, ignored, healing or run_in_progress') });

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
    if (error instanceof DiscrepancyActionError) return reply.code(409).send({ error: 'conflict', reason: error.reason, message: error.message });
    if (error instanceof HealUnavailableError) return reply.code(503).send({ error: 'unavailable', message: error.message });
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
        response: {
          202: z.object({ id: z.string(), started: z.boolean().describe('false: a run of the same period was still going, and is returned'), run: RunView.nullable() }),
          400: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { provider, from, to, checkBookings, heal, pageSize } = request.body;
      const { id, started } = await reconciliation.start({ provider, from, to, options: { checkBookings, heal, pageSize } });
      const run = await reconciliation.get(id).catch(() => undefined);
      return reply
        .code(202)
        .header('location', `/reconciliations/${id}`)
        .send({ id, started, run: run ? openRun(run) : null });
    },
  );

  api.get(
    '/reconciliations',
    {
      schema: {
        summary: 'Recent reconciliation runs, newest period first',
        tags: ['reconciliation'],
        querystring: z.object({ provider: z.enum(PROVIDERS).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: { 200: z.object({ runs: z.array(RunView) }), 400: ErrorBody },
      },
    },
    async (request) => ({ runs: (await reconciliation.list({ provider: request.query.provider, limit: request.query.limit })).map(openRun) }),
  );

  api.get(
    '/reconciliations/:id',
    {
      schema: {
        summary: 'A run: status, phase and counts (live while it runs)',
        tags: ['reconciliation'],
        params: RunParams,
        response: { 200: RunView, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => openRun(await reconciliation.get(request.params.id)),
  );

  api.get(
    '/reconciliations/:id/report',
    {
      schema: {
        summary: "A run's report: every discrepancy with its evidence, and whether it healed or is left for a person",
        tags: ['reconciliation'],
        params: RunParams,
        querystring: z.object({ format: z.enum(['json', 'csv']).default('json'), kind: z.enum(DISCREPANCY_KINDS).optional() }),
        // format=csv answers text/csv instead, one line per discrepancy.
        response: { 200: ReportView, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { format, kind } = request.query;
      if (format === 'csv') {
        const csv = await reconciliation.reportCsv(request.params.id, { kind });
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${request.params.id}.csv"`)
          // A string goes out as it is, past the serializer; the 200 schema describes the JSON form.
          .send(csv as never);
      }
      const report = await reconciliation.report(request.params.id, { kind });
      return { ...report, run: openRun(report.run), discrepancies: report.discrepancies.map(plain) };
    },
  );

  // Who acted, as the audit trail records it: the key's name and id (never the key).
  const actor = (request: Parameters<typeof principalOf>[0]) => {
    const key = principalOf(request);
    return key ? `${key.name} (${key.id})` : 'unknown';
  };

  api.post(
    '/reconciliations/:id/discrepancies/:discrepancyId/heal',
    {
      schema: {
        summary: 'Heal one discrepancy now: read the payment at its provider and tell its workflow, as a run heals',
        description:
          'Only for a healable discrepancy (a lost webhook the provider explains) of a finished run, not healed, ignored or being healed (else 409 with the reason). ' +
          "Answers the discrepancy: healed when the ledger agreed within a few seconds, healing while the workflow records it, for_a_person when the provider did not confirm (healResult says why).",
        tags: ['reconciliation'],
        params: DiscrepancyParams,
        headers: IdempotencyHeaders,
        body: z.strictObject({}),
        response: { 200: Discrepancy, 404: ErrorBody, 409: Refusal, 503: ErrorBody },
      },
    },
    async (request) => reconciliation.healDiscrepancy(request.params.id, request.params.discrepancyId, actor(request)),
  );

  api.post(
    '/reconciliations/:id/discrepancies/:discrepancyId/ignore',
    {
      schema: {
        summary: 'Leave one discrepancy as it is, on purpose: records who, when and why, and takes it out of the open counts',
        description: 'Refused (409 with the reason) when it is healed, already ignored, being healed, or its run is still going.',
        tags: ['reconciliation'],
        params: DiscrepancyParams,
        headers: IdempotencyHeaders,
        body: z.strictObject({ reason: z.string().trim().min(3).max(500).describe('Why it is left as it is: kept with the decision') }),
        response: { 200: Discrepancy, 404: ErrorBody, 409: Refusal },
      },
    },
    async (request) => reconciliation.ignoreDiscrepancy(request.params.id, request.params.discrepancyId, { by: actor(request), reason: request.body.reason }),
  );
}

/**
 * The API process's reconciliation: the client its routes use, the nightly Schedule brought in line
 * with the configuration (idempotent, at every start), and the discrepancy gauge for Prometheus.
 */
export async function setupReconciliation(
  config: Config,
  deps: { temporal: Client; db: Database; metrics: Metrics; logger: Logger; resilience?: ProviderResilience },
): Promise<ReconciliationRoutesDeps> {
  const store = createReconciliationStore(deps.db);
  // A person's heal reads the provider from this process, through the same gates the workers use.
  const heal = {
    providers: createProviderRegistry(config, { resilience: deps.resilience }),
    payments: createPaymentsClient({ temporal: deps.temporal, taskQueue: config.temporal.taskQueue, timing: config.payments, lateSuccessPolicy: config.lateSuccessPolicy }),
  };
  // Swish lists nothing itself: it is reconciled only against a configured bank settlement report.
  const providers = enabledPaymentProviders(config).filter((provider) => provider !== 'swish' || Boolean(config.swish.settlementReportUrl));
  const reconciliation = createReconciliationClient({ temporal: deps.temporal, store, taskQueue: config.temporal.taskQueue, enabledProviders: providers, heal });
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
