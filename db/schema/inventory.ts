// The channel manager's inventory. Postgres is the one truth about what can be sold: every hold takes
// calendar rows in the same transaction as the reservation insert, and the CHECK constraints below
// make an overbooking impossible to commit, whatever the code above them does.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const properties = pgTable('properties', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  timezone: text('timezone').notNull().default('Europe/Stockholm'),
  currency: text('currency').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A unit (room type, cabin type, pitch type): `count` identical units are sold from one calendar. */
export const units = pgTable(
  'units',
  {
    id: text('id').primaryKey(),
    propertyId: text('property_id')
      .notNull()
      .references(() => properties.id),
    name: text('name').notNull(),
    count: integer('count').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('units_property_idx').on(table.propertyId), check('units_count_positive', sql`${table.count} >= 1`)],
);

/** Rate plans of a unit; the calendar price is the base rate every plan is sold at. */
export const ratePlans = pgTable(
  'rate_plans',
  {
    id: text('id').primaryKey(),
    unitId: text('unit_id')
      .notNull()
      .references(() => units.id),
    name: text('name').notNull(),
    code: text('code').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('rate_plans_unit_code_idx').on(table.unitId, table.code)],
);

/**
 * One row per unit and night. `allotment` is how many units are open for sale that night (booked ones
 * included), `booked` how many are held or reserved; what is left to sell is allotment - booked.
 * `calendar_days_no_overbooking` is the guarantee: a hold that would sell more than the allotment
 * cannot commit.
 */
export const calendarDays = pgTable(
  'calendar_days',
  {
    unitId: text('unit_id')
      .notNull()
      .references(() => units.id),
    date: date('date', { mode: 'string' }).notNull(),
    allotment: integer('allotment').notNull().default(0),
    booked: integer('booked').notNull().default(0),
    /** Nightly price in the currency's minor unit; null until the manager sets one. */
    price: bigint('price', { mode: 'number' }),
    currency: text('currency'),
    minNights: integer('min_nights').notNull().default(1),
    /** Min stay of any stay that includes this night (Channex `min_stay_through`); null = none. */
    minStayThrough: integer('min_stay_through'),
    /** Longest stay arriving on this night; null = no limit. */
    maxStay: integer('max_stay'),
    closedToArrival: boolean('closed_to_arrival').notNull().default(false),
    closedToDeparture: boolean('closed_to_departure').notNull().default(false),
    /** Stop sell: nothing new is sold for this night, whatever the allotment. */
    closed: boolean('closed').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.unitId, table.date] }),
    check('calendar_days_no_overbooking', sql`${table.booked} <= ${table.allotment}`),
    check('calendar_days_booked_nonnegative', sql`${table.booked} >= 0`),
    check('calendar_days_allotment_nonnegative', sql`${table.allotment} >= 0`),
    check('calendar_days_min_nights_positive', sql`${table.minNights} >= 1`),
    check('calendar_days_price_nonnegative', sql`${table.price} is null or ${table.price} >= 0`),
  ],
);

/** How a unit is known on a channel: Booking.com hotel/room/rate ids, or an Airbnb host and listing. */
export const channelMappings = pgTable(
  'channel_mappings',
  {
    id: text('id').primaryKey(),
    unitId: text('unit_id')
      .notNull()
      .references(() => units.id),
    channel: text('channel').notNull(),
    /** Booking.com hotel id (HotelCode); Airbnb host (user) id, whose OAuth tokens the calls use. */
    externalAccountId: text('external_account_id').notNull(),
    /** Booking.com room id (InvTypeCode); Airbnb listing id. */
    externalListingId: text('external_listing_id').notNull(),
    /** Booking.com rate plan id (RatePlanCode); unused for Airbnb. */
    externalRateId: text('external_rate_id'),
    ratePlanId: text('rate_plan_id').references(() => ratePlans.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('channel_mappings_unit_channel_idx').on(table.unitId, table.channel),
    uniqueIndex('channel_mappings_external_idx').on(table.channel, table.externalAccountId, table.externalListingId),
  ],
);

/** `overbooked`: a channel's reservation Skerry could not place that stands on the channel (Booking.com), for a person. */
export const RESERVATION_STATUSES = ['held', 'confirmed', 'cancelled', 'released', 'rejected', 'overbooked'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/**
 * Reservations from every channel. Only `held` and `confirmed` rows take inventory; leaving those
 * statuses gives the nights back in the same transaction.
 */
export const reservations = pgTable(
  'reservations',
  {
    id: text('id').primaryKey(),
    unitId: text('unit_id').references(() => units.id),
    channel: text('channel').notNull(),
    channelReservationId: text('channel_reservation_id'),
    status: text('status').$type<ReservationStatus>().notNull(),
    checkIn: date('check_in', { mode: 'string' }).notNull(),
    checkOut: date('check_out', { mode: 'string' }).notNull(),
    rooms: integer('rooms').notNull().default(1),
    guestName: text('guest_name'),
    totalAmount: bigint('total_amount', { mode: 'number' }),
    currency: text('currency'),
    paymentId: text('payment_id'),
    holdExpiresAt: timestamp('hold_expires_at', { withTimezone: true }),
    reason: text('reason'),
    workflowId: text('workflow_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('reservations_channel_ref_idx').on(table.channel, table.channelReservationId),
    index('reservations_unit_stay_idx').on(table.unitId, table.checkIn),
    // Finding a booking's payment (the payment list's search by booking id).
    index('reservations_payment_idx').on(table.paymentId),
    check('reservations_stay_order', sql`${table.checkOut} > ${table.checkIn}`),
    check('reservations_rooms_positive', sql`${table.rooms} >= 1`),
  ],
);

/** What each channel was last told, per unit and night: the sync's memory, and the calendar view's. */
export const channelCalendarState = pgTable(
  'channel_calendar_state',
  {
    unitId: text('unit_id')
      .notNull()
      .references(() => units.id),
    channel: text('channel').notNull(),
    date: date('date', { mode: 'string' }).notNull(),
    available: integer('available').notNull(),
    price: bigint('price', { mode: 'number' }),
    currency: text('currency'),
    minNights: integer('min_nights').notNull(),
    minStayThrough: integer('min_stay_through'),
    maxStay: integer('max_stay'),
    closedToArrival: boolean('closed_to_arrival').notNull(),
    closedToDeparture: boolean('closed_to_departure').notNull().default(false),
    closed: boolean('closed').notNull(),
    pushedAt: timestamp('pushed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.unitId, table.channel, table.date] })],
);

/**
 * Nights a push to a channel failed for (the attempt errored), until a later push of them succeeds
 * and deletes the row: the calendar shows them `failed` rather than merely pending.
 */
export const channelPushFailures = pgTable(
  'channel_push_failures',
  {
    unitId: text('unit_id')
      .notNull()
      .references(() => units.id),
    channel: text('channel').notNull(),
    date: date('date', { mode: 'string' }).notNull(),
    failedAt: timestamp('failed_at', { withTimezone: true }).notNull().defaultNow(),
    error: text('error').notNull(),
  },
  (table) => [primaryKey({ columns: [table.unitId, table.channel, table.date] })],
);

/** A channel sold what was no longer there (a race between channels). Each one is an alert. */
export const overbookingEvents = pgTable(
  'overbooking_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    unitId: text('unit_id'),
    channel: text('channel').notNull(),
    channelReservationId: text('channel_reservation_id').notNull(),
    reservationId: text('reservation_id').notNull(),
    checkIn: date('check_in', { mode: 'string' }).notNull(),
    checkOut: date('check_out', { mode: 'string' }).notNull(),
    rooms: integer('rooms').notNull(),
    reason: text('reason').notNull(),
    details: jsonb('details'),
    channelNotified: boolean('channel_notified').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('overbooking_events_reservation_idx').on(table.reservationId, table.channelReservationId, table.checkIn, table.checkOut)],
);

/**
 * Reservation messages pulled from a channel's queue (Booking.com's new/modified/cancelled), until
 * they are acknowledged. `acked_at is null` rows are what the channel is still waiting for.
 */
export const channelMessages = pgTable(
  'channel_messages',
  {
    channel: text('channel').notNull(),
    messageId: text('message_id').notNull(),
    kind: text('kind').$type<'new' | 'modified' | 'cancelled'>().notNull(),
    channelReservationId: text('channel_reservation_id').notNull(),
    reservationId: text('reservation_id').notNull(),
    payload: jsonb('payload').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    dispatchedAt: timestamp('dispatched_at', { withTimezone: true }),
    ackedAt: timestamp('acked_at', { withTimezone: true }),
    ackOutcome: text('ack_outcome'),
    ackAttempts: integer('ack_attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (table) => [
    primaryKey({ columns: [table.channel, table.messageId] }),
    index('channel_messages_unacked_idx').on(table.channel, table.ackedAt),
  ],
);

/** A channel account Skerry acts for (an Airbnb host): OAuth tokens, encrypted at rest (AES-256-GCM). */
export const channelAccounts = pgTable(
  'channel_accounts',
  {
    id: text('id').primaryKey(),
    channel: text('channel').notNull(),
    externalAccountId: text('external_account_id').notNull(),
    accessTokenEnc: text('access_token_enc').notNull(),
    refreshTokenEnc: text('refresh_token_enc').notNull(),
    accessTokenExpiresAt: timestamp('access_token_expires_at', { withTimezone: true }).notNull(),
    scope: text('scope'),
    status: text('status').$type<'active' | 'revoked'>().notNull().default('active'),
    refreshCount: integer('refresh_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('channel_accounts_external_idx').on(table.channel, table.externalAccountId)],
);

/** Each full resync of a channel: progress and the drift it found and corrected. */
export const channelResyncRuns = pgTable(
  'channel_resync_runs',
  {
    id: text('id').primaryKey(),
    channel: text('channel').notNull(),
    status: text('status').$type<'running' | 'completed' | 'failed'>().notNull(),
    trigger: text('trigger').notNull(),
    pages: integer('pages').notNull().default(0),
    reservationsChecked: integer('reservations_checked').notNull().default(0),
    reservationsCorrected: integer('reservations_corrected').notNull().default(0),
    calendarDaysChecked: integer('calendar_days_checked').notNull().default(0),
    calendarDaysCorrected: integer('calendar_days_corrected').notNull().default(0),
    details: jsonb('details'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (table) => [index('channel_resync_runs_channel_idx').on(table.channel, table.startedAt)],
);
