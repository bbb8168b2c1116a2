// GET /properties/:id/calendar: a property's units × nights in one answer — what each night offers,
// what each channel was last told, and the reservations and holds across them — for the console's grid.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BookingsClient } from '../../client/bookings';
import type { Database } from '../../db/client';
import { isIsoDate, rangeLength } from '../../domain/dates';
import { readPropertyGrid } from '../../store/property-calendar';
import { ErrorBody } from '../schemas';
import { Id, IsoDate } from './channel-manager-schemas';

/** A month and a bit: the grid shows one month at a time. */
const MAX_GRID_NIGHTS = 62;

const GridQuery = z
  .object({ from: IsoDate.describe('First night (inclusive)'), to: IsoDate.describe('Last night (inclusive)') })
  .superRefine((query, ctx) => {
    if (!isIsoDate(query.from) || !isIsoDate(query.to)) return;
    if (query.to < query.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    else if (rangeLength(query) > MAX_GRID_NIGHTS) ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${MAX_GRID_NIGHTS} nights` });
  });

const ChannelNight = z.object({
  state: z
    .enum(['in_sync', 'pending', 'failed', 'stale'])
    .describe(
      'pending: a change not pushed yet; failed: a push of the night failed (retried until one gets through); stale: not told of a change made more than 10 minutes ago (the sync is stuck)',
    ),
  pushedAt: z.string().nullable(),
});

const Night = z.object({
  date: z.string(),
  open: z.boolean(),
  available: z.number(),
  allotment: z.number(),
  booked: z.number(),
  price: z.number().nullable(),
  minNights: z.number().nullable(),
  closed: z.boolean(),
  closedToArrival: z.boolean(),
  closedToDeparture: z.boolean(),
  channels: z.record(z.string(), ChannelNight),
});

const GridUnit = z.object({
  id: z.string(),
  name: z.string(),
  count: z.number(),
  channels: z.array(z.string()).describe('Channels the unit is mapped to'),
  nights: z.array(Night),
  reservations: z.array(
    z.object({
      id: z.string(),
      channel: z.string(),
      status: z.string(),
      checkIn: z.string(),
      checkOut: z.string(),
      rooms: z.number(),
      guestName: z.string().nullable(),
      holdExpiresAt: z.string().nullable(),
    }),
  ),
});

export interface PropertyCalendarDeps {
  bookings: BookingsClient;
  db: Database;
}

export async function propertyCalendarRoutes(app: FastifyInstance, deps: PropertyCalendarDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { bookings } = deps;

  api.get(
    '/properties/:id/calendar',
    {
      schema: {
        summary: "A property's units × nights: availability, price, restrictions, each channel's state, and the reservations across them",
        tags: ['inventory'],
        params: z.object({ id: Id('prop') }),
        querystring: GridQuery,
        response: { 200: z.object({ propertyId: z.string(), from: z.string(), to: z.string(), units: z.array(GridUnit) }), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      const units = await bookings.listUnits(request.params.id);
      const grid = await readPropertyGrid(deps.db, units.map((unit) => unit.id), { from, to });
      return {
        propertyId: request.params.id,
        from,
        to,
        units: units.map((unit) => {
          const cells = grid.get(unit.id)!;
          return {
            id: unit.id,
            name: unit.name,
            count: unit.count,
            channels: cells.channels,
            nights: cells.nights.map(({ date, row, channels }) => ({
              date,
              open: Boolean(row),
              available: row ? Math.max(0, row.allotment - row.booked) : 0,
              allotment: row?.allotment ?? 0,
              booked: row?.booked ?? 0,
              price: row?.price ?? null,
              minNights: row?.minNights ?? null,
              closed: row?.closed ?? false,
              closedToArrival: row?.closedToArrival ?? false,
              closedToDeparture: row?.closedToDeparture ?? false,
              channels,
            })),
            reservations: cells.reservations,
          };
        }),
      };
    },
  );
}
