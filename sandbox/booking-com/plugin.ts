// The Booking.com sandbox over HTTP (registered under `/booking-com`): the OTA XML endpoints a
// connectivity provider calls with its machine account, the B.XML read side, and `/_control/*`
// routes acting as guests (book, modify, cancel) and showing what the channel currently displays.
// Faults apply to the provider endpoints only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseControlBody, registerFaultRoutes, useLenientJsonParser } from '../shared/control';
import { installFaultHooks } from '../shared/faults';
import { isIsoDate } from '../../workflows/bookings/dates';
import {
  buildReservationQueue,
  buildResponse,
  OTA_ERROR,
  OtaParseError,
  parseAvailNotif,
  parseRateAmountNotif,
  parseReservationAck,
  type OtaError,
  type OtaHeader,
} from '../../providers/booking-com/ota';
import { buildReservationsSummary, buildRoomRateAvailability } from '../../providers/booking-com/bxml';
import { SandboxConflict, type BookingComSandbox } from './sandbox';

export interface BookingComPluginOptions {
  sandbox: BookingComSandbox;
}

const IsoDate = z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD');
const BookBody = z.strictObject({
  hotelId: z.string().min(1),
  roomId: z.string().min(1),
  rateId: z.string().min(1).optional(),
  checkIn: IsoDate,
  checkOut: IsoDate,
  rooms: z.number().int().min(1).max(20).optional(),
  guestName: z.string().min(1).max(200).optional(),
  total: z.strictObject({ amount: z.number().int().min(0), currency: z.string().length(3) }).optional(),
  /** Book even when the sandbox shows no rooms (a channel that oversold). */
  force: z.boolean().optional(),
});
const ModifyBody = z.strictObject({ checkIn: IsoDate.optional(), checkOut: IsoDate.optional(), rooms: z.number().int().min(1).max(20).optional(), force: z.boolean().optional() });
const RoomsToSellBody = z.strictObject({ from: IsoDate, to: IsoDate, roomsToSell: z.number().int().min(0) });

export async function bookingComPlugin(app: FastifyInstance, options: BookingComPluginOptions): Promise<void> {
  const { sandbox } = options;
  const apiPrefix = `${app.prefix}/hotels/`;
  const isApi = (request: FastifyRequest) => request.url.startsWith(apiPrefix);
  const header = (): OtaHeader => ({ echoToken: `bdc-${Date.now()}`, timeStamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
  const xml = (reply: FastifyReply, status: number, body: string) => reply.code(status).header('content-type', 'text/xml; charset=utf-8').send(body);
  const otaError = (reply: FastifyReply, status: number, root: string, error: OtaError, echoToken?: string) =>
    xml(reply, status, buildResponse(root, { ...header(), ...(echoToken ? { echoToken } : {}) }, { errors: [error] }));

  app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  useLenientJsonParser(app);

  app.addHook('onRequest', async (request, reply) => {
    if (!isApi(request)) return;
    if (!sandbox.authenticates(request.headers.authorization)) {
      sandbox.counts.authFailures += 1;
      return otaError(reply.header('www-authenticate', 'Basic realm="Booking.com"'), 401, 'OTA_ErrorRS', { type: '4', code: OTA_ERROR.authentication, text: 'Authorization failed: unknown machine account or wrong password' });
    }
  });

  installFaultHooks(app, {
    injector: sandbox.faults,
    appliesTo: isApi,
    serverError: (_request, reply) => otaError(reply, 500, 'OTA_ErrorRS', { type: '12', code: OTA_ERROR.systemError, text: 'Internal error, please retry' }),
    rateLimited: (_request, reply) => otaError(reply, 429, 'OTA_ErrorRS', { type: '12', code: OTA_ERROR.systemError, text: 'Too many requests for this property, slow down' }),
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof SandboxConflict) return reply.code(error.statusCode).send({ error: error.message });
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (isApi(request)) return otaError(reply, status, 'OTA_ErrorRS', { type: status >= 500 ? '12' : '3', code: OTA_ERROR.invalidValue, text: (error as Error).message });
    return reply.code(status).send({ error: (error as Error).message });
  });

  /** Parses an OTA request body; a malformed one is answered 400 with the RS root and Errors. */
  const parsing = <T>(reply: FastifyReply, root: string, body: unknown, parse: (text: string) => T): T | undefined => {
    try {
      return parse(typeof body === 'string' ? body : '');
    } catch (err) {
      if (err instanceof OtaParseError) {
        void otaError(reply, 400, root, { type: '3', code: OTA_ERROR.invalidValue, text: err.message });
        return undefined;
      }
      throw err;
    }
  };

  // ─── ARI ───────────────────────────────────────────────────────────────────────────────────────
  app.post('/hotels/ota/OTA_HotelAvailNotif', async (request, reply) => {
    const parsed = parsing(reply, 'OTA_HotelAvailNotifRS', request.body, parseAvailNotif);
    if (!parsed) return reply;
    const errors = sandbox.applyAvailability(parsed.hotelCode, parsed.items, parsed.header.echoToken);
    return xml(reply, 200, buildResponse('OTA_HotelAvailNotifRS', { ...header(), echoToken: parsed.header.echoToken }, { errors }));
  });

  app.post('/hotels/ota/OTA_HotelRateAmountNotif', async (request, reply) => {
    const parsed = parsing(reply, 'OTA_HotelRateAmountNotifRS', request.body, parseRateAmountNotif);
    if (!parsed) return reply;
    const errors = sandbox.applyRates(parsed.hotelCode, parsed.items, parsed.header.echoToken);
    return xml(reply, 200, buildResponse('OTA_HotelRateAmountNotifRS', { ...header(), echoToken: parsed.header.echoToken }, { errors }));
  });

  // ─── Reservation queues ────────────────────────────────────────────────────────────────────────
  for (const [path, queue, rsRoot] of [
    ['/hotels/ota/OTA_HotelResNotif', 'new', 'OTA_HotelResNotifRS'],
    ['/hotels/ota/OTA_HotelResModifyNotif', 'modify', 'OTA_HotelResModifyNotifRS'],
  ] as const) {
    app.get(path, async (_request, reply) => xml(reply, 200, buildReservationQueue(header(), queue, sandbox.pull(queue))));
    app.post(path, async (request, reply) => {
      const parsed = parsing(reply, rsRoot, request.body, parseReservationAck);
      if (!parsed) return reply;
      if (parsed.queue !== queue) return otaError(reply, 400, rsRoot, { type: '3', code: OTA_ERROR.invalidValue, text: `${path} acknowledges with ${rsRoot}` });
      const errors = sandbox.acknowledge(queue, parsed.acks);
      return xml(reply, 200, buildResponse(rsRoot, header(), { errors }));
    });
  }

  // ─── B.XML read side ───────────────────────────────────────────────────────────────────────────
  app.get<{ Querystring: Record<string, string | undefined> }>('/hotels/xml/reservationssummary', async (request, reply) => {
    const hotelIds = (request.query.hotel_ids ?? '').split(',').filter(Boolean);
    const limit = Math.min(500, Math.max(1, Number(request.query.limit ?? 50)));
    const page = sandbox.summary(hotelIds, request.query.cursor, limit, request.query.checkout_from);
    return xml(reply, 200, buildReservationsSummary(page.reservations, page.nextCursor));
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/hotels/xml/roomrateavailability', async (request, reply) => {
    const { hotel_id: hotelId, room_id: roomId, rate_id: rateId, start_date: from, end_date: to } = request.query;
    if (!hotelId || !roomId || !from || !to || !isIsoDate(from) || !isIsoDate(to)) {
      return otaError(reply, 400, 'OTA_ErrorRS', { type: '3', code: OTA_ERROR.invalidValue, text: 'hotel_id, room_id, start_date and end_date are required' });
    }
    return xml(reply, 200, buildRoomRateAvailability(hotelId, roomId, rateId, sandbox.calendar(hotelId, roomId, rateId, from, to)));
  });

  // ─── Controls: the guest, the extranet, the operator ───────────────────────────────────────────
  registerFaultRoutes(app, sandbox.faults);

  app.post('/_control/reservations', async (request, reply) => {
    const input = parseControlBody(BookBody, request, reply);
    if (!input) return reply;
    return reply.code(201).send(sandbox.book(input));
  });
  app.get('/_control/reservations', async () => ({ reservations: sandbox.reservations() }));
  app.get<{ Params: { id: string } }>('/_control/reservations/:id', async (request) => sandbox.reservation(request.params.id));
  app.post<{ Params: { id: string } }>('/_control/reservations/:id/modify', async (request, reply) => {
    const input = parseControlBody(ModifyBody, request, reply);
    if (!input) return reply;
    return sandbox.modify(request.params.id, input);
  });
  app.post<{ Params: { id: string } }>('/_control/reservations/:id/cancel', async (request) => sandbox.cancel(request.params.id));
  app.get('/_control/queue', async () => sandbox.queueState());

  app.get<{ Params: { hotelId: string; roomId: string }; Querystring: Record<string, string | undefined> }>(
    '/_control/calendar/:hotelId/:roomId',
    async (request, reply) => {
      const { from, to, rateId } = request.query;
      if (!from || !to || !isIsoDate(from) || !isIsoDate(to)) return reply.code(400).send({ error: 'from and to (YYYY-MM-DD) are required' });
      return { hotelId: request.params.hotelId, roomId: request.params.roomId, rateId: rateId ?? null, days: sandbox.calendar(request.params.hotelId, request.params.roomId, rateId, from, to) };
    },
  );
  app.post<{ Params: { hotelId: string; roomId: string } }>('/_control/calendar/:hotelId/:roomId', async (request, reply) => {
    const input = parseControlBody(RoomsToSellBody, request, reply);
    if (!input) return reply;
    sandbox.setRoomsToSell(request.params.hotelId, request.params.roomId, input.from, input.to, input.roomsToSell);
    return { ok: true };
  });
  app.get('/_control/requests', async () => ({ counts: sandbox.counts, pushes: sandbox.pushLog.slice(-200), faultsInjected: sandbox.faults.counts }));
  app.post('/_control/reset', async () => {
    sandbox.reset();
    return { ok: true };
  });

  app.setNotFoundHandler((request, reply) => {
    if (isApi(request)) return otaError(reply, 404, 'OTA_ErrorRS', { type: '3', code: OTA_ERROR.invalidValue, text: `Unknown endpoint ${request.method} ${request.url}` });
    return reply.code(404).send({ error: `Unknown sandbox route ${request.method} ${request.url}` });
  });
}
