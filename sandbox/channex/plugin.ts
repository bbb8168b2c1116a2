// The Channex sandbox over HTTP (registered under `/channex`): the `/api/v1` routes a PMS uses
// (ARI push and read, the booking revisions feed and its acknowledgement, bookings, webhooks), every
// one behind the `user-api-key` header, and `/_control/*` routes standing in for the Channex UI and
// the OTAs: create a property, make a guest's booking (new, modify, cancel), send an event webhook,
// read the request log and the revisions with their acknowledgement.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseControlBody, registerSandboxControls, useLenientJsonParser } from '../shared/control';
import { installProviderFailures } from '../shared/errors';
import { isIsoDate } from '../shared/dates';
import { NOT_FOUND, RESTRICTION_FIELDS, TOO_MANY_REQUESTS, WEBHOOK_EVENTS, type AvailabilityValue, type RestrictionValue, type Webhook } from './api';
import { ChannexError, type AriKind, type ChannexSandbox } from './sandbox';

export interface ChannexPluginOptions {
  sandbox: ChannexSandbox;
}

const IsoDate = z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD');
const PropertyBody = z.strictObject({
  title: z.string().min(1).max(200),
  currency: z.string().length(3).default('SEK'),
  roomTypes: z.array(z.strictObject({ title: z.string().min(1).max(200), count: z.number().int().min(1).max(1000) })).min(1).max(50),
});
const BookingBody = z.strictObject({
  ratePlanId: z.string().min(1),
  arrivalDate: IsoDate,
  departureDate: IsoDate,
  otaName: z.string().min(1).max(50).optional(),
  guestName: z.string().min(1).max(200).optional(),
  /** The OTA sells even though Channex shows the nights unavailable (a push that had not arrived yet). */
  force: z.boolean().optional(),
});
const ModifyBody = z.strictObject({ arrivalDate: IsoDate.optional(), departureDate: IsoDate.optional(), force: z.boolean().optional() });
const EventBody = z.strictObject({ propertyId: z.string().min(1), event: z.enum(WEBHOOK_EVENTS), payload: z.record(z.string(), z.unknown()).default({}) });
const WindowBody = z.strictObject({ seconds: z.number().int().min(1).max(3600) });
const FaultScopeBody = z.strictObject({ pattern: z.string().min(1).max(200).nullable() });

const filterOf = (query: Record<string, unknown>, path: string[]): string | undefined => {
  // Fastify's default query parser keeps `filter[date][gte]` as one flat key.
  const flat = query[`filter[${path.join('][')}]`];
  return typeof flat === 'string' ? flat : undefined;
};

export async function channexPlugin(app: FastifyInstance, options: ChannexPluginOptions): Promise<void> {
  const { sandbox } = options;
  const isApi = (request: FastifyRequest) => request.url.startsWith(`${app.prefix}/api/v1/`);
  const errorBody = (status: number, code: string, title: string, details?: unknown) => ({ status, body: { errors: { code, title, ...(details === undefined ? {} : { details }) } } });
  const send = (reply: FastifyReply, answer: { status: number; body: unknown }) => reply.code(answer.status).send(answer.body);

  useLenientJsonParser(app);
  installProviderFailures(app, {
    provider: 'channex',
    isApi,
    faults: sandbox.faults,
    faultsApplyTo: (request) => isApi(request) && (!sandbox.faultScope || sandbox.faultScope.test(request.url)),
    injectedError: (_request, reply) => send(reply, errorBody(500, 'internal_server_error', 'Internal Server Error')),
    rateLimited: (_request, reply) => reply.code(429).send(TOO_MANY_REQUESTS),
    own: (err, _request, reply) => (err instanceof ChannexError ? reply.code(err.statusCode).send(err.body) : undefined),
    malformed: (_request, reply, status, message) => send(reply, errorBody(status, 'bad_request', 'Bad Request', message)),
    failed: (_request, reply, err) => send(reply, errorBody(500, 'internal_server_error', 'Internal Server Error', err instanceof Error ? err.message : String(err))),
    unknownRoute: (_request, reply) => reply.code(404).send(NOT_FOUND),
  });

  // Every API request needs the key; a refused one is logged too (Channex counts what reaches it).
  app.addHook('onRequest', async (request) => {
    if (!isApi(request)) return;
    try {
      sandbox.authenticate(request.headers['user-api-key']);
    } catch (err) {
      sandbox.log({ method: request.method, path: request.url.split('?')[0]!.slice(app.prefix.length), propertyIds: [], status: 401 });
      throw err;
    }
  });

  const ari = (kind: AriKind) => async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!.slice(app.prefix.length);
    const values = (request.body as { values?: unknown } | undefined)?.values;
    if (!Array.isArray(values) || values.length === 0) {
      sandbox.log({ method: 'POST', path, kind, propertyIds: [], status: 422 });
      return send(reply, errorBody(422, 'validation_error', 'Validation Error', { values: ['must be a non-empty array'] }));
    }
    const propertyIds = [...new Set(values.map((value) => String((value as { property_id?: unknown }).property_id ?? '')))];
    const targetField = kind === 'availability' ? 'room_type_id' : 'rate_plan_id';
    const targets = [...new Set(values.map((value) => String((value as Record<string, unknown>)[targetField] ?? '')))];
    try {
      sandbox.admit(kind, propertyIds);
    } catch (err) {
      sandbox.log({ method: 'POST', path, kind, propertyIds, status: 429, values: values.length, targets });
      throw err;
    }
    const { warnings } =
      kind === 'availability' ? sandbox.updateAvailability(values as AvailabilityValue[]) : sandbox.updateRestrictions(values as RestrictionValue[]);
    sandbox.log({ method: 'POST', path, kind, propertyIds, status: 200, values: values.length, targets });
    const applied = values.length - warnings.length;
    // Changes are applied in the background at Channex: one task per property (none when every change was refused).
    return { data: applied > 0 ? propertyIds.map((id) => ({ type: 'task', id: `task-${id}-${Date.now()}` })) : [], meta: { message: 'Success', warnings } };
  };

  app.post('/api/v1/availability', ari('availability'));
  app.post('/api/v1/restrictions', ari('restrictions'));

  const readRange = (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as Record<string, unknown>;
    const propertyId = filterOf(query, ['property_id']);
    const from = filterOf(query, ['date', 'gte']);
    const to = filterOf(query, ['date', 'lte']);
    if (!propertyId || !from || !to || !isIsoDate(from) || !isIsoDate(to)) {
      send(reply, errorBody(422, 'validation_error', 'Validation Error', 'filter[property_id], filter[date][gte] and filter[date][lte] are required'));
      return undefined;
    }
    return { propertyId, from, to };
  };
  app.get('/api/v1/availability', async (request, reply) => {
    const range = readRange(request, reply);
    return range ? { data: sandbox.availability(range.propertyId, range.from, range.to) } : reply;
  });
  // Values the page lists as readable that this sandbox does not keep (asked for, they are left out).
  const READ_ONLY_RESTRICTIONS = ['availability', 'min_stay', 'availability_offset', 'max_sell', 'max_availability'];
  // Channex answers only the restrictions asked for, and asks for them ("restrictions is required").
  app.get('/api/v1/restrictions', async (request, reply) => {
    const asked = filterOf(request.query as Record<string, unknown>, ['restrictions']);
    if (!asked) return send(reply, errorBody(400, 'bad_request', 'Bad Request', ['restrictions is required']));
    const fields = asked.split(',').map((field) => field.trim());
    const unknown = fields.filter((field) => !(RESTRICTION_FIELDS as readonly string[]).includes(field) && !READ_ONLY_RESTRICTIONS.includes(field));
    if (unknown.length > 0) return send(reply, errorBody(400, 'bad_request', 'Bad Request', [`unknown restrictions: ${unknown.join(', ')}`]));
    const range = readRange(request, reply);
    if (!range) return reply;
    const data: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [ratePlanId, days] of Object.entries(sandbox.restrictions(range.propertyId, range.from, range.to))) {
      data[ratePlanId] = Object.fromEntries(
        Object.entries(days).map(([date, state]) => [date, Object.fromEntries(fields.filter((field) => field in state).map((field) => [field, state[field as keyof typeof state]]))]),
      );
    }
    return { data };
  });

  const page = (request: FastifyRequest) => {
    const query = request.query as Record<string, unknown>;
    const number = Math.max(1, Number(query['pagination[page]'] ?? 1) || 1);
    const limit = Math.min(100, Math.max(1, Number(query['pagination[limit]'] ?? 10) || 10));
    return { number, limit };
  };

  app.get('/api/v1/booking_revisions/feed', async (request) => {
    const revisions = sandbox.feed(filterOf(request.query as Record<string, unknown>, ['property_id']));
    const { number, limit } = page(request);
    sandbox.log({ method: 'GET', path: '/api/v1/booking_revisions/feed', propertyIds: [], status: 200, values: revisions.length });
    return {
      data: revisions.slice((number - 1) * limit, number * limit).map((revision) => ({ type: 'booking_revision', id: revision.id, attributes: revision })),
      meta: { page: number, limit, total: revisions.length },
    };
  });

  app.post<{ Params: { id: string } }>('/api/v1/booking_revisions/:id/ack', async (request) => {
    sandbox.ack(request.params.id);
    sandbox.log({ method: 'POST', path: '/api/v1/booking_revisions/:id/ack', propertyIds: [], status: 200 });
    return { meta: { message: 'Success' } };
  });

  app.get('/api/v1/bookings', async (request) => {
    const bookings = sandbox.bookings(filterOf(request.query as Record<string, unknown>, ['property_id']));
    const { number, limit } = page(request);
    return {
      data: bookings.slice((number - 1) * limit, number * limit).map((revision) => ({ type: 'booking', id: revision.booking_id, attributes: { ...revision, id: revision.booking_id, revision_id: revision.id } })),
      meta: { page: number, limit, total: bookings.length },
    };
  });

  app.post('/api/v1/webhooks', async (request, reply) => {
    const webhook = (request.body as { webhook?: Partial<Webhook> } | undefined)?.webhook;
    if (!webhook) return send(reply, errorBody(422, 'validation_error', 'Validation Error', { webhook: ['is required'] }));
    const created = sandbox.createWebhook(webhook);
    return reply.code(201).send({ data: { type: 'webhook', id: created.id, attributes: created } });
  });
  app.get('/api/v1/webhooks', async () => ({ data: sandbox.listWebhooks().map((webhook) => ({ type: 'webhook', id: webhook.id, attributes: webhook })) }));

  // ─── Controls ──────────────────────────────────────────────────────────────────────────────────
  registerSandboxControls(app, { faults: sandbox.faults, webhooks: sandbox.webhooks });
  app.post('/_control/properties', async (request, reply) => {
    const input = parseControlBody(PropertyBody, request, reply);
    if (!input) return reply;
    return reply.code(201).send(sandbox.createProperty(input));
  });
  app.post('/_control/bookings', async (request, reply) => {
    const input = parseControlBody(BookingBody, request, reply);
    if (!input) return reply;
    return reply.code(201).send(sandbox.guestBooking(input));
  });
  app.post<{ Params: { id: string } }>('/_control/bookings/:id/modify', async (request, reply) => {
    const input = parseControlBody(ModifyBody, request, reply);
    if (!input) return reply;
    return sandbox.modifyBooking(request.params.id, input);
  });
  app.post<{ Params: { id: string } }>('/_control/bookings/:id/cancel', async (request) => sandbox.cancelBooking(request.params.id));
  app.post('/_control/events', async (request, reply) => {
    const input = parseControlBody(EventBody, request, reply);
    if (!input) return reply;
    return { sent: sandbox.notify(input.propertyId, [input.event], { property_id: input.propertyId, ...input.payload }) };
  });
  app.get<{ Querystring: { since?: string } }>('/_control/requests', async (request) => ({
    windowSeconds: sandbox.rateWindowSeconds,
    requests: sandbox.requestLog(Number(request.query.since ?? 0) || 0),
  }));
  app.post('/_control/rate-window', async (request, reply) => {
    const input = parseControlBody(WindowBody, request, reply);
    if (!input) return reply;
    sandbox.rateWindowSeconds = input.seconds;
    return { windowSeconds: sandbox.rateWindowSeconds };
  });
  app.post('/_control/fault-scope', async (request, reply) => {
    const input = parseControlBody(FaultScopeBody, request, reply);
    if (!input) return reply;
    sandbox.faultScope = input.pattern === null ? undefined : new RegExp(input.pattern);
    return { pattern: input.pattern };
  });
  app.get('/_control/revisions', async () => ({ revisions: sandbox.revisions() }));
  app.get<{ Params: { propertyId: string }; Querystring: { from?: string; to?: string } }>('/_control/ari/:propertyId', async (request, reply) => {
    const { from, to } = request.query;
    if (!from || !to || !isIsoDate(from) || !isIsoDate(to)) return reply.code(400).send({ error: 'from and to (YYYY-MM-DD) are required' });
    return {
      availability: sandbox.availability(request.params.propertyId, from, to),
      restrictions: sandbox.restrictions(request.params.propertyId, from, to),
    };
  });
}
