// The channel manager's inventory in Postgres. Every write that moves availability is one
// transaction: the reservation row and the calendar rows it takes (or gives back) commit together,
// and the calendar's CHECK constraint refuses an overbooking even if the checks here were wrong.
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gte, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import {
  calendarDays,
  channelCalendarState,
  channelMappings,
  channelMessages,
  channelResyncRuns,
  overbookingEvents,
  properties,
  ratePlans,
  reservations,
  units,
  type ReservationStatus as ReservationRowStatus,
} from '../db/schema';
import { addDays, daysBetween, eachDate, type DateRange } from '../domain/dates';
import type { ChannelDay, ChannelMapping, ChannelName, HoldResult, ReservationChannel, UnackedMessage } from '../domain/bookings';
import type { Money } from '../domain/money';

export const newInventoryId = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 24)}`;

export type PropertyRow = typeof properties.$inferSelect;
export type UnitRow = typeof units.$inferSelect;
export type RatePlanRow = typeof ratePlans.$inferSelect;
export type CalendarRow = typeof calendarDays.$inferSelect;
export type ReservationRow = typeof reservations.$inferSelect;
export type MappingRow = typeof channelMappings.$inferSelect;
export type ChannelStateRow = typeof channelCalendarState.$inferSelect;
export type OverbookingRow = typeof overbookingEvents.$inferSelect;
export type ChannelMessageRow = typeof channelMessages.$inferSelect;
export type ResyncRunRow = typeof channelResyncRuns.$inferSelect;

/** One calendar edit: every field left out keeps its current value. */
export interface CalendarUpdate {
  from: string;
  to: string;
  /** Units to sell on each night, not counting the ones already booked (capped at the unit's count). */
  available?: number;
  price?: Money;
  minNights?: number;
  closedToArrival?: boolean;
  closed?: boolean;
}

export interface HoldRequest {
  reservationId: string;
  unitId: string;
  channel: ReservationChannel;
  channelReservationId?: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  guestName?: string;
  status: 'held' | 'confirmed';
  /** Direct bookings respect stop-sell, closed-to-arrival and minimum stay; channels enforced theirs. */
  enforceRestrictions: boolean;
  holdExpiresAt?: string;
  paymentId?: string;
  /** A channel's own total (what the guest paid there); otherwise the calendar's prices. */
  total?: Money;
  workflowId: string;
}

export class InventoryError extends Error {
  override readonly name = 'InventoryError';
  constructor(
    message: string,
    readonly code: 'not_found' | 'invalid' | 'conflict',
    readonly field?: string,
  ) {
    super(message);
  }
}

const ACTIVE: ReservationRowStatus[] = ['held', 'confirmed'];

/** The Postgres error behind a drizzle error (drizzle wraps it as `cause`). */
function pgError(err: unknown): { code?: string; constraint_name?: string; detail?: string } | undefined {
  for (let current: unknown = err; current; current = (current as { cause?: unknown }).cause) {
    if (typeof (current as { code?: unknown }).code === 'string') return current as { code: string; constraint_name?: string };
  }
  return undefined;
}

export function isOverbookingViolation(err: unknown): boolean {
  const pg = pgError(err);
  return pg?.code === '23514' && (pg.constraint_name ?? '').startsWith('calendar_days_');
}

function toChannelDay(row: CalendarRow): ChannelDay {
  return {
    date: row.date,
    available: Math.max(0, row.allotment - row.booked),
    price: row.price ?? undefined,
    currency: row.currency ?? undefined,
    minNights: row.minNights,
    closedToArrival: row.closedToArrival,
    closed: row.closed,
  };
}

export function toMapping(row: MappingRow): ChannelMapping {
  return {
    mappingId: row.id,
    unitId: row.unitId,
    channel: row.channel as ChannelName,
    externalAccountId: row.externalAccountId,
    externalListingId: row.externalListingId,
    externalRateId: row.externalRateId ?? undefined,
  };
}

/** Two states of a night are the same for a channel when everything it is told is equal. */
export function sameChannelDay(a: ChannelDay, b: ChannelDay | undefined): boolean {
  return (
    b !== undefined &&
    a.available === b.available &&
    (a.price ?? null) === (b.price ?? null) &&
    (a.currency ?? null) === (b.currency ?? null) &&
    a.minNights === b.minNights &&
    a.closedToArrival === b.closedToArrival &&
    a.closed === b.closed
  );
}

export function createInventoryStore(db: Database) {
  async function unitOrThrow(unitId: string): Promise<UnitRow> {
    const [unit] = await db.select().from(units).where(eq(units.id, unitId));
    if (!unit) throw new InventoryError(`unit ${unitId} not found`, 'not_found');
    return unit;
  }

  const rangeCondition = (unitId: string, range: DateRange) =>
    and(eq(calendarDays.unitId, unitId), gte(calendarDays.date, range.from), lte(calendarDays.date, range.to));

  return {
    // ─── Properties, units, rate plans, mappings ───────────────────────────────────────────────
    async createProperty(input: { name: string; currency: string; timezone?: string }): Promise<PropertyRow> {
      const [row] = await db
        .insert(properties)
        .values({ id: newInventoryId('prop'), name: input.name, currency: input.currency, timezone: input.timezone ?? 'Europe/Stockholm' })
        .returning();
      return row!;
    },

    listProperties: () => db.select().from(properties).orderBy(asc(properties.createdAt)),

    async getProperty(propertyId: string): Promise<PropertyRow> {
      const [row] = await db.select().from(properties).where(eq(properties.id, propertyId));
      if (!row) throw new InventoryError(`property ${propertyId} not found`, 'not_found');
      return row;
    },

    async createUnit(input: { propertyId: string; name: string; count: number; ratePlans?: Array<{ name: string; code: string }> }) {
      const property = await this.getProperty(input.propertyId);
      return db.transaction(async (tx) => {
        const [unit] = await tx.insert(units).values({ id: newInventoryId('unit'), propertyId: property.id, name: input.name, count: input.count }).returning();
        const plans = input.ratePlans?.length ? input.ratePlans : [{ name: 'Standard rate', code: 'STANDARD' }];
        const rates = await tx
          .insert(ratePlans)
          .values(plans.map((plan) => ({ id: newInventoryId('rate'), unitId: unit!.id, name: plan.name, code: plan.code })))
          .returning();
        return { ...unit!, ratePlans: rates };
      });
    },

    async listUnits(propertyId: string) {
      await this.getProperty(propertyId);
      const rows = await db.select().from(units).where(eq(units.propertyId, propertyId)).orderBy(asc(units.createdAt));
      const plans = rows.length ? await db.select().from(ratePlans).where(inArray(ratePlans.unitId, rows.map((row) => row.id))) : [];
      return rows.map((row) => ({ ...row, ratePlans: plans.filter((plan) => plan.unitId === row.id) }));
    },

    async getUnit(unitId: string) {
      const unit = await unitOrThrow(unitId);
      const plans = await db.select().from(ratePlans).where(eq(ratePlans.unitId, unitId));
      const [property] = await db.select().from(properties).where(eq(properties.id, unit.propertyId));
      return { ...unit, ratePlans: plans, currency: property!.currency };
    },

    async createMapping(input: {
      unitId: string;
      channel: ChannelName;
      externalAccountId: string;
      externalListingId: string;
      externalRateId?: string;
      ratePlanId?: string;
    }): Promise<MappingRow> {
      await unitOrThrow(input.unitId);
      try {
        const [row] = await db
          .insert(channelMappings)
          .values({
            id: newInventoryId('map'),
            unitId: input.unitId,
            channel: input.channel,
            externalAccountId: input.externalAccountId,
            externalListingId: input.externalListingId,
            externalRateId: input.externalRateId ?? null,
            ratePlanId: input.ratePlanId ?? null,
          })
          .returning();
        return row!;
      } catch (err) {
        if (pgError(err)?.code === '23505') {
          throw new InventoryError(`unit ${input.unitId} or ${input.channel} listing ${input.externalListingId} is already mapped`, 'conflict');
        }
        throw err;
      }
    },

    listMappings: (unitId: string) => db.select().from(channelMappings).where(eq(channelMappings.unitId, unitId)),

    listChannelMappings: (channel: ChannelName) =>
      db.select().from(channelMappings).where(eq(channelMappings.channel, channel)).orderBy(asc(channelMappings.unitId)),

    async getMapping(unitId: string, channel: ChannelName): Promise<ChannelMapping | undefined> {
      const [row] = await db
        .select()
        .from(channelMappings)
        .where(and(eq(channelMappings.unitId, unitId), eq(channelMappings.channel, channel)));
      return row ? toMapping(row) : undefined;
    },

    async findMappingByExternal(channel: ChannelName, externalAccountId: string, externalListingId: string): Promise<ChannelMapping | undefined> {
      const [row] = await db
        .select()
        .from(channelMappings)
        .where(
          and(
            eq(channelMappings.channel, channel),
            eq(channelMappings.externalAccountId, externalAccountId),
            eq(channelMappings.externalListingId, externalListingId),
          ),
        );
      return row ? toMapping(row) : undefined;
    },

    // ─── Calendar ──────────────────────────────────────────────────────────────────────────────
    /**
     * Applies calendar edits in one transaction. A night's allotment becomes booked + available
     * (capped at the unit's count), so an edit can never undercut a reservation already taken.
     */
    async updateCalendar(unitId: string, updates: CalendarUpdate[]): Promise<DateRange[]> {
      const unit = await unitOrThrow(unitId);
      await db.transaction(async (tx) => {
        for (const update of updates) {
          const available = update.available ?? null;
          const price = update.price?.value ?? null;
          const currency = update.price?.currency ?? null;
          const minNights = update.minNights ?? null;
          const cta = update.closedToArrival ?? null;
          const closed = update.closed ?? null;
          await tx.execute(sql`
            insert into calendar_days as c (unit_id, date, allotment, booked, price, currency, min_nights, closed_to_arrival, closed, updated_at)
            select ${unitId}, d::date, least(coalesce(${available}::int, 0), ${unit.count}::int), 0,
                   ${price}::bigint, ${currency}::text, coalesce(${minNights}::int, 1), coalesce(${cta}::boolean, false), coalesce(${closed}::boolean, false), now()
            from generate_series(${update.from}::date, ${update.to}::date, interval '1 day') as d
            on conflict (unit_id, date) do update set
              allotment = case when ${available}::int is null then c.allotment else least(c.booked + ${available}::int, greatest(${unit.count}::int, c.booked)) end,
              price = coalesce(${price}::bigint, c.price),
              currency = coalesce(${currency}::text, c.currency),
              min_nights = coalesce(${minNights}::int, c.min_nights),
              closed_to_arrival = coalesce(${cta}::boolean, c.closed_to_arrival),
              closed = coalesce(${closed}::boolean, c.closed),
              updated_at = now()
          `);
        }
      });
      return updates.map((update) => ({ from: update.from, to: update.to }));
    },

    /** What each night should look like on every channel (nights without a calendar row are left out). */
    async desiredDays(unitId: string, ranges: readonly DateRange[]): Promise<ChannelDay[]> {
      if (ranges.length === 0) return [];
      const rows = await db
        .select()
        .from(calendarDays)
        .where(sql`${calendarDays.unitId} = ${unitId} and (${sql.join(ranges.map((range) => sql`(${calendarDays.date} between ${range.from} and ${range.to})`), sql` or `)})`)
        .orderBy(asc(calendarDays.date));
      return rows.map(toChannelDay);
    },

    async readChannelState(unitId: string, channel: ChannelName, ranges: readonly DateRange[]): Promise<Map<string, ChannelDay>> {
      if (ranges.length === 0) return new Map();
      const rows = await db
        .select()
        .from(channelCalendarState)
        .where(
          sql`${channelCalendarState.unitId} = ${unitId} and ${channelCalendarState.channel} = ${channel} and (${sql.join(
            ranges.map((range) => sql`(${channelCalendarState.date} between ${range.from} and ${range.to})`),
            sql` or `,
          )})`,
        );
      return new Map(
        rows.map((row) => [
          row.date,
          {
            date: row.date,
            available: row.available,
            price: row.price ?? undefined,
            currency: row.currency ?? undefined,
            minNights: row.minNights,
            closedToArrival: row.closedToArrival,
            closed: row.closed,
          },
        ]),
      );
    },

    /** Remembers what a channel was told (after it accepted the push). */
    async recordChannelState(unitId: string, channel: ChannelName, days: readonly ChannelDay[]): Promise<void> {
      for (let start = 0; start < days.length; start += 500) {
        const chunk = days.slice(start, start + 500);
        await db
          .insert(channelCalendarState)
          .values(
            chunk.map((day) => ({
              unitId,
              channel,
              date: day.date,
              available: day.available,
              price: day.price ?? null,
              currency: day.currency ?? null,
              minNights: day.minNights,
              closedToArrival: day.closedToArrival,
              closed: day.closed,
            })),
          )
          .onConflictDoUpdate({
            target: [channelCalendarState.unitId, channelCalendarState.channel, channelCalendarState.date],
            set: {
              available: sql`excluded.available`,
              price: sql`excluded.price`,
              currency: sql`excluded.currency`,
              minNights: sql`excluded.min_nights`,
              closedToArrival: sql`excluded.closed_to_arrival`,
              closed: sql`excluded.closed`,
              pushedAt: sql`now()`,
            },
          });
      }
    },

    /** Forgets what a channel was told for these nights (it shows otherwise): the next push sends them. */
    async forgetChannelState(unitId: string, channel: ChannelName, dates: readonly string[]): Promise<void> {
      if (dates.length === 0) return;
      await db
        .delete(channelCalendarState)
        .where(and(eq(channelCalendarState.unitId, unitId), eq(channelCalendarState.channel, channel), inArray(channelCalendarState.date, [...dates])));
    },

    /** The calendar with, per night, what each channel was last told. */
    async readCalendar(unitId: string, range: DateRange) {
      await unitOrThrow(unitId);
      const [rows, told] = await Promise.all([
        db.select().from(calendarDays).where(rangeCondition(unitId, range)).orderBy(asc(calendarDays.date)),
        db
          .select()
          .from(channelCalendarState)
          .where(and(eq(channelCalendarState.unitId, unitId), gte(channelCalendarState.date, range.from), lte(channelCalendarState.date, range.to))),
      ]);
      const byDate = new Map(rows.map((row) => [row.date, row]));
      return eachDate(range).map((date) => {
        const row = byDate.get(date);
        const day = row ? toChannelDay(row) : undefined;
        const channels: Record<string, ChannelDay & { pushedAt: string; inSync: boolean }> = {};
        for (const state of told.filter((entry) => entry.date === date)) {
          const toldDay: ChannelDay = {
            date,
            available: state.available,
            price: state.price ?? undefined,
            currency: state.currency ?? undefined,
            minNights: state.minNights,
            closedToArrival: state.closedToArrival,
            closed: state.closed,
          };
          channels[state.channel] = { ...toldDay, pushedAt: state.pushedAt.toISOString(), inSync: day ? sameChannelDay(day, toldDay) : false };
        }
        return { date, row, day, channels };
      });
    },

    // ─── Holds and reservations ────────────────────────────────────────────────────────────────
    /**
     * Takes the nights of a stay and inserts the reservation, in one transaction. Idempotent by
     * reservation id: a retried hold that already committed answers the same outcome.
     */
    async hold(request: HoldRequest): Promise<HoldResult> {
      const nights = daysBetween(request.checkIn, request.checkOut);
      if (nights < 1) return { ok: false, code: 'restricted', reason: 'check-out must be after check-in', dates: [] };
      const lastNight = addDays(request.checkOut, -1);
      try {
        return await db.transaction(async (tx) => {
          const [existing] = await tx.select().from(reservations).where(eq(reservations.id, request.reservationId)).for('update');
          if (existing) {
            const total = existing.totalAmount !== null && existing.currency ? { value: existing.totalAmount, currency: existing.currency } : undefined;
            if (ACTIVE.includes(existing.status)) return { ok: true, total, duplicate: true };
            return { ok: false, code: 'conflict', reason: existing.reason ?? `reservation is ${existing.status}`, dates: [] };
          }
          const [unit] = await tx.select().from(units).where(eq(units.id, request.unitId));
          if (!unit) return { ok: false, code: 'unknown_unit', reason: `unit ${request.unitId} not found`, dates: [] };

          // Lock the nights in date order, so concurrent holds on overlapping stays queue, never deadlock.
          const rows = await tx
            .select()
            .from(calendarDays)
            .where(and(eq(calendarDays.unitId, request.unitId), gte(calendarDays.date, request.checkIn), lte(calendarDays.date, lastNight)))
            .orderBy(asc(calendarDays.date))
            .for('update');
          const refusal = refuseHold(request, rows, nights);
          if (refusal) return refusal;

          await tx
            .update(calendarDays)
            .set({ booked: sql`${calendarDays.booked} + ${request.rooms}`, updatedAt: sql`now()` })
            .where(and(eq(calendarDays.unitId, request.unitId), gte(calendarDays.date, request.checkIn), lte(calendarDays.date, lastNight)));

          const priced = rows.every((row) => row.price !== null) && new Set(rows.map((row) => row.currency)).size === 1;
          const total =
            request.total ??
            (priced ? { value: rows.reduce((sum, row) => sum + row.price!, 0) * request.rooms, currency: rows[0]!.currency! } : undefined);
          await tx.insert(reservations).values({
            id: request.reservationId,
            unitId: request.unitId,
            channel: request.channel,
            channelReservationId: request.channelReservationId ?? null,
            status: request.status,
            checkIn: request.checkIn,
            checkOut: request.checkOut,
            rooms: request.rooms,
            guestName: request.guestName ?? null,
            totalAmount: total?.value ?? null,
            currency: total?.currency ?? null,
            paymentId: request.paymentId ?? null,
            holdExpiresAt: request.holdExpiresAt ? new Date(request.holdExpiresAt) : null,
            workflowId: request.workflowId,
          });
          return { ok: true, total, duplicate: false };
        });
      } catch (err) {
        // The constraint is the last line: a race the row locks did not cover still cannot oversell.
        if (isOverbookingViolation(err)) {
          return { ok: false, code: 'sold_out', reason: 'no availability left (refused by the calendar constraint)', dates: [] };
        }
        throw err;
      }
    },

    /** Gives a held or confirmed reservation's nights back; idempotent (a second call changes nothing). */
    async release(input: { reservationId: string; status: 'cancelled' | 'released'; reason?: string }): Promise<{ released: boolean; range?: DateRange; row?: ReservationRow }> {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(reservations)
          .set({ status: input.status, reason: input.reason ?? null, updatedAt: sql`now()`, holdExpiresAt: null })
          .where(and(eq(reservations.id, input.reservationId), inArray(reservations.status, ACTIVE)))
          .returning();
        if (!row) {
          const [current] = await tx.select().from(reservations).where(eq(reservations.id, input.reservationId));
          return { released: false, row: current };
        }
        const range = { from: row.checkIn, to: addDays(row.checkOut, -1) };
        await tx
          .update(calendarDays)
          .set({ booked: sql`${calendarDays.booked} - ${row.rooms}`, updatedAt: sql`now()` })
          .where(rangeCondition(row.unitId!, range));
        return { released: true, range, row };
      });
    },

    /** A held reservation becomes confirmed (its payment succeeded); false when it was released meanwhile. */
    async confirm(reservationId: string): Promise<boolean> {
      const rows = await db
        .update(reservations)
        .set({ status: 'confirmed', holdExpiresAt: null, updatedAt: sql`now()` })
        .where(and(eq(reservations.id, reservationId), inArray(reservations.status, ACTIVE)))
        .returning({ id: reservations.id });
      return rows.length > 0;
    },

    /**
     * Moves an active reservation to new dates or room count in one transaction: the old nights are
     * given back and the new ones taken, or nothing changes at all.
     */
    async modify(input: { reservationId: string; checkIn: string; checkOut: string; rooms: number; total?: Money }): Promise<HoldResult & { previous?: DateRange; next?: DateRange }> {
      const nights = daysBetween(input.checkIn, input.checkOut);
      if (nights < 1) return { ok: false, code: 'restricted', reason: 'check-out must be after check-in', dates: [] };
      try {
        return await db.transaction(async (tx) => {
          const [row] = await tx.select().from(reservations).where(eq(reservations.id, input.reservationId)).for('update');
          if (!row || !ACTIVE.includes(row.status)) {
            return { ok: false, code: 'conflict', reason: `reservation ${input.reservationId} is not active`, dates: [] } as const;
          }
          const previous = { from: row.checkIn, to: addDays(row.checkOut, -1) };
          const next = { from: input.checkIn, to: addDays(input.checkOut, -1) };
          await tx
            .update(calendarDays)
            .set({ booked: sql`${calendarDays.booked} - ${row.rooms}` })
            .where(rangeCondition(row.unitId!, previous));
          const rows = await tx
            .select()
            .from(calendarDays)
            .where(rangeCondition(row.unitId!, next))
            .orderBy(asc(calendarDays.date))
            .for('update');
          // Refused: throwing rolls back the release of the old nights too, then the refusal is answered.
          const refusal = refuseHold({ ...input, enforceRestrictions: false }, rows, nights);
          if (refusal) throw new RefusedModification(refusal);
          await tx
            .update(calendarDays)
            .set({ booked: sql`${calendarDays.booked} + ${input.rooms}`, updatedAt: sql`now()` })
            .where(rangeCondition(row.unitId!, next));
          await tx
            .update(reservations)
            .set({
              checkIn: input.checkIn,
              checkOut: input.checkOut,
              rooms: input.rooms,
              ...(input.total ? { totalAmount: input.total.value, currency: input.total.currency } : {}),
              updatedAt: sql`now()`,
            })
            .where(eq(reservations.id, row.id));
          return { ok: true, duplicate: false, previous, next } as const;
        });
      } catch (err) {
        if (err instanceof RefusedModification) return err.refusal;
        if (isOverbookingViolation(err)) {
          const [row] = await db.select().from(reservations).where(eq(reservations.id, input.reservationId));
          const rows = row
            ? await db.select().from(calendarDays).where(rangeCondition(row.unitId!, { from: input.checkIn, to: addDays(input.checkOut, -1) }))
            : [];
          const refusal = row ? refuseHold({ ...input, enforceRestrictions: false }, rows, nights, row) : undefined;
          return refusal ?? { ok: false, code: 'sold_out', reason: 'no availability left for the new dates', dates: [] };
        }
        throw err;
      }
    },

    /** A channel reservation that could not be held is kept, as rejected, for the record. */
    async recordRejected(input: Omit<HoldRequest, 'status' | 'enforceRestrictions'> & { reason: string }): Promise<void> {
      await db
        .insert(reservations)
        .values({
          id: input.reservationId,
          unitId: input.unitId || null,
          channel: input.channel,
          channelReservationId: input.channelReservationId ?? null,
          status: 'rejected',
          checkIn: input.checkIn,
          checkOut: input.checkOut,
          rooms: input.rooms,
          guestName: input.guestName ?? null,
          totalAmount: input.total?.value ?? null,
          currency: input.total?.currency ?? null,
          reason: input.reason,
          workflowId: input.workflowId,
        })
        .onConflictDoNothing();
    },

    async recordOverbooking(input: {
      unitId?: string;
      channel: ChannelName;
      channelReservationId: string;
      reservationId: string;
      checkIn: string;
      checkOut: string;
      rooms: number;
      reason: string;
      details?: unknown;
    }): Promise<OverbookingRow> {
      const [row] = await db
        .insert(overbookingEvents)
        .values({
          unitId: input.unitId ?? null,
          channel: input.channel,
          channelReservationId: input.channelReservationId,
          reservationId: input.reservationId,
          checkIn: input.checkIn,
          checkOut: input.checkOut,
          rooms: input.rooms,
          reason: input.reason,
          details: (input.details ?? null) as object,
        })
        .onConflictDoUpdate({
          target: [overbookingEvents.reservationId, overbookingEvents.channelReservationId, overbookingEvents.checkIn, overbookingEvents.checkOut],
          set: { reason: sql`excluded.reason` },
        })
        .returning();
      return row!;
    },

    async markOverbookingNotified(id: number): Promise<void> {
      await db.update(overbookingEvents).set({ channelNotified: true }).where(eq(overbookingEvents.id, id));
    },

    listOverbookings: (options: { unitId?: string; limit?: number } = {}) =>
      db
        .select()
        .from(overbookingEvents)
        .where(options.unitId ? eq(overbookingEvents.unitId, options.unitId) : sql`true`)
        .orderBy(desc(overbookingEvents.id))
        .limit(options.limit ?? 100),

    async getReservation(reservationId: string): Promise<ReservationRow | undefined> {
      const [row] = await db.select().from(reservations).where(eq(reservations.id, reservationId));
      return row;
    },

    listReservations: (options: { unitId?: string; channel?: string; limit?: number } = {}) =>
      db
        .select()
        .from(reservations)
        .where(
          and(
            options.unitId ? eq(reservations.unitId, options.unitId) : sql`true`,
            options.channel ? eq(reservations.channel, options.channel) : sql`true`,
          ),
        )
        .orderBy(desc(reservations.createdAt))
        .limit(options.limit ?? 200),

    async setPayment(reservationId: string, paymentId: string): Promise<void> {
      await db.update(reservations).set({ paymentId, updatedAt: sql`now()` }).where(eq(reservations.id, reservationId));
    },

    // ─── Channel reservation queue (Booking.com) ───────────────────────────────────────────────
    /** Records pulled messages; returns those not dispatched to their workflow yet. */
    async recordChannelMessages(
      channel: ChannelName,
      messages: Array<{ messageId: string; kind: 'new' | 'modified' | 'cancelled'; channelReservationId: string; reservationId: string; payload: unknown }>,
    ): Promise<{ fresh: number; undispatched: ChannelMessageRow[] }> {
      if (messages.length === 0) return { fresh: 0, undispatched: [] };
      const rows = await db
        .insert(channelMessages)
        .values(messages.map((message) => ({ channel, ...message, payload: message.payload as object })))
        .onConflictDoUpdate({ target: [channelMessages.channel, channelMessages.messageId], set: { lastSeenAt: sql`now()` } })
        .returning({ messageId: channelMessages.messageId, inserted: sql<boolean>`(xmax = 0)` });
      const ids = messages.map((message) => message.messageId);
      const undispatched = await db
        .select()
        .from(channelMessages)
        .where(and(eq(channelMessages.channel, channel), inArray(channelMessages.messageId, ids), isNull(channelMessages.ackedAt)));
      return { fresh: rows.filter((row) => row.inserted).length, undispatched };
    },

    async markDispatched(channel: ChannelName, messageId: string): Promise<void> {
      await db
        .update(channelMessages)
        .set({ dispatchedAt: sql`now()` })
        .where(and(eq(channelMessages.channel, channel), eq(channelMessages.messageId, messageId)));
    },

    async recordAckAttempt(channel: ChannelName, messageId: string, outcome: { ok: true; result: string } | { ok: false; error: string }): Promise<void> {
      await db
        .update(channelMessages)
        .set(
          outcome.ok
            ? { ackedAt: sql`coalesce(${channelMessages.ackedAt}, now())`, ackOutcome: outcome.result, ackAttempts: sql`${channelMessages.ackAttempts} + 1`, lastError: null }
            : { ackAttempts: sql`${channelMessages.ackAttempts} + 1`, lastError: outcome.error.slice(0, 2000) },
        )
        .where(and(eq(channelMessages.channel, channel), eq(channelMessages.messageId, messageId)));
    },

    async listUnacked(channel: ChannelName): Promise<UnackedMessage[]> {
      const rows = await db
        .select()
        .from(channelMessages)
        .where(and(eq(channelMessages.channel, channel), isNull(channelMessages.ackedAt)))
        .orderBy(asc(channelMessages.receivedAt))
        .limit(500);
      const now = Date.now();
      return rows.map((row) => ({
        messageId: row.messageId,
        kind: row.kind,
        channelReservationId: row.channelReservationId,
        receivedAt: row.receivedAt.toISOString(),
        ageMs: now - row.receivedAt.getTime(),
        ackAttempts: row.ackAttempts,
        lastError: row.lastError ?? undefined,
      }));
    },

    // ─── Resync runs ───────────────────────────────────────────────────────────────────────────
    async recordResyncRun(run: {
      id: string;
      channel: ChannelName;
      status: 'running' | 'completed' | 'failed';
      trigger: string;
      pages: number;
      reservationsChecked: number;
      reservationsCorrected: number;
      calendarDaysChecked: number;
      calendarDaysCorrected: number;
      details?: unknown;
      finished: boolean;
    }): Promise<void> {
      const values = {
        id: run.id,
        channel: run.channel,
        status: run.status,
        trigger: run.trigger,
        pages: run.pages,
        reservationsChecked: run.reservationsChecked,
        reservationsCorrected: run.reservationsCorrected,
        calendarDaysChecked: run.calendarDaysChecked,
        calendarDaysCorrected: run.calendarDaysCorrected,
        details: (run.details ?? null) as object,
        finishedAt: run.finished ? new Date() : null,
      };
      const { id: _id, ...update } = values;
      await db.insert(channelResyncRuns).values(values).onConflictDoUpdate({ target: channelResyncRuns.id, set: update });
    },

    listResyncRuns: (channel: ChannelName, limit = 20) =>
      db.select().from(channelResyncRuns).where(eq(channelResyncRuns.channel, channel)).orderBy(desc(channelResyncRuns.startedAt)).limit(limit),
  };
}

class RefusedModification extends Error {
  constructor(readonly refusal: Extract<HoldResult, { ok: false }>) {
    super(refusal.reason);
  }
}

/** Why a stay cannot be held on these calendar rows, or undefined when it can. */
function refuseHold(
  request: { checkIn: string; checkOut: string; rooms: number; enforceRestrictions: boolean },
  rows: readonly CalendarRow[],
  nights: number,
  existing?: ReservationRow,
): Extract<HoldResult, { ok: false }> | undefined {
  const byDate = new Map(rows.map((row) => [row.date, row]));
  const stay = eachDate({ from: request.checkIn, to: addDays(request.checkOut, -1) });
  const missing = stay.filter((date) => !byDate.has(date));
  if (missing.length > 0) return { ok: false, code: 'no_calendar', reason: `not open for sale on ${missing.join(', ')}`, dates: missing };
  if (request.enforceRestrictions) {
    const closed = rows.filter((row) => row.closed).map((row) => row.date);
    if (closed.length > 0) return { ok: false, code: 'closed', reason: `closed (stop sell) on ${closed.join(', ')}`, dates: closed };
    const arrival = byDate.get(request.checkIn)!;
    if (arrival.closedToArrival) return { ok: false, code: 'restricted', reason: `closed to arrival on ${request.checkIn}`, dates: [request.checkIn] };
    if (nights < arrival.minNights) {
      return { ok: false, code: 'restricted', reason: `minimum stay from ${request.checkIn} is ${arrival.minNights} nights`, dates: [request.checkIn] };
    }
  }
  // When re-checking a refused modification, the reservation's own old nights still count as booked.
  const ownRooms = (date: string) =>
    existing && date >= existing.checkIn && date < existing.checkOut ? existing.rooms : 0;
  const short = stay.filter((date) => {
    const row = byDate.get(date)!;
    return row.allotment - row.booked + ownRooms(date) < request.rooms;
  });
  if (short.length > 0) {
    const detail = short.map((date) => `${date} (${Math.max(0, byDate.get(date)!.allotment - byDate.get(date)!.booked + ownRooms(date))} left)`);
    return { ok: false, code: 'sold_out', reason: `not available on ${detail.join(', ')}`, dates: short };
  }
  return undefined;
}

export type InventoryStore = ReturnType<typeof createInventoryStore>;
