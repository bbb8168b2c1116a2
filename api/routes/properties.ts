// The channel manager's inventory routes: properties, units, channel mappings, and the calendar (with
// what each channel was last told per night, and each channel's availability sync).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BookingsClient } from '../../client/bookings';
import { isIsoDate, rangeLength } from '../../domain/dates';
import type { ChannelName } from '../../domain/bookings';
import { ErrorBody } from '../schemas';
import { importFeedView, type IcalFeedStore } from '../../store/ical-feeds';
import { CalendarUpdateView, Channel, Currency, Id, IsoDate, ListingSyncView, MappingView, MAX_CALENDAR_DAYS, PropertyView, UnitCalendarView, UnitView } from './channel-manager-schemas';

const CalendarRange = z
  .strictObject({
    from: IsoDate.describe('First night (inclusive)'),
    to: IsoDate.describe('Last night (inclusive)'),
    available: z.number().int().min(0).max(10_000).optional().describe('Units to sell each night, not counting those already booked'),
    price: z.object({ value: z.number().int().min(0).describe('Nightly price in minor units'), currency: Currency }).optional(),
    minNights: z.number().int().min(1).max(365).optional().describe('Min stay counted from arrival'),
    minStayThrough: z.number().int().min(1).max(365).nullable().optional().describe('Min stay of any stay through the night; null clears it'),
    maxStay: z.number().int().min(1).max(365).nullable().optional().describe('Longest stay arriving on the night; null clears it'),
    closedToArrival: z.boolean().optional(),
    closedToDeparture: z.boolean().optional(),
    closed: z.boolean().optional().describe('Stop sell'),
  })
  .superRefine((range, ctx) => {
    if (!isIsoDate(range.from) || !isIsoDate(range.to)) return;
    if (range.to < range.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    else if (rangeLength(range) > MAX_CALENDAR_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `a range covers at most ${MAX_CALENDAR_DAYS} nights` });
    const fields = ['available', 'price', 'minNights', 'minStayThrough', 'maxStay', 'closedToArrival', 'closedToDeparture', 'closed'] as const;
    if (!fields.some((field) => range[field] !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['available'], message: `a range must change at least one of ${fields.join(', ')}` });
    }
    if (range.maxStay != null && range.minNights !== undefined && range.maxStay < range.minNights) {
      ctx.addIssue({ code: 'custom', path: ['maxStay'], message: 'must not be below minNights' });
    }
  });

const CalendarBody = z.object({ ranges: z.array(CalendarRange).min(1).max(1_000) });
const CalendarQuery = z
  .object({ from: IsoDate, to: IsoDate })
  .superRefine((query, ctx) => {
    if (!isIsoDate(query.from) || !isIsoDate(query.to)) return;
    if (query.to < query.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    else if (rangeLength(query) > MAX_CALENDAR_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${MAX_CALENDAR_DAYS} nights` });
  });

export async function propertyRoutes(app: FastifyInstance, deps: { bookings: BookingsClient; icalFeeds?: IcalFeedStore }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { bookings } = deps;

  // ─── Properties and units ────────────────────────────────────────────────────────────────────
  api.post(
    '/properties',
    {
      schema: {
        summary: 'Create a property',
        tags: ['inventory'],
        body: z.strictObject({ name: z.string().min(1).max(200), currency: Currency, timezone: z.string().min(1).max(64).optional() }),
        response: { 201: PropertyView, 400: ErrorBody },
      },
    },
    async (request, reply) => reply.code(201).send(await bookings.createProperty(request.body)),
  );

  api.get(
    '/properties',
    { schema: { summary: 'List properties', tags: ['inventory'], response: { 200: z.object({ properties: z.array(PropertyView) }) } } },
    async () => ({ properties: await bookings.listProperties() }),
  );

  api.post(
    '/properties/:id/units',
    {
      schema: {
        summary: 'Create a unit (a room or cabin type sold from one calendar)',
        tags: ['inventory'],
        params: z.object({ id: Id('prop') }),
        body: z.strictObject({
          name: z.string().min(1).max(200),
          count: z.number().int().min(1).max(10_000).describe('How many identical units are sold'),
          ratePlans: z.array(z.strictObject({ name: z.string().min(1).max(200), code: z.string().min(1).max(64) })).max(20).optional(),
        }),
        response: { 201: UnitView, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => reply.code(201).send(await bookings.createUnit({ propertyId: request.params.id, ...request.body })),
  );

  api.get(
    '/properties/:id/units',
    { schema: { summary: "List a property's units", tags: ['inventory'], params: z.object({ id: Id('prop') }), response: { 200: z.object({ units: z.array(UnitView) }), 400: ErrorBody, 404: ErrorBody } } },
    async (request) => ({ units: await bookings.listUnits(request.params.id) }),
  );

  api.get(
    '/units/:id',
    { schema: { summary: 'Read a unit', tags: ['inventory'], params: z.object({ id: Id('unit') }), response: { 200: UnitView, 400: ErrorBody, 404: ErrorBody } } },
    async (request) => bookings.getUnit(request.params.id),
  );

  // ─── Channel mappings ────────────────────────────────────────────────────────────────────────
  api.post(
    '/units/:id/mappings',
    {
      schema: {
        summary: 'Map a unit to a channel listing (then push its calendar there)',
        tags: ['inventory'],
        params: z.object({ id: Id('unit') }),
        body: z.strictObject({
          channel: Channel,
          externalAccountId: z.string().min(1).max(100).describe('Booking.com hotel id, the Airbnb host id, or the Channex property id'),
          externalListingId: z.string().min(1).max(100).describe('Booking.com room id (InvTypeCode), the Airbnb listing id, or the Channex room type id'),
          externalRateId: z.string().min(1).max(100).optional().describe('Booking.com rate plan id (RatePlanCode), or the Channex rate plan id'),
          ratePlanId: Id('rate').optional(),
          fullLoadFrom: IsoDate.optional().describe('Push the calendar from this night on (default: no full load)'),
          fullLoadDays: z.number().int().min(1).max(MAX_CALENDAR_DAYS).default(365),
        }),
        response: { 201: MappingView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { fullLoadFrom, fullLoadDays, ...mapping } = request.body;
      // An iCal mapping would make a listing sync with nothing to push to and no feed to import: the
      // feeds (their URL, token, poll and staleness settings) are what configures iCal.
      if (mapping.channel === 'ical') {
        return reply.code(400).send({
          error: 'invalid_request',
          message:
            'body.channel: iCal is not mapped; configure its feeds with POST /units/:id/ical/exports (a feed URL for an OTA to import) and POST /units/:id/ical/imports (an OTA’s feed to import)',
          fields: [{ path: 'body.channel', message: 'ical is configured through /units/:id/ical/exports and /units/:id/ical/imports' }],
        });
      }
      if ((mapping.channel === 'booking_com' || mapping.channel === 'channex') && !mapping.externalRateId) {
        return reply.code(400).send({
          error: 'invalid_request',
          message: `body.externalRateId: required for ${mapping.channel} (the rate plan prices and restrictions are pushed to)`,
          fields: [{ path: 'body.externalRateId', message: `required for ${mapping.channel}` }],
        });
      }
      const fullLoad = fullLoadFrom ? { from: fullLoadFrom, to: new Date(Date.parse(`${fullLoadFrom}T00:00:00Z`) + (fullLoadDays - 1) * 86_400_000).toISOString().slice(0, 10) } : undefined;
      return reply.code(201).send(await bookings.createMapping({ unitId: request.params.id, ...mapping }, fullLoad));
    },
  );

  api.get(
    '/units/:id/mappings',
    {
      schema: {
        summary: "A unit's channel mappings",
        tags: ['inventory'],
        params: z.object({ id: Id('unit') }),
        response: { 200: z.object({ mappings: z.array(MappingView) }), 400: ErrorBody },
      },
    },
    async (request) => ({ mappings: await bookings.listMappings(request.params.id) }),
  );

  // ─── Calendar ────────────────────────────────────────────────────────────────────────────────
  api.put(
    '/units/:id/calendar',
    {
      schema: {
        summary: 'Set availability, prices and restrictions for date ranges',
        description: 'Each range is applied in one transaction; every channel the unit is mapped to then receives the changed nights.',
        tags: ['inventory'],
        params: z.object({ id: Id('unit') }),
        body: CalendarBody,
        response: { 200: CalendarUpdateView, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const unit = await bookings.getUnit(request.params.id);
      const fields: Array<{ path: string; message: string }> = [];
      request.body.ranges.forEach((range, index) => {
        if (range.available !== undefined && range.available > unit.count) {
          fields.push({ path: `body.ranges.${index}.available`, message: `must be at most the unit's count (${unit.count})` });
        }
        if (range.price && range.price.currency !== unit.currency) {
          fields.push({ path: `body.ranges.${index}.price.currency`, message: `must be the property's currency (${unit.currency})` });
        }
      });
      if (fields.length > 0) {
        return reply.code(400).send({ error: 'invalid_request', message: fields.map((field) => `${field.path}: ${field.message}`).join('; '), fields });
      }
      const result = await bookings.updateCalendar(unit.id, request.body.ranges);
      return { unitId: unit.id, nights: result.ranges.reduce((sum, range) => sum + rangeLength(range), 0), ranges: result.ranges, channelsNotified: result.channels };
    },
  );

  api.get(
    '/units/:id/calendar',
    {
      schema: {
        summary: 'Read the calendar, with what each channel was last told per night',
        tags: ['inventory'],
        params: z.object({ id: Id('unit') }),
        querystring: CalendarQuery,
        response: { 200: UnitCalendarView, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const days = await bookings.getCalendar(request.params.id, request.query);
      // iCal imports by OTA: `stale` when the last successful import is older than the feed's threshold.
      const nowMs = Date.now();
      const icalImports = deps.icalFeeds ? await deps.icalFeeds.listImportFeeds(request.params.id) : [];
      const channelStates = Object.fromEntries(
        icalImports.map((feed) => {
          const view = importFeedView(feed, nowMs);
          return [`ical:${feed.channel}`, { channel: 'ical' as const, source: feed.channel, feedId: feed.id, state: view.state, lastSuccessAt: view.lastSuccessAt, lastError: view.lastError }];
        }),
      );
      return {
        unitId: request.params.id,
        from: request.query.from,
        to: request.query.to,
        channelStates,
        days: days.map(({ date, row, channels }) => ({
          date,
          open: Boolean(row),
          available: row ? Math.max(0, row.allotment - row.booked) : 0,
          booked: row?.booked ?? 0,
          allotment: row?.allotment ?? 0,
          price: row && row.price !== null ? { value: row.price, currency: row.currency } : null,
          minNights: row?.minNights ?? null,
          minStayThrough: row?.minStayThrough ?? null,
          maxStay: row?.maxStay ?? null,
          closedToArrival: row?.closedToArrival ?? null,
          closedToDeparture: row?.closedToDeparture ?? null,
          closed: row?.closed ?? null,
          channels,
        })),
      };
    },
  );

  api.get(
    '/units/:id/sync',
    {
      schema: {
        summary: "The availability sync of each of a unit's channels",
        tags: ['inventory'],
        params: z.object({ id: Id('unit') }),
        response: { 200: z.object({ unitId: z.string(), syncs: z.array(z.object({ channel: z.string(), state: ListingSyncView.nullable() })) }), 400: ErrorBody },
      },
    },
    async (request) => {
      const mappings = await bookings.listMappings(request.params.id);
      const syncs = await Promise.all(mappings.map(async (mapping) => ({ channel: mapping.channel, state: (await bookings.getSyncState(request.params.id, mapping.channel as ChannelName)) ?? null })));
      return { unitId: request.params.id, syncs };
    },
  );
}
