// The Airbnb sandbox's calendar sync over HTTP: the public export feed
// (`GET /calendar/ical/<listing>.ics?s=<secret>`) and the controls a test or a person uses as the
// host would on airbnb.com — open an iCal-only listing (no partner webhooks about it), show its export link, import a calendar by
// URL, and sync it now.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseControlBody } from '../shared/control';
import { isIsoDate } from '../shared/dates';
import { AirbnbIcalCalendars } from './ical';
import type { AirbnbSandbox } from './sandbox';

const IsoDate = z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD');
const ListingBody = z.strictObject({
  hostId: z.string().min(1).max(64),
  from: IsoDate,
  to: IsoDate,
  availableCount: z.number().int().min(0).max(100).default(1),
  dailyPrice: z.number().min(0).optional(),
  currency: z.string().length(3).optional(),
});
const ImportBody = z.strictObject({ url: z.string().url().max(2_000) });

export function airbnbIcalRoutes(app: FastifyInstance, sandbox: AirbnbSandbox): AirbnbIcalCalendars {
  const calendars = new AirbnbIcalCalendars(sandbox);
  const exportUrl = (request: { protocol: string; headers: { host?: string } }, listingId: string) =>
    `${request.protocol}://${request.headers.host}${app.prefix}/calendar/ical/${encodeURIComponent(listingId)}.ics?s=${calendars.exportSecret(listingId)}`;

  app.get<{ Params: { file: string }; Querystring: { s?: string } }>('/calendar/ical/:file', async (request, reply) => {
    const listingId = request.params.file.replace(/\.ics$/, '');
    const body = calendars.exportFeed(listingId, request.query.s);
    if (body === undefined) return reply.code(404).type('text/plain').send('Not found');
    return reply.type('text/calendar; charset=utf-8').send(body);
  });

  app.post<{ Params: { listingId: string } }>('/_control/listings/:listingId', async (request, reply) => {
    const input = parseControlBody(ListingBody, request, reply);
    if (!input) return reply;
    sandbox.icalOnlyListings.add(request.params.listingId);
    sandbox.updateCalendar(input.hostId, request.params.listingId, [
      {
        dates: [`${input.from}:${input.to}`],
        availability: input.availableCount > 0 ? 'available' : 'unavailable',
        available_count: input.availableCount,
        ...(input.dailyPrice !== undefined ? { daily_price: input.dailyPrice, currency: input.currency ?? 'SEK' } : {}),
      },
    ]);
    return reply.code(201).send({ listingId: request.params.listingId, exportUrl: exportUrl(request, request.params.listingId) });
  });

  app.get<{ Params: { listingId: string } }>('/_control/listings/:listingId/ical', async (request) => ({
    listingId: request.params.listingId,
    exportUrl: exportUrl(request, request.params.listingId),
    import: calendars.importState(request.params.listingId) ?? null,
  }));

  app.put<{ Params: { listingId: string } }>('/_control/listings/:listingId/ical/import', async (request, reply) => {
    const input = parseControlBody(ImportBody, request, reply);
    if (!input) return reply;
    calendars.setImport(request.params.listingId, input.url);
    return { listingId: request.params.listingId, import: calendars.importState(request.params.listingId) };
  });

  app.post<{ Params: { listingId: string } }>('/_control/listings/:listingId/ical/import/sync', async (request) => calendars.syncImport(request.params.listingId));
  return calendars;
}
