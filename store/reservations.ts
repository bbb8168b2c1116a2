// Holds and reservations. Every write that moves availability is one transaction: the reservation row
// and the calendar rows it takes (or gives back) commit together, and the calendar's CHECK constraint
// refuses an overbooking even if the checks here were wrong. Because one transaction spans both
// tables, this repository writes calendar_days itself instead of going through the calendar's.
import { and, asc, desc, eq, gte, inArray, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { calendarDays, reservations, units, type ReservationStatus as ReservationRowStatus } from '../db/schema';
import { addDays, daysBetween, eachDate, type DateRange } from '../domain/dates';
import type { HoldResult, ReservationChannel } from '../domain/bookings';
import type { Money } from '../domain/money';
import { calendarNights, type CalendarRow } from './calendar';
import { isOverbookingViolation } from './inventory-error';

export type ReservationRow = typeof reservations.$inferSelect;

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

const ACTIVE: ReservationRowStatus[] = ['held', 'confirmed'];

export function createReservationStore(db: Database) {
  return {
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
          // An overbooked reservation holds no nights: a later message (a modification) may still place it.
          if (existing && existing.status !== 'overbooked') {
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
          const row = {
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
          };
          if (existing) await tx.update(reservations).set({ ...row, reason: null, updatedAt: sql`now()` }).where(eq(reservations.id, request.reservationId));
          else await tx.insert(reservations).values({ id: request.reservationId, ...row });
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
          // An overbooked reservation has no nights to give back; cancelling it (by the channel) still ends it.
          const [current] = await tx
            .update(reservations)
            .set({ status: input.status, reason: input.reason ?? null, updatedAt: sql`now()` })
            .where(and(eq(reservations.id, input.reservationId), eq(reservations.status, 'overbooked')))
            .returning();
          return { released: false, row: current ?? (await tx.select().from(reservations).where(eq(reservations.id, input.reservationId)))[0] };
        }
        const range = { from: row.checkIn, to: addDays(row.checkOut, -1) };
        await tx
          .update(calendarDays)
          .set({ booked: sql`${calendarDays.booked} - ${row.rooms}`, updatedAt: sql`now()` })
          .where(calendarNights(row.unitId!, range));
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
            .where(calendarNights(row.unitId!, previous));
          const rows = await tx
            .select()
            .from(calendarDays)
            .where(calendarNights(row.unitId!, next))
            .orderBy(asc(calendarDays.date))
            .for('update');
          // Refused: throwing rolls back the release of the old nights too, then the refusal is answered.
          const refusal = refuseHold({ ...input, enforceRestrictions: false }, rows, nights);
          if (refusal) throw new RefusedModification(refusal);
          await tx
            .update(calendarDays)
            .set({ booked: sql`${calendarDays.booked} + ${input.rooms}`, updatedAt: sql`now()` })
            .where(calendarNights(row.unitId!, next));
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
            ? await db.select().from(calendarDays).where(calendarNights(row.unitId!, { from: input.checkIn, to: addDays(input.checkOut, -1) }))
            : [];
          const refusal = row ? refuseHold({ ...input, enforceRestrictions: false }, rows, nights, row) : undefined;
          return refusal ?? { ok: false, code: 'sold_out', reason: 'no availability left for the new dates', dates: [] };
        }
        throw err;
      }
    },

    /**
     * A channel reservation that could not be held is kept for the record: rejected (the channel
     * declined it) or overbooked (it stands on the channel and needs a person).
     */
    async recordRejected(input: Omit<HoldRequest, 'status' | 'enforceRestrictions'> & { reason: string; status?: 'rejected' | 'overbooked' }): Promise<{ released?: DateRange }> {
      const values = {
        id: input.reservationId,
        unitId: input.unitId || null,
        channel: input.channel,
        channelReservationId: input.channelReservationId ?? null,
        status: input.status ?? 'rejected',
        checkIn: input.checkIn,
        checkOut: input.checkOut,
        rooms: input.rooms,
        guestName: input.guestName ?? null,
        totalAmount: input.total?.value ?? null,
        currency: input.total?.currency ?? null,
        reason: input.reason,
        workflowId: input.workflowId,
      };
      if (values.status !== 'overbooked') {
        await db.insert(reservations).values(values).onConflictDoNothing();
        return {};
      }
      // Overbooked by a modification: the reservation held other nights, which go back in the same
      // transaction; it keeps the stay the channel now holds, without nights here.
      return db.transaction(async (tx) => {
        const [row] = await tx.select().from(reservations).where(eq(reservations.id, input.reservationId)).for('update');
        if (!row) {
          await tx.insert(reservations).values(values);
          return {};
        }
        const { id: _id, unitId: _unitId, workflowId: _workflowId, ...stay } = values;
        await tx.update(reservations).set({ ...stay, totalAmount: values.totalAmount ?? row.totalAmount, currency: values.currency ?? row.currency, holdExpiresAt: null, updatedAt: sql`now()` }).where(eq(reservations.id, row.id));
        if (!ACTIVE.includes(row.status) || !row.unitId) return {};
        const released = { from: row.checkIn, to: addDays(row.checkOut, -1) };
        await tx
          .update(calendarDays)
          .set({ booked: sql`${calendarDays.booked} - ${row.rooms}`, updatedAt: sql`now()` })
          .where(calendarNights(row.unitId, released));
        return { released };
      });
    },

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
  };
}

export type ReservationStore = ReturnType<typeof createReservationStore>;

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
