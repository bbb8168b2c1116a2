// The Booking.com sandbox over HTTP (registered under `/booking-com`): the OTA XML endpoints a
// connectivity provider calls with its machine account, the B.XML read side, and `/_control/*`
// routes acting as guests (book, modify, cancel) and showing what the channel currently displays.
// Booking.com has two hosts, and so does the sandbox, each under a path of its own: ARI on the supply
// host (`/booking-com/supply-xml`), reservations, their acknowledgements and the reservations summary
// only on the secure host (`/booking-com/secure-supply-xml`). A call sent to the wrong one finds no
// such endpoint there (404). Faults apply to the provider endpoints only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseControlBody, registerSandboxControls, useLenientJsonParser } from '../shared/control';
import { installProviderFailures } from '../shared/errors';
import { countRequests } from '../shared/upkeep';
import { isIsoDate } from '../shared/dates';
import {
  OTA_CODES,
  OTA_ERROR_TYPES,
  OtaUnreadable,
  readAcknowledgement,
  readAvailNotif,
  readRateAmountNotif,
  writeAnswer,
  writeReservationQueue,
  type OtaFault,
} from './ota';
import { readBxmlRequest, writeReservationsSummary, writeRoomRateAvailability } from './bxml';
import { BOOKING_COM_SANDBOX_HOSTS, type BookingComSandbox } from './sandbox';

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

const refused = (text: string): OtaFault => ({ type: OTA_ERROR_TYPES.businessRule, code: OTA_CODES.invalidValue.code, text });

export async function bookingComPlugin(app: FastifyInstance, options: BookingComPluginOptions): Promise<void> {
  const { sandbox } = options;
  const { supply, secure } = BOOKING_COM_SANDBOX_HOSTS;
  const isApi = (request: FastifyRequest) => request.url.startsWith(`${app.prefix}${supply}/`) || request.url.startsWith(`${app.prefix}${secure}/`);
  const xml = (reply: FastifyReply, status: number, body: string) => reply.code(status).header('content-type', 'application/xml; charset=utf-8').send(body);
  const answer = (reply: FastifyReply, status: number, root: string, faults: readonly OtaFault[], echoToken?: string) =>
    xml(reply, status, writeAnswer(root, faults, { at: sandbox.now(), echoToken }));

  // Booking.com documents `application/xml`; `text/xml` is read the same.
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  useLenientJsonParser(app);

  countRequests(app, sandbox.upkeep.requests, isApi);
  app.addHook('onRequest', async (request, reply) => {
    if (!isApi(request)) return;
    if (!sandbox.authenticates(request.headers.authorization)) {
      sandbox.counts.authFailures += 1;
      return answer(reply.header('www-authenticate', 'Basic realm="Booking.com"'), 401, 'OTA_ErrorRS', [
        { type: OTA_ERROR_TYPES.authentication, code: OTA_CODES.authorization.code, text: 'Authorization failed: unknown machine account or wrong password' },
      ]);
    }
  });

  installProviderFailures(app, {
    provider: 'booking.com',
    isApi,
    faults: sandbox.faults,
    rateLimited: (_request, reply) =>
      answer(reply, 429, 'OTA_ErrorRS', [{ type: OTA_ERROR_TYPES.processing, code: OTA_CODES.systemError.code, text: 'Too many requests for this property, slow down' }]),
    malformed: (_request, reply, status, message) => answer(reply, status, 'OTA_ErrorRS', [refused(message)]),
    failed: (_request, reply) => answer(reply, 500, 'OTA_ErrorRS', [{ type: OTA_ERROR_TYPES.processing, code: OTA_CODES.systemError.code, text: 'Internal error, please retry' }]),
    unknownRoute: (request, reply, path) => answer(reply, 404, 'OTA_ErrorRS', [refused(`Unknown endpoint ${request.method} ${path}`)]),
  });

  /**
   * Reads an OTA document; one that is not the expected message, or has problems inside, is answered
   * 400 with the RS root and an Error per problem (undefined is returned then).
   */
  const reading = <T extends { problems: string[] }>(reply: FastifyReply, root: string, body: unknown, read: (text: string) => T, required: (parsed: T) => string[] = () => []): T | undefined => {
    try {
      const parsed = read(typeof body === 'string' ? body : '');
      const problems = [...required(parsed), ...parsed.problems];
      if (problems.length === 0) return parsed;
      void answer(reply, 400, root, problems.map(refused));
    } catch (err) {
      if (!(err instanceof OtaUnreadable)) throw err;
      void answer(reply, 400, root, [refused(err.message)]);
    }
    return undefined;
  };
  // The sandbox keeps rooms per property and creates a property on its first push, so it needs the
  // property named; Booking.com's own example leaves HotelCode out (rooms ids are unique there).
  const namesHotel = (container: string) => (parsed: { hotelCode?: string }) => (parsed.hotelCode ? [] : [`${container}: attribute HotelCode is required`]);

  // ─── ARI ───────────────────────────────────────────────────────────────────────────────────────
  app.post(`${supply}/hotels/ota/OTA_HotelAvailNotif`, async (request, reply) => {
    const parsed = reading(reply, 'OTA_HotelAvailNotifRS', request.body, readAvailNotif, namesHotel('AvailStatusMessages'));
    if (!parsed) return reply;
    const errors = sandbox.applyAvailability(parsed.hotelCode!, parsed.messages, parsed.echoToken ?? '');
    return answer(reply, 200, 'OTA_HotelAvailNotifRS', errors, parsed.echoToken);
  });

  app.post(`${supply}/hotels/ota/OTA_HotelRateAmountNotif`, async (request, reply) => {
    const parsed = reading(reply, 'OTA_HotelRateAmountNotifRS', request.body, readRateAmountNotif, namesHotel('RateAmountMessages'));
    if (!parsed) return reply;
    const errors = sandbox.applyRates(parsed.hotelCode!, parsed.messages, parsed.echoToken ?? '');
    return answer(reply, 200, 'OTA_HotelRateAmountNotifRS', errors, parsed.echoToken);
  });

  // ─── Reservation queues ────────────────────────────────────────────────────────────────────────
  for (const [path, queue, rsRoot] of [
    ['/hotels/ota/OTA_HotelResNotif', 'new', 'OTA_HotelResNotifRS'],
    ['/hotels/ota/OTA_HotelResModifyNotif', 'modify', 'OTA_HotelResModifyNotifRS'],
  ] as const) {
    app.get(`${secure}${path}`, async (_request, reply) => xml(reply, 200, writeReservationQueue(queue, sandbox.pull(queue), sandbox.now())));
    app.post(`${secure}${path}`, async (request, reply) => {
      // The acknowledgement's Target is documented as required.
      const parsed = reading(reply, rsRoot, request.body, readAcknowledgement, (ack) => (ack.target ? [] : [`${rsRoot}: attribute Target is required`]));
      if (!parsed) return reply;
      // Booking.com answers an acknowledgement sent to the other queue's endpoint with HTTP 400.
      if (parsed.queue !== queue) return answer(reply, 400, rsRoot, [refused(`${path} acknowledges with ${rsRoot}`)]);
      return answer(reply, 200, rsRoot, sandbox.acknowledge(queue, parsed.acknowledgements));
    });
  }

  // ─── B.XML read side (bxml.ts) ────────────────────────────────────────────────────────────────
  /** The documented `<request>`; one that is unreadable or incomplete is answered 400 with the problems. */
  const bxmlRequest = (reply: FastifyReply, body: unknown) => {
    try {
      const parsed = readBxmlRequest(typeof body === 'string' ? body : '');
      if (parsed.problems.length === 0) return parsed;
      void answer(reply, 400, 'OTA_ErrorRS', parsed.problems.map(refused));
    } catch (err) {
      if (!(err instanceof OtaUnreadable)) throw err;
      void answer(reply, 400, 'OTA_ErrorRS', [refused(err.message)]);
    }
    return undefined;
  };

  app.post(`${secure}/hotels/xml/reservationssummary`, async (request, reply) => {
    const parsed = bxmlRequest(reply, request.body);
    if (!parsed) return reply;
    return xml(reply, 200, writeReservationsSummary(sandbox.summary(parsed.hotelId!)));
  });

  app.post(`${supply}/hotels/xml/roomrateavailability`, async (request, reply) => {
    // 1.1 is the only version the page lists (and the default); 1.0 is sunset: "400 Not acceptable".
    const version = request.headers['accept-version'];
    if (version !== undefined && version !== '1.1') return answer(reply, 400, 'OTA_ErrorRS', [refused(`Not acceptable: Accept-Version ${String(version)}`)]);
    const parsed = bxmlRequest(reply, request.body);
    if (!parsed) return reply;
    // Without start_date or number_of_days (the page's text on the defaults is cut short): today, one day.
    const startDate = parsed.startDate ?? sandbox.now().toISOString().slice(0, 10);
    return xml(reply, 200, writeRoomRateAvailability(parsed.hotelId!, sandbox.roomRateAvailability(parsed.hotelId!, startDate, parsed.numberOfDays ?? 1)));
  });

  // ─── Controls: the guest, the extranet, the operator ───────────────────────────────────────────

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
  // The fallback: what Booking.com e-mailed to the properties instead of the connectivity provider.
  app.get('/_control/emails', async () => ({ emails: sandbox.emails() }));

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
  app.get('/_control/requests', async () => ({ counts: sandbox.counts, pushes: sandbox.pushLog.slice(-200), ...sandbox.upkeep.counts() }));
  registerSandboxControls(app, { faults: sandbox.faults, reset: () => sandbox.reset() });
}
