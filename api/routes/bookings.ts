// The channel manager's booking routes: direct bookings (hold, pay, cancel), and the reservations and
// overbookings of every channel.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BookingsClient } from '../../client/bookings';
import { isIsoDate } from '../../domain/dates';
import { reservationWorkflowId } from '../../domain/workflow-ids';
import { SYNC_CHANNELS, type ReservationState } from '../../domain/bookings';
import { PROVIDERS, type PaymentState } from '../../domain/payments';
import { PaymentView, paymentView } from './payments';
import { ErrorBody } from '../schemas';
import { Id, IsoDate, OverbookingView, ReservationChannelName, ReservationRowView } from './channel-manager-schemas';

const BookingView = z.object({
  bookingId: z.string(),
  workflowId: z.string(),
  channel: ReservationChannelName,
  channelReservationId: z.string().nullable(),
  status: z.enum(['pending', 'held', 'confirmed', 'cancelled', 'released', 'rejected', 'refused', 'overbooked']),
  unitId: z.string().nullable(),
  checkIn: z.string().nullable(),
  checkOut: z.string().nullable(),
  rooms: z.number().nullable(),
  guest: z.object({ name: z.string(), email: z.string().optional() }).nullable(),
  total: z.object({ value: z.number(), currency: z.string() }).nullable(),
  paymentId: z.string().nullable(),
  paymentStatus: z.string().nullable(),
  payment: PaymentView.nullable(),
  holdExpiresAt: z.string().nullable(),
  reason: z.string().nullable(),
  events: z.array(z.object({ eventId: z.string(), kind: z.string(), outcome: z.string(), at: z.string() })),
  createdAt: z.string(),
  updatedAt: z.string(),
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

export function bookingView(booking: ReservationState, payment?: PaymentState) {
  return {
    bookingId: booking.reservationId,
    workflowId: reservationWorkflowId(booking.reservationId),
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

export async function bookingRoutes(app: FastifyInstance, deps: { bookings: BookingsClient }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { bookings } = deps;

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
        response: { 201: BookingView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody.extend({ booking: BookingView.optional() }) },
      },
    },
    async (request, reply) => {
      const { booking, payment } = await bookings.createBooking(request.body, { idempotencyKey: request.headers['idempotency-key'] });
      return reply.code(201).send(bookingView(booking, payment));
    },
  );

  api.get(
    '/bookings/:id',
    { schema: { summary: 'Read a booking or channel reservation', tags: ['bookings'], params: z.object({ id: z.string().min(3).max(100) }), response: { 200: BookingView, 400: ErrorBody, 404: ErrorBody } } },
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
        response: {
          200: BookingView.extend({ paymentError: z.string().nullable().describe('Why the refund or cancel of its payment failed, if it did') }),
          400: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
        },
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
        response: { 200: z.object({ reservations: z.array(ReservationRowView) }), 400: ErrorBody },
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
    {
      schema: {
        summary: 'Overbooking events (a channel sold what was gone)',
        tags: ['bookings'],
        querystring: z.object({ unitId: Id('unit').optional() }),
        response: { 200: z.object({ overbookings: z.array(OverbookingView) }), 400: ErrorBody },
      },
    },
    async (request) => ({ overbookings: await bookings.listOverbookings({ unitId: request.query.unitId }) }),
  );
}
