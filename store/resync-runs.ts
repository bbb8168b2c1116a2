// The record of each channel resync run: what it checked and corrected, page by page.
import { desc, eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { channelResyncRuns } from '../db/schema';
import type { ChannelName } from '../domain/bookings';

export type ResyncRunRow = typeof channelResyncRuns.$inferSelect;

export function createResyncRunStore(db: Database) {
  return {
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

export type ResyncRunStore = ReturnType<typeof createResyncRunStore>;
