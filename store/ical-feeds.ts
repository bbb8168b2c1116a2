// iCal feeds, both ways. Export feeds: a 256-bit token per unit and OTA, kept only as its SHA-256 (a
// leaked table serves no calendar), revocable. Import feeds: the OTA's URL sealed (it carries the
// OTA's secret), the poll's conditional-GET validators and its last outcome, which is the channel's
// health and staleness.
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, gte, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { calendarDays, icalExportFeeds, icalImportFeeds, properties, reservations, units } from '../db/schema';
import type { Sealer } from '../security/sealing';
import { addDays, eachDate, type DateRange } from '../domain/dates';
import { InventoryError } from './inventory-error';
import { newInventoryId } from './inventory-ids';

export type IcalExportFeedRow = typeof icalExportFeeds.$inferSelect;
export type IcalImportFeedRow = typeof icalImportFeeds.$inferSelect;

export interface IcalImportSettings {
  intervalMs: number;
  graceMs: number;
  staleAfterMs: number;
  staleBufferDays: number;
  /** 0 when left out: no unit kept back. */
  staleKeepBackUnits?: number;
}

/** A night an OTA's feed must show as taken, and why (never who). */
export interface BlockedNight {
  date: string;
  kind: 'reserved' | 'closed';
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
/** A feed's 256-bit token and the hash that is all the table keeps of it. */
const newExportToken = () => {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashToken(token) };
};
const sealContext = (feedId: string) => `ical_import_feeds.url:${feedId}`;

export type IcalFeedState = 'pending' | 'ok' | 'stale' | 'error';

/** An import feed's health: `stale` once its last successful import is older than its threshold. */
export function importFeedState(feed: Pick<IcalImportFeedRow, 'lastSuccessAt' | 'lastErrorAt' | 'staleAfterMs' | 'createdAt'>, nowMs: number): IcalFeedState {
  const lastSuccess = feed.lastSuccessAt?.getTime();
  const since = lastSuccess ?? feed.createdAt.getTime();
  if (nowMs - since > feed.staleAfterMs) return 'stale';
  if (feed.lastErrorAt && (!lastSuccess || feed.lastErrorAt.getTime() > lastSuccess)) return 'error';
  return lastSuccess ? 'ok' : 'pending';
}

/**
 * The safety buffer `channel` must keep while other OTAs' imports are stale: the nights closed from
 * today (the longest `staleBufferDays` among them) and the units kept back of every later night (the
 * most `staleKeepBackUnits`); zeros when none is stale. The OTA whose import is stale is not held back
 * by its own staleness. One rule for the iCal exports (blockedNights) and the channel pushes
 * (activities/bookings/stale-buffer.ts).
 */
export function staleBuffer(imports: readonly IcalImportFeedRow[], channel: string, nowMs: number): { days: number; keepBackUnits: number } {
  const stale = imports.filter((feed) => feed.channel !== channel && importFeedState(feed, nowMs) === 'stale');
  return {
    days: stale.reduce((longest, feed) => Math.max(longest, feed.staleBufferDays), 0),
    keepBackUnits: stale.reduce((most, feed) => Math.max(most, feed.staleKeepBackUnits), 0),
  };
}

/** Whether a feed's staleness holds anything back on the other channels. */
export const hasStaleBuffer = (feed: Pick<IcalImportFeedRow, 'staleBufferDays' | 'staleKeepBackUnits'>) => feed.staleBufferDays > 0 || feed.staleKeepBackUnits > 0;

/** How far ahead a kept-back unit is pushed to the channels when a feed turns stale or fresh. */
export const STALE_KEEP_BACK_HORIZON_DAYS = 365;

/** The import feed as lists show it: never its URL, only where it points. */
export function importFeedView(feed: IcalImportFeedRow, nowMs: number) {
  return {
    id: feed.id,
    unitId: feed.unitId,
    channel: feed.channel,
    origin: feed.urlOrigin,
    intervalMs: feed.intervalMs,
    graceMs: feed.graceMs,
    staleAfterMs: feed.staleAfterMs,
    staleBufferDays: feed.staleBufferDays,
    staleKeepBackUnits: feed.staleKeepBackUnits,
    state: importFeedState(feed, nowMs),
    lastAttemptAt: feed.lastAttemptAt?.toISOString() ?? null,
    lastSuccessAt: feed.lastSuccessAt?.toISOString() ?? null,
    lastError: feed.lastError,
    lastErrorAt: feed.lastErrorAt?.toISOString() ?? null,
    events: feed.eventCount,
    createdAt: feed.createdAt.toISOString(),
  };
}

export function createIcalFeedStore(db: Database, sealer: Sealer) {
  const activeImports = (unitId?: string) =>
    db
      .select()
      .from(icalImportFeeds)
      .where(and(isNull(icalImportFeeds.removedAt), unitId ? eq(icalImportFeeds.unitId, unitId) : sql`true`))
      .orderBy(asc(icalImportFeeds.createdAt));

  return {
    // ─── Export ─────────────────────────────────────────────────────────────────────────────────
    async createExportFeed(unitId: string, channel: string): Promise<{ feed: IcalExportFeedRow; token: string }> {
      const [unit] = await db.select({ id: units.id }).from(units).where(eq(units.id, unitId));
      if (!unit) throw new InventoryError(`unit ${unitId} not found`, 'not_found');
      const { token, tokenHash } = newExportToken();
      const [feed] = await db.insert(icalExportFeeds).values({ id: newInventoryId('icx'), unitId, channel, tokenHash }).returning();
      return { feed: feed!, token };
    },

    listExportFeeds: (unitId: string) => db.select().from(icalExportFeeds).where(eq(icalExportFeeds.unitId, unitId)).orderBy(asc(icalExportFeeds.createdAt)),

    async revokeExportFeed(unitId: string, feedId: string): Promise<IcalExportFeedRow | undefined> {
      const [row] = await db
        .update(icalExportFeeds)
        .set({ revokedAt: sql`coalesce(${icalExportFeeds.revokedAt}, now())` })
        .where(and(eq(icalExportFeeds.id, feedId), eq(icalExportFeeds.unitId, unitId)))
        .returning();
      return row;
    },

    /**
     * A new token for a live feed's OTA, the old one revoked in the same transaction: the way to see a
     * feed's URL again, since only its hash is kept. Undefined when the feed is not this unit's; a
     * revoked feed (a retried reissue among them) is a conflict, so a retry never revokes the new link.
     */
    async reissueExportFeed(unitId: string, feedId: string): Promise<{ feed: IcalExportFeedRow; token: string; replaced: IcalExportFeedRow } | undefined> {
      return db.transaction(async (tx) => {
        const [old] = await tx
          .select()
          .from(icalExportFeeds)
          .where(and(eq(icalExportFeeds.id, feedId), eq(icalExportFeeds.unitId, unitId)))
          .for('update');
        if (!old) return undefined;
        if (old.revokedAt) throw new InventoryError(`feed ${feedId} was revoked; issue a new link from a live feed, or create one`, 'conflict');
        const [replaced] = await tx.update(icalExportFeeds).set({ revokedAt: sql`now()` }).where(eq(icalExportFeeds.id, feedId)).returning();
        const { token, tokenHash } = newExportToken();
        const [feed] = await tx.insert(icalExportFeeds).values({ id: newInventoryId('icx'), unitId, channel: old.channel, tokenHash }).returning();
        return { feed: feed!, token, replaced: replaced! };
      });
    },

    /** The live feed a token opens; a revoked or unknown token opens nothing. */
    async findExportFeed(token: string): Promise<IcalExportFeedRow | undefined> {
      const [row] = await db
        .select()
        .from(icalExportFeeds)
        .where(and(eq(icalExportFeeds.tokenHash, hashToken(token)), isNull(icalExportFeeds.revokedAt)));
      return row;
    },

    async markExportFetched(feedId: string): Promise<void> {
      await db.update(icalExportFeeds).set({ lastFetchedAt: sql`now()` }).where(eq(icalExportFeeds.id, feedId));
    },

    /**
     * The nights `channel` must not sell, from today (the property's date) for `days`: closed nights,
     * nights not open for sale, nights with nothing left — except what `channel` sold itself, which it
     * knows — and, while another OTA's import is stale with a buffer, the buffer's nights and the
     * nights with no more than the kept-back units left.
     */
    async blockedNights(unitId: string, channel: string, today: string, days: number, nowMs: number): Promise<{ nights: BlockedNight[]; lastModified: Date }> {
      const range: DateRange = { from: today, to: addDays(today, days - 1) };
      const [rows, own, imports] = await Promise.all([
        db.select().from(calendarDays).where(and(eq(calendarDays.unitId, unitId), gte(calendarDays.date, range.from), lte(calendarDays.date, range.to))),
        db
          .select({ checkIn: reservations.checkIn, checkOut: reservations.checkOut, rooms: reservations.rooms, updatedAt: reservations.updatedAt })
          .from(reservations)
          .leftJoin(icalImportFeeds, and(eq(reservations.channel, 'ical'), sql`${reservations.channelReservationId} like ${icalImportFeeds.id} || '/%'`))
          .where(
            and(
              eq(reservations.unitId, unitId),
              inArray(reservations.status, ['held', 'confirmed']),
              sql`(${reservations.channel} = ${channel} or ${icalImportFeeds.channel} = ${channel})`,
              sql`${reservations.checkOut} > ${range.from}`,
            ),
          ),
        activeImports(unitId),
      ]);
      const ownRooms = new Map<string, number>();
      for (const stay of own) {
        for (const date of eachDate({ from: stay.checkIn, to: addDays(stay.checkOut, -1) })) ownRooms.set(date, (ownRooms.get(date) ?? 0) + stay.rooms);
      }
      const buffer = staleBuffer(imports, channel, nowMs);
      const byDate = new Map(rows.map((row) => [row.date, row]));
      const nights: BlockedNight[] = [];
      for (const [index, date] of eachDate(range).entries()) {
        const row = byDate.get(date);
        const bookedElsewhere = row ? row.booked - (ownRooms.get(date) ?? 0) : 0;
        if (row && !row.closed && index >= buffer.days && row.allotment - bookedElsewhere > buffer.keepBackUnits) continue;
        nights.push({ date, kind: bookedElsewhere > 0 ? 'reserved' : 'closed' });
      }
      // A new day moves the feed's window: it counts as a change for If-Modified-Since.
      const stamps = [Date.parse(`${today}T00:00:00Z`), ...rows.map((row) => row.updatedAt.getTime()), ...own.map((stay) => stay.updatedAt.getTime())];
      return { nights, lastModified: new Date(Math.min(nowMs, Math.max(...stamps))) };
    },

    timeZoneOf: (unitId: string) => unitTimeZone(db, unitId),

    // ─── Import ─────────────────────────────────────────────────────────────────────────────────
    async createImportFeed(input: { unitId: string; channel: string; url: string } & IcalImportSettings): Promise<IcalImportFeedRow> {
      const [unit] = await db.select({ id: units.id }).from(units).where(eq(units.id, input.unitId));
      if (!unit) throw new InventoryError(`unit ${input.unitId} not found`, 'not_found');
      const [existing] = await db
        .select({ id: icalImportFeeds.id })
        .from(icalImportFeeds)
        .where(and(eq(icalImportFeeds.unitId, input.unitId), eq(icalImportFeeds.channel, input.channel), isNull(icalImportFeeds.removedAt)));
      if (existing) throw new InventoryError(`unit ${input.unitId} already imports ${input.channel}'s feed (${existing.id}); remove it first`, 'conflict');
      const id = newInventoryId('ici');
      const [row] = await db
        .insert(icalImportFeeds)
        .values({
          id,
          unitId: input.unitId,
          channel: input.channel,
          urlSealed: sealer.seal(input.url, sealContext(id)),
          urlOrigin: new URL(input.url).origin,
          intervalMs: input.intervalMs,
          graceMs: input.graceMs,
          staleAfterMs: input.staleAfterMs,
          staleBufferDays: input.staleBufferDays,
          staleKeepBackUnits: input.staleKeepBackUnits ?? 0,
        })
        .returning();
      return row!;
    },

    listImportFeeds: activeImports,

    async getImportFeed(feedId: string): Promise<(IcalImportFeedRow & { url: string; timeZone: string }) | undefined> {
      const [row] = await db
        .select({ feed: icalImportFeeds, timeZone: properties.timezone })
        .from(icalImportFeeds)
        .innerJoin(units, eq(units.id, icalImportFeeds.unitId))
        .innerJoin(properties, eq(properties.id, units.propertyId))
        .where(eq(icalImportFeeds.id, feedId));
      if (!row) return undefined;
      return { ...row.feed, url: sealer.open(row.feed.urlSealed, sealContext(feedId)), timeZone: row.timeZone };
    },

    async unitOfImportFeed(feedId: string): Promise<string | undefined> {
      const [row] = await db.select({ unitId: icalImportFeeds.unitId }).from(icalImportFeeds).where(eq(icalImportFeeds.id, feedId));
      return row?.unitId;
    },

    async updateImportFeed(unitId: string, feedId: string, settings: Partial<IcalImportSettings>): Promise<IcalImportFeedRow | undefined> {
      const [row] = await db
        .update(icalImportFeeds)
        .set(settings)
        .where(and(eq(icalImportFeeds.id, feedId), eq(icalImportFeeds.unitId, unitId), isNull(icalImportFeeds.removedAt)))
        .returning();
      return row;
    },

    /** Stops the poll (its next round ends it); the reservations it made stay as they are. */
    async removeImportFeed(unitId: string, feedId: string): Promise<IcalImportFeedRow | undefined> {
      const [row] = await db
        .update(icalImportFeeds)
        .set({ removedAt: sql`now()` })
        .where(and(eq(icalImportFeeds.id, feedId), eq(icalImportFeeds.unitId, unitId), isNull(icalImportFeeds.removedAt)))
        .returning();
      return row;
    },

    async recordImportSuccess(feedId: string, outcome: { etag?: string | null; lastModified?: string | null; eventCount?: number }): Promise<void> {
      await db
        .update(icalImportFeeds)
        .set({
          lastAttemptAt: sql`now()`,
          lastSuccessAt: sql`now()`,
          ...(outcome.etag !== undefined ? { etag: outcome.etag } : {}),
          ...(outcome.lastModified !== undefined ? { lastModified: outcome.lastModified } : {}),
          ...(outcome.eventCount !== undefined ? { eventCount: outcome.eventCount } : {}),
        })
        .where(eq(icalImportFeeds.id, feedId));
    },

    async recordImportFailure(feedId: string, error: string): Promise<void> {
      await db.update(icalImportFeeds).set({ lastAttemptAt: sql`now()`, lastError: error, lastErrorAt: sql`now()` }).where(eq(icalImportFeeds.id, feedId));
    },

    /** Every active import feed with its state, for the metric and the health route. */
    async importFeedStates(nowMs: number) {
      const feeds = await activeImports();
      return feeds.map((feed) => ({ ...importFeedView(feed, nowMs), ageSeconds: feed.lastSuccessAt ? (nowMs - feed.lastSuccessAt.getTime()) / 1000 : null }));
    },

  };
}

export type IcalFeedStore = ReturnType<typeof createIcalFeedStore>;

/** The IANA time zone of a unit's property: its "today" and the dates imported events land on. */
export async function unitTimeZone(db: Database, unitId: string): Promise<string> {
  const [row] = await db.select({ timeZone: properties.timezone }).from(units).innerJoin(properties, eq(properties.id, units.propertyId)).where(eq(units.id, unitId));
  if (!row) throw new InventoryError(`unit ${unitId} not found`, 'not_found');
  return row.timeZone;
}
