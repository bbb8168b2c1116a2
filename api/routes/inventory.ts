// The channel manager's HTTP API: properties, units, channel mappings, the calendar (with what each
// channel was last told), direct bookings, and the channels' own status (reservation queue, resync).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  BookingConflictError,
  BookingNotFoundError,
  BookingUnavailableError,
  InventoryError,
  type BookingsClient,
} from '../../client/bookings';
import { isIsoDate, rangeLength } from '../../domain/dates';
import { SYNC_CHANNELS, type ChannelName, type ReservationState } from '../../domain/bookings';
import { PROVIDERS, type PaymentState } from '../../domain/payments';
import { paymentView } from './payments';
import { ErrorBody } from '../schemas';
import type { Config } from '../../config';
import type { Logger } from '../../observability/logger';
import { signOAuthState, verifyOAuthState, type AirbnbOAuth } from '../../providers/airbnb/client';
import type { ChannelAccountStore } from '../../store/channel-accounts';
import { ProviderError } from '../../providers/errors';

export interface InventoryRoutesDeps {
  bookings: BookingsClient;
  /** The account each polled channel is pulled as (Booking.com's machine account), for its status. */
  pollAccounts?: Partial<Record<ChannelName, string>>;
  /** Airbnb's OAuth connect flow for hosts (authorization code → encrypted tokens). */
  airbnb?: { oauth: AirbnbOAuth; accounts: ChannelAccountStore; stateKey: string; callbackUrl: string };
}

const MAX_CALENDAR_DAYS = 731;

const IsoDate = z.string().refine(isIsoDate, 'must be a calendar date YYYY-MM-DD');
const Currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
  .transform((code) => code.toUpperCase());
const Channel = z.enum(SYNC_CHANNELS);
const Id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[a-z0-9]{6,40}$`), `must be a Skerry id (${prefix}_…)`);

/** Response bodies are documented by their route's summary; validation is on the way in. */
const Json = z.unknown();

const CalendarRange = z
  .strictObject({
    from: IsoDate.describe('First night (inclusive)'),
    to: IsoDate.describe('Last night (inclusive)'),
    available: z.number().int().min(0).max(10_000).optional().describe('Units to sell each night, not counting those already booked'),
    price: z.object({ value: z.number().int().min(0).describe('Nightly price in minor units'), currency: Currency }).optional(),
    minNights: z.number().int().min(1).max(365).optional(),
    closedToArrival: z.boolean().optional(),
    closed: z.boolean().optional().describe('Stop sell'),
  })
  .superRefine((range, ctx) => {
    if (!isIsoDate(range.from) || !isIsoDate(range.to)) return;
    if (range.to < range.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    else if (rangeLength(range) > MAX_CALENDAR_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `a range covers at most ${MAX_CALENDAR_DAYS} nights` });
    const fields = ['available', 'price', 'minNights', 'closedToArrival', 'closed'] as const;
    if (!fields.some((field) => range[field] !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['available'], message: 'a range must change at least one of available, price, minNights, closedToArrival, closed' });
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

const CreateBookingBody = z
  .strictObject({
    unitId: Id('unit'),
    checkIn: IsoDate,
    checkOut: IsoDate,
    rooms: z.number().int().min(1).max(50).default(1),
    guest: z.strictObject({ name: z.string().min(1).max(200), email: z.email().optional() }),
    payment: z.strictObject({ provider: z.enum(PROVIDERS) }).optional().describe('Take a payment for the stay; the hold is released when it fails or expires'),
  })
  .superRefine((body, ctx) => {
    if (isIsoDate(body.checkIn) && isIsoDate(body.checkOut) && body.checkOut <= body.checkIn) {
      ctx.addIssue({ code: 'custom', path: ['checkOut'], message: 'must be after checkIn' });
    }
  });

const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(255).optional() });

function bookingView(booking: ReservationState, payment?: PaymentState) {
  return {
    bookingId: booking.reservationId,
    workflowId: `reservation-${booking.reservationId}`,
    channel: booking.channel,
    channelReservationId: booking.channelReservationId ?? null,
    status: booking.status,
    unitId: booking.unitId ?? null,
    checkIn: booking.checkIn ?? null,
    checkOut: booking.checkOut ?? null,
    rooms: booking.rooms ?? null,
    guest: booking.guest ?? null,
    total: booking.total ?? null,
    paymentId: booking.paymentId ?? null,
    paymentStatus: payment?.status ?? booking.paymentStatus ?? null,
    payment: payment ? paymentView(payment) : null,
    holdExpiresAt: booking.holdExpiresAt ?? null,
    reason: booking.reason ?? null,
    events: booking.events,
    createdAt: booking.createdAt,
    updatedAt: booking.updatedAt,
  };
}

const iso = (value: Date | null | undefined) => (value ? value.toISOString() : null);

export async function inventoryRoutes(app: FastifyInstance, deps: InventoryRoutesDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { bookings } = deps;

  // The domain's errors; everything else goes on to the app's error handler.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof InventoryError) {
      const status = error.code === 'not_found' ? 404 : error.code === 'conflict' ? 409 : 400;
      return reply.code(status).send({ error: error.code, message: error.message, ...(error.field ? { fields: [{ path: error.field, message: error.message }] } : {}) });
    }
    if (error instanceof BookingNotFoundError) return reply.code(404).send({ error: 'not_found', message: error.message });
    if (error instanceof BookingUnavailableError) {
      return reply.code(409).send({ error: 'unavailable', message: error.message, booking: bookingView(error.booking) });
    }
    if (error instanceof BookingConflictError) return reply.code(409).send({ error: 'conflict', message: error.message });
    throw error;
  });

  // ─── Properties and units ────────────────────────────────────────────────────────────────────
  api.post(
    '/properties',
    {
      schema: {
        summary: 'Create a property',
        tags: ['inventory'],
        body: z.strictObject({ name: z.string().min(1).max(200), currency: Currency, timezone: z.string().min(1).max(64).optional() }),
        response: { 201: Json, 400: ErrorBody },
      },
    },
    async (request, reply) => reply.code(201).send(await bookings.createProperty(request.body)),
  );

  api.get('/properties', { schema: { summary: 'List properties', tags: ['inventory'] } }, async () => ({ properties: await bookings.listProperties() }));

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
        response: { 201: Json, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => reply.code(201).send(await bookings.createUnit({ propertyId: request.params.id, ...request.body })),
  );

  api.get(
    '/properties/:id/units',
    { schema: { summary: "List a property's units", tags: ['inventory'], params: z.object({ id: Id('prop') }), response: { 200: Json, 404: ErrorBody } } },
    async (request) => ({ units: await bookings.listUnits(request.params.id) }),
  );

  api.get(
    '/units/:id',
    { schema: { summary: 'Read a unit', tags: ['inventory'], params: z.object({ id: Id('unit') }), response: { 200: Json, 404: ErrorBody } } },
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
          externalAccountId: z.string().min(1).max(100).describe('Booking.com hotel id, or the Airbnb host id'),
          externalListingId: z.string().min(1).max(100).describe('Booking.com room id (InvTypeCode), or the Airbnb listing id'),
          externalRateId: z.string().min(1).max(100).optional().describe('Booking.com rate plan id (RatePlanCode)'),
          ratePlanId: Id('rate').optional(),
          fullLoadFrom: IsoDate.optional().describe('Push the calendar from this night on (default: no full load)'),
          fullLoadDays: z.number().int().min(1).max(MAX_CALENDAR_DAYS).default(365),
        }),
        response: { 201: Json, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { fullLoadFrom, fullLoadDays, ...mapping } = request.body;
      if (mapping.channel === 'booking_com' && !mapping.externalRateId) {
        return reply.code(400).send({
          error: 'invalid_request',
          message: 'body.externalRateId: required for booking_com (the RatePlanCode prices are pushed to)',
          fields: [{ path: 'body.externalRateId', message: 'required for booking_com' }],
        });
      }
      const fullLoad = fullLoadFrom ? { from: fullLoadFrom, to: new Date(Date.parse(`${fullLoadFrom}T00:00:00Z`) + (fullLoadDays - 1) * 86_400_000).toISOString().slice(0, 10) } : undefined;
      return reply.code(201).send(await bookings.createMapping({ unitId: request.params.id, ...mapping }, fullLoad));
    },
  );

  api.get(
    '/units/:id/mappings',
    { schema: { summary: "A unit's channel mappings", tags: ['inventory'], params: z.object({ id: Id('unit') }) } },
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
        response: { 200: Json, 400: ErrorBody, 404: ErrorBody },
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
        response: { 200: Json, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const days = await bookings.getCalendar(request.params.id, request.query);
      return {
        unitId: request.params.id,
        from: request.query.from,
        to: request.query.to,
        days: days.map(({ date, row, channels }) => ({
          date,
          open: Boolean(row),
          available: row ? Math.max(0, row.allotment - row.booked) : 0,
          booked: row?.booked ?? 0,
          allotment: row?.allotment ?? 0,
          price: row && row.price !== null ? { value: row.price, currency: row.currency } : null,
          minNights: row?.minNights ?? null,
          closedToArrival: row?.closedToArrival ?? null,
          closed: row?.closed ?? null,
          channels,
        })),
      };
    },
  );

  api.get(
    '/units/:id/sync',
    { schema: { summary: "The availability sync of each of a unit's channels", tags: ['inventory'], params: z.object({ id: Id('unit') }) } },
    async (request) => {
      const mappings = await bookings.listMappings(request.params.id);
      const syncs = await Promise.all(mappings.map(async (mapping) => ({ channel: mapping.channel, state: (await bookings.getSyncState(request.params.id, mapping.channel as ChannelName)) ?? null })));
      return { unitId: request.params.id, syncs };
    },
  );

  // ─── Direct bookings ─────────────────────────────────────────────────────────────────────────
  api.post(
    '/bookings',
    {
      schema: {
        summary: 'Book directly: hold the nights, optionally take a payment',
        description:
          'The nights are held in one database transaction (409 with the reason when they are not available). With a payment, the booking is `held` until the payment succeeds (then `confirmed`) or fails/expires (then `released`).',
        tags: ['bookings'],
        headers: IdempotencyHeaders,
        body: CreateBookingBody,
        response: { 201: Json, 400: ErrorBody, 409: ErrorBody.extend({ booking: z.unknown().optional() }) },
      },
    },
    async (request, reply) => {
      const { booking, payment } = await bookings.createBooking(request.body, { idempotencyKey: request.headers['idempotency-key'] });
      return reply.code(201).send(bookingView(booking, payment));
    },
  );

  api.get(
    '/bookings/:id',
    { schema: { summary: 'Read a booking or channel reservation', tags: ['bookings'], params: z.object({ id: z.string().min(3).max(100) }), response: { 200: Json, 404: ErrorBody } } },
    async (request) => bookingView(await bookings.getBooking(request.params.id)),
  );

  api.post(
    '/bookings/:id/cancel',
    {
      schema: {
        summary: 'Cancel a direct booking (its nights go back to every channel)',
        tags: ['bookings'],
        params: z.object({ id: Id('res') }),
        body: z.object({ reason: z.string().max(200).optional() }).default({}),
        response: { 200: Json, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const { booking, payment, paymentError } = await bookings.cancelBooking(request.params.id, request.body.reason);
      return { ...bookingView(booking, payment), paymentError: paymentError ?? null };
    },
  );

  api.get(
    '/reservations',
    {
      schema: {
        summary: 'List reservations from every channel',
        tags: ['bookings'],
        querystring: z.object({ unitId: Id('unit').optional(), channel: z.enum(['direct', ...SYNC_CHANNELS]).optional() }),
      },
    },
    async (request) => ({
      reservations: (await bookings.inventory.reservations.listReservations(request.query)).map((row) => ({
        ...row,
        holdExpiresAt: iso(row.holdExpiresAt),
        createdAt: iso(row.createdAt),
        updatedAt: iso(row.updatedAt),
      })),
    }),
  );

  api.get(
    '/overbookings',
    { schema: { summary: 'Overbooking events (a channel sold what was gone)', tags: ['bookings'], querystring: z.object({ unitId: Id('unit').optional() }) } },
    async (request) => ({ overbookings: await bookings.listOverbookings({ unitId: request.query.unitId }) }),
  );

  // ─── Channels ────────────────────────────────────────────────────────────────────────────────
  api.get(
    '/channels/:channel/queue',
    {
      schema: {
        summary: "A channel's reservation queue: unacknowledged messages and their age",
        tags: ['channels'],
        params: z.object({ channel: Channel }),
      },
    },
    async (request) => {
      const channel = request.params.channel;
      const account = deps.pollAccounts?.[channel];
      const [poll, unacked] = await Promise.all([
        account ? bookings.getReservationPoll(channel, account) : Promise.resolve(undefined),
        bookings.inventory.channelMessages.listUnacked(channel),
      ]);
      return { channel, poll: poll ?? null, unacked, oldestUnackedAgeMs: unacked.reduce((oldest, message) => Math.max(oldest, message.ageMs), 0) };
    },
  );

  api.post(
    '/channels/:channel/resync',
    {
      schema: {
        summary: 'Start a full resync of a channel now',
        tags: ['channels'],
        params: z.object({ channel: Channel }),
        body: z
          .object({
            horizonDays: z.number().int().min(1).max(MAX_CALENDAR_DAYS).optional(),
            pageSize: z.number().int().min(1).max(500).optional(),
            accounts: z.array(z.string().min(1).max(100)).min(1).max(500).optional().describe('Only these hotels / hosts'),
          })
          .default({}),
      },
    },
    async (request, reply) => reply.code(202).send(await bookings.startResync(request.params.channel, request.body)),
  );

  api.get(
    '/channels/:channel/resync/:workflowId',
    { schema: { summary: 'Status of a resync', tags: ['channels'], params: z.object({ channel: Channel, workflowId: z.string().min(1).max(200) }), response: { 200: Json, 404: ErrorBody } } },
    async (request) => bookings.getResync(request.params.workflowId),
  );

  api.get(
    '/channels/:channel/resyncs',
    { schema: { summary: 'Recent resyncs of a channel', tags: ['channels'], params: z.object({ channel: Channel }) } },
    async (request) => ({ runs: await bookings.inventory.resyncRuns.listResyncRuns(request.params.channel) }),
  );

  // ─── Airbnb: connecting a host (OAuth authorization code) ────────────────────────────────────
  const airbnb = deps.airbnb;
  if (airbnb) {
    api.get(
      '/channels/airbnb/connect',
      {
        schema: {
          summary: 'Connect an Airbnb host: redirects to Airbnb to authorize Skerry',
          tags: ['channels'],
          querystring: z.object({ hostHint: z.string().min(1).max(64).optional().describe('Sandbox only: the host id to consent as') }),
        },
      },
      async (request, reply) => {
        const state = signOAuthState(airbnb.stateKey, { exp: Date.now() + 10 * 60_000 });
        const url = new URL(airbnb.oauth.authorizeUrl(airbnb.callbackUrl, state));
        if (request.query.hostHint) url.searchParams.set('host_id', request.query.hostHint);
        return reply.redirect(url.toString(), 302);
      },
    );

    api.get(
      '/channels/airbnb/oauth/callback',
      {
        schema: {
          summary: 'Airbnb OAuth callback: exchanges the code and stores the tokens encrypted',
          tags: ['channels'],
          querystring: z.object({ code: z.string().min(1).max(500), state: z.string().min(1).max(2_000) }),
          response: { 200: Json, 400: ErrorBody, 502: ErrorBody },
        },
      },
      async (request, reply) => {
        if (!verifyOAuthState(airbnb.stateKey, request.query.state)) {
          return reply.code(400).send({ error: 'invalid_state', message: 'querystring.state: not issued here, or expired; start again at /channels/airbnb/connect' });
        }
        try {
          const tokens = await airbnb.oauth.exchangeCode(request.query.code, airbnb.callbackUrl);
          const account = await airbnb.accounts.connect('airbnb', tokens.hostId, tokens);
          return { channel: 'airbnb', hostId: tokens.hostId, accountId: account.id, connected: true };
        } catch (err) {
          if (err instanceof ProviderError) return reply.code(502).send({ error: `provider_${err.kind}`, message: err.message });
          throw err;
        }
      },
    );

    api.get('/channels/airbnb/accounts', { schema: { summary: 'Connected Airbnb hosts (never their tokens)', tags: ['channels'] } }, async () => ({
      accounts: await airbnb.accounts.list('airbnb'),
    }));
  }
}

/** The account key a polled channel's background work runs under: one per machine account and task queue. */
export function channelAccountKey(account: string, taskQueue: string): string {
  return `${account}.${taskQueue}`.replace(/[^A-Za-z0-9._-]/g, '-');
}

/**
 * Makes sure the channels' background work exists: the Booking.com reservation poll and each
 * channel's nightly resync schedule. Idempotent; called at every API start.
 */
export async function ensureChannelBackground(
  config: Config,
  bookings: BookingsClient,
  logger: Logger,
): Promise<Partial<Record<ChannelName, string>>> {
  const accounts: Partial<Record<ChannelName, string>> = {};
  const { bookingCom, airbnb, resyncHour } = config.channels;
  const taskQueue = config.temporal.taskQueue;
  if (bookingCom.enabled) accounts.booking_com = channelAccountKey(bookingCom.username, taskQueue);
  if (airbnb.enabled) accounts.airbnb = channelAccountKey(airbnb.clientId, taskQueue);
  try {
    if (accounts.booking_com) await bookings.ensureReservationPoll('booking_com', accounts.booking_com, bookingCom.pollIntervalMs);
    if (resyncHour !== undefined) {
      for (const [channel, account] of Object.entries(accounts) as Array<[ChannelName, string]>) {
        await bookings.ensureResyncSchedule(channel, account, resyncHour);
      }
    }
  } catch (err) {
    // The API serves without them; the next start tries again.
    logger.error({ err: (err as Error).message }, 'could not start the channel background work (reservation poll, resync schedules)');
  }
  return accounts;
}
