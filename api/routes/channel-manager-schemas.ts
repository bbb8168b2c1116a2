// Request validators and response shapes shared by the channel manager's routes (properties,
// bookings, channels). The response shapes are what the OpenAPI document, and so the console's
// generated client, says each route answers.
import { z } from 'zod';
import { isIsoDate } from '../../domain/dates';
import { RESERVATION_CHANNELS, SYNC_CHANNELS, SYNC_STATUSES } from '../../domain/bookings';

export const MAX_CALENDAR_DAYS = 731;

export const IsoDate = z.string().refine(isIsoDate, 'must be a calendar date YYYY-MM-DD');
export const Currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
  .transform((code) => code.toUpperCase());
export const Channel = z.enum(SYNC_CHANNELS);
export const Id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[a-z0-9]{6,40}$`), `must be a Skerry id (${prefix}_…)`);

// ─── Responses ────────────────────────────────────────────────────────────────────────────────
// Rows come from the stores with Date columns: z.date() is documented as a date-time string and
// serialized by JSON.stringify as before.

export const PropertyView = z.object({ id: z.string(), name: z.string(), currency: z.string(), timezone: z.string(), createdAt: z.date() });

const RatePlanView = z.object({ id: z.string(), unitId: z.string(), name: z.string(), code: z.string(), createdAt: z.date() });
export const UnitView = z.object({
  id: z.string(),
  propertyId: z.string(),
  name: z.string(),
  count: z.number(),
  ratePlans: z.array(RatePlanView),
  currency: z.string().optional().describe("The property's currency (on a single unit)"),
  createdAt: z.date(),
});

export const MappingView = z.object({
  id: z.string(),
  unitId: z.string(),
  channel: z.string(),
  externalAccountId: z.string(),
  externalListingId: z.string(),
  externalRateId: z.string().nullable(),
  ratePlanId: z.string().nullable(),
  createdAt: z.date(),
});

const DateRangeView = z.object({ from: z.string(), to: z.string() });

export const CalendarUpdateView = z.object({ unitId: z.string(), nights: z.number(), ranges: z.array(DateRangeView), channelsNotified: z.array(Channel) });

const ChannelDayView = z.object({
  date: z.string(),
  available: z.number(),
  price: z.number().optional(),
  currency: z.string().optional(),
  minNights: z.number(),
  minStayThrough: z.number().optional(),
  maxStay: z.number().optional(),
  closedToArrival: z.boolean(),
  closedToDeparture: z.boolean().optional(),
  closed: z.boolean(),
});

export const UnitCalendarView = z.object({
  unitId: z.string(),
  from: z.string(),
  to: z.string(),
  channelStates: z.record(
    z.string(),
    z.object({ channel: z.literal('ical'), source: z.string(), feedId: z.string(), state: z.string(), lastSuccessAt: z.string().nullable(), lastError: z.string().nullable() }),
  ),
  days: z.array(
    z.object({
      date: z.string(),
      open: z.boolean(),
      available: z.number(),
      booked: z.number(),
      allotment: z.number(),
      price: z.object({ value: z.number(), currency: z.string().nullable() }).nullable(),
      minNights: z.number().nullable(),
      minStayThrough: z.number().nullable(),
      maxStay: z.number().nullable(),
      closedToArrival: z.boolean().nullable(),
      closedToDeparture: z.boolean().nullable(),
      closed: z.boolean().nullable(),
      channels: z.record(z.string(), ChannelDayView.extend({ pushedAt: z.string(), inSync: z.boolean() })).describe('What each mapped channel was last told of this night'),
    }),
  ),
});

export const ListingSyncView = z.object({
  unitId: z.string().optional(),
  account: z.string().optional(),
  channel: Channel,
  status: z.enum(SYNC_STATUSES),
  pendingRanges: z.array(DateRangeView),
  pendingUnits: z.record(z.string(), z.array(DateRangeView)).optional(),
  changesReceived: z.number(),
  pushes: z.number(),
  daysPushed: z.number(),
  requests: z.number(),
  lastPushAt: z.string().optional(),
  lastError: z.string().optional(),
  runsContinued: z.number(),
});

export const ReservationRowView = z.object({
  id: z.string(),
  unitId: z.string().nullable(),
  channel: z.string(),
  channelReservationId: z.string().nullable(),
  status: z.string(),
  checkIn: z.string(),
  checkOut: z.string(),
  rooms: z.number(),
  guestName: z.string().nullable(),
  totalAmount: z.number().nullable(),
  currency: z.string().nullable(),
  paymentId: z.string().nullable(),
  holdExpiresAt: z.string().nullable(),
  reason: z.string().nullable(),
  workflowId: z.string(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});

export const OverbookingView = z.object({
  id: z.number(),
  unitId: z.string().nullable(),
  channel: z.string(),
  channelReservationId: z.string(),
  reservationId: z.string(),
  checkIn: z.string(),
  checkOut: z.string(),
  rooms: z.number(),
  reason: z.string(),
  details: z.unknown().describe('What the channel sent, as recorded'),
  channelNotified: z.boolean(),
  createdAt: z.date(),
});

export const UnackedMessageView = z.object({
  messageId: z.string(),
  kind: z.string(),
  channelReservationId: z.string(),
  receivedAt: z.string(),
  ageMs: z.number(),
  ackAttempts: z.number(),
  lastError: z.string().optional(),
});

export const ReservationPollView = z.object({
  channel: Channel,
  polls: z.number(),
  lastPollAt: z.string().optional(),
  lastError: z.string().optional(),
  received: z.number(),
  dispatched: z.number(),
  unacked: z.array(UnackedMessageView),
  oldestUnackedAgeMs: z.number(),
});

export const ResyncRunView = z.object({
  id: z.string(),
  channel: z.string(),
  status: z.enum(['running', 'completed', 'failed']),
  trigger: z.string(),
  pages: z.number(),
  reservationsChecked: z.number(),
  reservationsCorrected: z.number(),
  calendarDaysChecked: z.number(),
  calendarDaysCorrected: z.number(),
  details: z.unknown(),
  startedAt: z.date(),
  finishedAt: z.date().nullable(),
});

export const ResyncView = z.object({
  runId: z.string(),
  channel: Channel,
  status: z.enum(['running', 'completed', 'failed']),
  progress: z.object({
    phase: z.enum(['reservations', 'calendar', 'done']),
    cursor: z.string().optional(),
    pages: z.number(),
    reservationsChecked: z.number(),
    reservationsCorrected: z.number(),
    calendarDaysChecked: z.number(),
    calendarDaysCorrected: z.number(),
    unitsDone: z.array(z.string()),
  }),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  error: z.string().optional(),
});

export const ReservationChannelName = z.enum(RESERVATION_CHANNELS);
