// iCal, the channel every OTA speaks: feeds Skerry publishes per unit and OTA (the OTA imports them)
// and the OTAs' own feeds Skerry polls. A feed URL is a bearer secret both ways: ours are kept only
// as a hash, theirs (Airbnb's carries `?s=<secret>`) sealed like OAuth tokens.
import { date, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { units } from './inventory';

/** A feed Skerry serves at `/ical/<token>.ics` for one unit, as seen by one OTA (`channel`). */
export const icalExportFeeds = pgTable(
  'ical_export_feeds',
  {
    id: text('id').primaryKey(),
    unitId: text('unit_id')
      .notNull()
      .references(() => units.id),
    /** The OTA that imports this feed (airbnb, booking_com, vrbo…): its own bookings are left out of it. */
    channel: text('channel').notNull(),
    /** SHA-256 of the 256-bit token; the token itself is shown once, at creation. */
    tokenHash: text('token_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastFetchedAt: timestamp('last_fetched_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('ical_export_feeds_token_idx').on(table.tokenHash), index('ical_export_feeds_unit_idx').on(table.unitId)],
);

/** An OTA's own export feed for a unit, polled on a schedule; its events become reservations. */
export const icalImportFeeds = pgTable(
  'ical_import_feeds',
  {
    id: text('id').primaryKey(),
    unitId: text('unit_id')
      .notNull()
      .references(() => units.id),
    /** The OTA whose calendar this is (airbnb, booking_com, vrbo…). */
    channel: text('channel').notNull(),
    /** The URL, sealed (security/sealing.ts): OTAs put a secret in it. */
    urlSealed: text('url_sealed').notNull(),
    /** Scheme and host only, for lists and logs. */
    urlOrigin: text('url_origin').notNull(),
    intervalMs: integer('interval_ms').notNull(),
    /** A vanished event's nights are released only after it has been missing this long. */
    graceMs: integer('grace_ms').notNull(),
    /** The feed is stale when its last successful import is older than this. */
    staleAfterMs: integer('stale_after_ms').notNull(),
    /** While stale: every other channel's feed shows this many nights from today as closed (0 = no buffer). */
    staleBufferDays: integer('stale_buffer_days').notNull().default(0),
    /** While stale: every other channel sells this many units fewer of every night from today (1 = the last unit is kept back). */
    staleKeepBackUnits: integer('stale_keep_back_units').notNull().default(0),
    etag: text('etag'),
    lastModified: text('last_modified'),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    lastError: text('last_error'),
    lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
    eventCount: integer('event_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    removedAt: timestamp('removed_at', { withTimezone: true }),
  },
  (table) => [index('ical_import_feeds_unit_idx').on(table.unitId)],
);

/** Each VEVENT an import feed carried, by UID: what was handed to its reservation and what is pending. */
export const icalImportEvents = pgTable(
  'ical_import_events',
  {
    feedId: text('feed_id')
      .notNull()
      .references(() => icalImportFeeds.id),
    uid: text('uid').notNull(),
    reservationId: text('reservation_id').notNull(),
    channelReservationId: text('channel_reservation_id').notNull(),
    checkIn: date('check_in', { mode: 'string' }).notNull(),
    checkOut: date('check_out', { mode: 'string' }).notNull(),
    /** Bumped whenever the event's nights change or it vanishes; the message sent carries it. */
    version: integer('version').notNull().default(1),
    /** The version last handed to the reservation workflow (null: not yet). */
    dispatchedVersion: integer('dispatched_version'),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    missingSince: timestamp('missing_since', { withTimezone: true }),
    /** Gone from the feed for longer than the grace period: released. */
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
  },
  (table) => [primaryKey({ columns: [table.feedId, table.uid] })],
);
