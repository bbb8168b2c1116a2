// The Airbnb sandbox over HTTP (registered under `/airbnb`): OAuth (`/oauth2/authorize` consents at
// once as the host, `/oauth2/auth_token`), the `/v2` calendar and reservation API for connected
// hosts, and `/_control/*` routes acting as guests (book, alter, cancel — each sends a signed
// webhook) and showing what Airbnb currently displays. Faults apply to `/v2` and the token endpoint.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import qs from 'qs';
import { z } from 'zod';
import { parseControlBody, registerSandboxControls, useLenientJsonParser } from '../shared/control';
import { installProviderFailures } from '../shared/errors';
import { isIsoDate } from '../shared/dates';
import { AirbnbError, type AirbnbSandbox } from './sandbox';
import { airbnbIcalRoutes } from './ical-routes';

export interface AirbnbPluginOptions {
  sandbox: AirbnbSandbox;
}

const IsoDate = z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD');
const BookBody = z.strictObject({
  listingId: z.string().min(1),
  checkIn: IsoDate,
  checkOut: IsoDate,
  units: z.number().int().min(1).max(20).optional(),
  guestName: z.string().min(1).max(200).optional(),
  /** Book even when the listing shows nothing to sell (a stale channel). */
  force: z.boolean().optional(),
});
const AlterBody = z.strictObject({ checkIn: IsoDate.optional(), checkOut: IsoDate.optional(), units: z.number().int().min(1).max(20).optional(), force: z.boolean().optional() });
const CalendarBody = z.object({
  operations: z
    .array(
      z.object({
        dates: z.array(z.string()).min(1),
        availability: z.enum(['available', 'unavailable']).optional(),
        available_count: z.number().int().min(0).optional(),
        daily_price: z.number().min(0).optional(),
        currency: z.string().length(3).optional(),
        min_nights: z.number().int().min(1).optional(),
        closed_to_arrival: z.boolean().optional(),
      }),
    )
    .min(1)
    .max(500),
});
const AvailabilityBody = z.strictObject({ from: IsoDate, to: IsoDate, availableCount: z.number().int().min(0) });

export async function airbnbPlugin(app: FastifyInstance, options: AirbnbPluginOptions): Promise<void> {
  const { sandbox } = options;
  const isApi = (request: FastifyRequest) => request.url.startsWith(`${app.prefix}/v2/`) || request.url.startsWith(`${app.prefix}/oauth2/auth_token`);
  const error = (reply: FastifyReply, status: number, code: string, message: string) => reply.code(status).send({ error: code, error_description: message });

  useLenientJsonParser(app);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, qs.parse(body as string)));

  // Airbnb's `{ error, error_description }` on every route, the control routes included.
  installProviderFailures(app, {
    provider: 'airbnb',
    isApi: () => true,
    faults: sandbox.faults,
    faultsApplyTo: isApi,
    injectedError: (_request, reply) => error(reply, 500, 'internal_error', 'Something went wrong on our end'),
    rateLimited: (_request, reply) => error(reply, 429, 'rate_limited', 'Too many requests'),
    own: (err, _request, reply) => (err instanceof AirbnbError ? error(reply, err.statusCode, err.code, err.message) : undefined),
    malformed: (_request, reply, status, message) => error(reply, status, 'invalid_request', message),
    failed: (_request, reply, err) => error(reply, 500, 'internal_error', err instanceof Error ? err.message : String(err)),
  });

  // ─── OAuth ─────────────────────────────────────────────────────────────────────────────────────
  app.get<{ Querystring: Record<string, string | undefined> }>('/oauth2/authorize', async (request, reply) => {
    const { client_id: clientId = '', redirect_uri: redirectUri, state = '', host_id: hostId } = request.query;
    if (!redirectUri) return error(reply, 400, 'invalid_request', 'redirect_uri is required');
    // The sandbox host consents at once (a real host logs in and clicks "Allow").
    const { code } = sandbox.authorize({ clientId, redirectUri, hostId });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    target.searchParams.set('state', state);
    return reply.redirect(target.toString(), 302);
  });

  app.post('/oauth2/auth_token', async (request) => sandbox.token((request.body ?? {}) as Record<string, unknown>));

  // ─── API ───────────────────────────────────────────────────────────────────────────────────────
  app.put<{ Params: { listingId: string } }>('/v2/calendars/:listingId', async (request, reply) => {
    const hostId = sandbox.hostFor(request.headers.authorization);
    const body = CalendarBody.safeParse(request.body);
    if (!body.success) return error(reply, 400, 'invalid_request', body.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    sandbox.updateCalendar(hostId, request.params.listingId, body.data.operations);
    return { listing_id: request.params.listingId, operations: body.data.operations.length };
  });

  app.get<{ Params: { listingId: string }; Querystring: Record<string, string | undefined> }>('/v2/calendars/:listingId', async (request, reply) => {
    const hostId = sandbox.hostFor(request.headers.authorization);
    const { start_date: from, end_date: to } = request.query;
    if (!from || !to || !isIsoDate(from) || !isIsoDate(to)) return error(reply, 400, 'invalid_request', 'start_date and end_date are required');
    return { listing_id: request.params.listingId, days: sandbox.calendar(request.params.listingId, from, to, hostId) };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v2/reservations', async (request, reply) => {
    const hostId = sandbox.hostFor(request.headers.authorization);
    if (request.query.host_id && request.query.host_id !== hostId) return error(reply, 403, 'forbidden', 'host_id is not the token host');
    const offset = Number(request.query._offset ?? 0);
    const limit = Math.min(100, Math.max(1, Number(request.query._limit ?? 50)));
    const all = sandbox.reservations(hostId, request.query.end_date_from);
    return { reservations: all.slice(offset, offset + limit), next_offset: offset + limit < all.length ? offset + limit : undefined };
  });

  app.post<{ Params: { code: string }; Body: { reason?: string; message?: string } }>('/v2/reservations/:code/cancel', async (request, reply) => {
    const hostId = sandbox.hostFor(request.headers.authorization);
    const reservation = sandbox.reservation(request.params.code);
    if (reservation.host_id !== hostId) return error(reply, 403, 'forbidden', 'not this host’s reservation');
    return sandbox.cancel(request.params.code, 'host', [request.body?.reason, request.body?.message].filter(Boolean).join(': '));
  });

  // ─── Controls ──────────────────────────────────────────────────────────────────────────────────
  registerSandboxControls(app, { faults: sandbox.faults, webhooks: sandbox.webhooks });
  app.post('/_control/reservations', async (request, reply) => {
    const input = parseControlBody(BookBody, request, reply);
    if (!input) return reply;
    return reply.code(201).send(sandbox.book(input));
  });
  app.get('/_control/reservations', async () => ({ reservations: sandbox.reservations() }));
  app.get<{ Params: { code: string } }>('/_control/reservations/:code', async (request) => sandbox.reservation(request.params.code));
  app.post<{ Params: { code: string } }>('/_control/reservations/:code/alter', async (request, reply) => {
    const input = parseControlBody(AlterBody, request, reply);
    if (!input) return reply;
    return sandbox.alter(request.params.code, input);
  });
  app.post<{ Params: { code: string } }>('/_control/reservations/:code/cancel', async (request) => sandbox.cancel(request.params.code, 'guest'));
  app.get<{ Params: { listingId: string }; Querystring: Record<string, string | undefined> }>('/_control/calendar/:listingId', async (request, reply) => {
    const { from, to } = request.query;
    if (!from || !to || !isIsoDate(from) || !isIsoDate(to)) return reply.code(400).send({ error: 'from and to (YYYY-MM-DD) are required' });
    return { listingId: request.params.listingId, days: sandbox.calendar(request.params.listingId, from, to) };
  });
  app.post<{ Params: { listingId: string } }>('/_control/calendar/:listingId', async (request, reply) => {
    const input = parseControlBody(AvailabilityBody, request, reply);
    if (!input) return reply;
    sandbox.setAvailability(request.params.listingId, input.from, input.to, input.availableCount);
    return { ok: true };
  });
  app.post<{ Body: { hostId?: string } }>('/_control/tokens/expire', async (request) => ({ expired: sandbox.expireAccessTokens(request.body?.hostId) }));
  app.get('/_control/oauth', async () => ({ counts: sandbox.counts }));
  // Calendar sync by iCal (export feed, imported calendars), for hosts without API access.
  airbnbIcalRoutes(app, sandbox);
}
