// The events an import feed carried, by UID, and what each one asks of its reservation: a new UID is
// a new reservation, changed nights move it, a UID missing for longer than the grace period releases
// it. Each change bumps the event's version; a message is owed until that version is dispatched, so
// an import that crashed between the two hands the message over on its next round.
import { createHash } from 'node:crypto';
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { icalImportEvents } from '../db/schema';
import { channelReservationId } from '../domain/bookings';

export type IcalEventRow = typeof icalImportEvents.$inferSelect;

export interface IcalMessage {
  uid: string;
  kind: 'new' | 'modified' | 'cancelled';
  version: number;
  reservationId: string;
  channelReservationId: string;
  checkIn: string;
  checkOut: string;
}

/** The reservation key of a UID in a feed; a UID seen again after its release starts a new reservation (`generation`). */
export function icalReservationKeys(feedId: string, uid: string, generation = 0): { channelReservationId: string; reservationId: string } {
  const digest = createHash('sha256').update(uid).digest('hex').slice(0, 24);
  const key = `${feedId}/${digest}${generation ? `/${generation}` : ''}`;
  return { channelReservationId: key, reservationId: channelReservationId('ical', key) };
}

function messageOf(row: IcalEventRow): IcalMessage {
  const kind = row.cancelledAt ? 'cancelled' : row.dispatchedVersion === null ? 'new' : 'modified';
  return { uid: row.uid, kind, version: row.version, reservationId: row.reservationId, channelReservationId: row.channelReservationId, checkIn: row.checkIn, checkOut: row.checkOut };
}

export function createIcalEventStore(db: Database) {
  return {
    /**
     * Folds one successful read of the feed (`stays`; undefined: 304, nothing changed) into the
     * events, in one transaction, and answers the messages owed to reservation workflows.
     */
    async reconcile(feedId: string, stays: ReadonlyArray<{ uid: string; checkIn: string; checkOut: string }> | undefined, graceMs: number, nowMs: number): Promise<IcalMessage[]> {
      return db.transaction(async (tx) => {
        const rows = await tx.select().from(icalImportEvents).where(eq(icalImportEvents.feedId, feedId)).for('update');
        const byUid = new Map(rows.map((row) => [row.uid, row]));
        const now = new Date(nowMs);
        if (stays) {
          const present = new Set<string>();
          for (const stay of stays) {
            present.add(stay.uid);
            const row = byUid.get(stay.uid);
            if (!row) {
              await tx.insert(icalImportEvents).values({ feedId, uid: stay.uid, ...icalReservationKeys(feedId, stay.uid), checkIn: stay.checkIn, checkOut: stay.checkOut, lastSeenAt: now });
              continue;
            }
            if (row.cancelledAt) {
              // Released after vanishing, now back: a reservation of its own (the old one is final).
              await tx
                .update(icalImportEvents)
                .set({ ...icalReservationKeys(feedId, stay.uid, row.version), checkIn: stay.checkIn, checkOut: stay.checkOut, version: row.version + 1, dispatchedVersion: null, cancelledAt: null, missingSince: null, lastSeenAt: now })
                .where(and(eq(icalImportEvents.feedId, feedId), eq(icalImportEvents.uid, stay.uid)));
              continue;
            }
            const moved = row.checkIn !== stay.checkIn || row.checkOut !== stay.checkOut;
            await tx
              .update(icalImportEvents)
              .set({ lastSeenAt: now, missingSince: null, ...(moved ? { checkIn: stay.checkIn, checkOut: stay.checkOut, version: row.version + 1 } : {}) })
              .where(and(eq(icalImportEvents.feedId, feedId), eq(icalImportEvents.uid, stay.uid)));
          }
          for (const row of rows) {
            if (present.has(row.uid) || row.cancelledAt || row.missingSince) continue;
            await tx.update(icalImportEvents).set({ missingSince: now }).where(and(eq(icalImportEvents.feedId, feedId), eq(icalImportEvents.uid, row.uid)));
          }
        }
        // Missing for longer than the grace period (a 304 answer counts: the event is still gone).
        await tx
          .update(icalImportEvents)
          .set({ cancelledAt: now, version: sql`${icalImportEvents.version} + 1` })
          .where(and(eq(icalImportEvents.feedId, feedId), isNull(icalImportEvents.cancelledAt), lt(icalImportEvents.missingSince, new Date(nowMs - graceMs))));
        const owed = await tx
          .select()
          .from(icalImportEvents)
          .where(and(eq(icalImportEvents.feedId, feedId), sql`${icalImportEvents.dispatchedVersion} is distinct from ${icalImportEvents.version}`));
        // A release of an event never handed over is owed to nobody.
        return owed.filter((row) => !(row.cancelledAt && row.dispatchedVersion === null)).map(messageOf);
      });
    },

    async markDispatched(feedId: string, uid: string, version: number): Promise<void> {
      await db
        .update(icalImportEvents)
        .set({ dispatchedVersion: version })
        .where(and(eq(icalImportEvents.feedId, feedId), eq(icalImportEvents.uid, uid), eq(icalImportEvents.version, version)));
    },

    listEvents: (feedId: string) => db.select().from(icalImportEvents).where(eq(icalImportEvents.feedId, feedId)),
  };
}

export type IcalEventStore = ReturnType<typeof createIcalEventStore>;
