// The payment ledger read by people and scripts: GET /payments (filtered, cursor-paged), a payment's
// timeline of observations, and the overview's totals. `skerry payments list` and the console use
// these as any other client does.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PAYMENT_STATUSES, PROVIDERS } from '../../domain/payments';
import type { PaymentList, PaymentListRow } from '../../store/payment-list';
import { ErrorBody } from '../schemas';

export interface PaymentListRoutesDeps {
  list: PaymentList;
}

const Instant = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date or date-time (ISO 8601)')
  .transform((value) => new Date(value));

const ListQuery = z.object({
  provider: z.enum(PROVIDERS).optional(),
  status: z.enum(PAYMENT_STATUSES).optional(),
  reference: z.string().min(1).max(200).optional(),
  from: Instant.optional().describe('Created at or after (ISO 8601)'),
  to: Instant.optional().describe('Created before (ISO 8601)'),
  q: z.string().min(1).max(200).optional().describe('A payment id, provider reference, reference or booking id'),
  cursor: z.string().max(500).optional().describe('nextCursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const PaymentSummary = z.object({
  paymentId: z.string(),
  workflowId: z.string(),
  provider: z.enum(PROVIDERS),
  status: z.enum(PAYMENT_STATUSES),
  reference: z.string(),
  providerReference: z.string().nullable(),
  captureMethod: z.string(),
  amount: z.object({ value: z.number(), currency: z.string() }),
  amountCaptured: z.number(),
  amountRefunded: z.number(),
  failureReason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const TimelineEntry = z.object({
  eventId: z.string(),
  kind: z.enum(['webhook', 'poll', 'command', 'other']).describe('How the observation reached the workflow'),
  source: z.string(),
  providerEventType: z.string(),
  statusBefore: z.string(),
  statusAfter: z.string(),
  applied: z.boolean(),
  occurredAt: z.string(),
});

function summary(row: PaymentListRow): z.input<typeof PaymentSummary> {
  return {
    paymentId: row.id,
    workflowId: row.workflowId,
    provider: row.provider as (typeof PROVIDERS)[number],
    status: row.status as (typeof PAYMENT_STATUSES)[number],
    reference: row.reference,
    providerReference: row.providerReference,
    captureMethod: row.captureMethod,
    amount: { value: row.amount, currency: row.currency },
    amountCaptured: row.amountCaptured,
    amountRefunded: row.amountRefunded,
    failureReason: row.failureReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Rows written before the source was one of the three read as `other` rather than failing the page. */
function observationKind(source: string): 'webhook' | 'poll' | 'command' | 'other' {
  return source === 'webhook' || source === 'poll' || source === 'command' ? source : 'other';
}

export async function paymentListRoutes(app: FastifyInstance, deps: PaymentListRoutesDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/payments',
    {
      schema: {
        summary: 'List payments, newest first (filtered, cursor-paged)',
        tags: ['payments'],
        querystring: ListQuery,
        response: { 200: z.object({ items: z.array(PaymentSummary), nextCursor: z.string().nullable() }), 400: ErrorBody },
      },
    },
    async (request) => {
      const { q, ...filter } = request.query;
      const page = await deps.list.list({ ...filter, search: q });
      return { items: page.items.map(summary), nextCursor: page.nextCursor };
    },
  );

  api.get(
    '/payments/:id/timeline',
    {
      schema: {
        summary: "A payment's recorded observations (webhook, poll, command), applied or ignored, oldest first",
        tags: ['payments'],
        params: z.object({ id: z.string().regex(/^pay_[a-z0-9]{6,40}$/, 'must be a Skerry payment id (pay_…)') }),
        response: { 200: z.object({ items: z.array(TimelineEntry) }) },
      },
    },
    async (request) => ({
      items: (await deps.list.timeline(request.params.id)).map((event) => ({
        eventId: event.eventId,
        kind: observationKind(event.source),
        source: event.source,
        providerEventType: event.providerEventType,
        statusBefore: event.statusBefore,
        statusAfter: event.statusAfter,
        applied: event.applied === 1,
        occurredAt: event.occurredAt.toISOString(),
      })),
    }),
  );

  api.get(
    '/payments/summary',
    {
      schema: {
        summary: 'Payments created in a window: counts by provider and status, money captured and refunded per currency, payments per hour',
        tags: ['payments'],
        querystring: z.object({ from: Instant, to: Instant.optional() }),
        response: {
          200: z.object({
            byStatus: z.array(z.object({ provider: z.string(), status: z.string(), count: z.number() })),
            money: z.array(z.object({ currency: z.string(), captured: z.number(), refunded: z.number() })),
            perHour: z.array(z.object({ hour: z.string(), count: z.number() })),
          }),
          400: ErrorBody,
        },
      },
    },
    async (request) => deps.list.summary(request.query.from, request.query.to ?? new Date()),
  );
}
