// Records an iCal import poll (the table in test/replay/README.md): a round that imports an OTA's
// feed and hands its event to a reservation workflow, a round asked for at once (pollNow), a round
// that fails (the feed answers 500), and the end when the feed is removed.
//   RECORD_HISTORIES=1 npx vitest run test/replay/scenarios/ical-import.test.ts
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/harness';
import { bookingComBases, seedUnit, startBookingHarness, type BookingHarness } from '../../support/booking-harness';
import { createBookingComClient } from '../../../providers/booking-com/client';
import { createIcalChannelClient } from '../../../providers/ical/channel';
import { createIcalClient } from '../../../client/ical';
import { icalImportStateQuery } from '../../../workflows/bookings/ical-import';
import { icalImportWorkflowId } from '../../../domain/workflow-ids';
import { recording, saveHistory, wanted } from './recorder';

const NAME = 'ical-import-rounds-then-removed';

describe.runIf(recording)('record the iCal import poll', () => {
  let h: BookingHarness;
  let feedServer: Server;
  let feedStatus = 200;
  beforeAll(async () => {
    const credentials = { username: `machine-${Date.now()}`, password: 'sandbox-password' };
    h = await startBookingHarness({
      bookingComCredentials: credentials,
      reservationTiming: { idleCloseMs: 1_000 },
      channels: (url) => [createBookingComClient({ ...bookingComBases(url), ...credentials }), createIcalChannelClient()],
    });
    // The OTA's export: one stay, all-day dates as RFC 5545 writes them.
    feedServer = createServer((_request, response) => {
      response.statusCode = feedStatus;
      response.setHeader('content-type', 'text/calendar');
      response.end(
        feedStatus === 200
          ? ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//replay//EN', 'BEGIN:VEVENT', 'UID:replay-stay-1@ota', 'DTSTAMP:20300101T000000Z', 'DTSTART;VALUE=DATE:20300411', 'DTEND;VALUE=DATE:20300413', 'SUMMARY:Reserved', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n')
          : 'unavailable',
      );
    });
    await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => feedServer?.close(resolve));
    await h?.close();
  });

  it('imports, runs a round at once, fails a round, ends when the feed is removed', async (context) => {
    if (!(await wanted(NAME))) context.skip(`kept: ${NAME}`);
    const seed = await seedUnit(h, { from: '2030-04-10', nights: 10 });
    const url = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/ota.ics`;
    const feed = await h.ical.feeds.createImportFeed({ unitId: seed.unitId, channel: 'vrbo', url, intervalMs: 600_000, graceMs: 1_000, staleAfterMs: 3_600_000, staleBufferDays: 0 });
    const ical = createIcalClient({ temporal: h.temporal, taskQueue: h.taskQueue });
    await ical.ensureImportPoll(feed);
    const handle = h.temporal.workflow.getHandle(icalImportWorkflowId(feed.id));
    const rounds = async (n: number) => eventually(async () => ((await handle.query(icalImportStateQuery)).rounds >= n ? handle.query(icalImportStateQuery) : undefined), { timeoutMs: 30_000, what: `round ${n}` });
    expect((await rounds(1)).dispatched).toBe(1);
    await ical.pollNow(feed.id);
    await rounds(2);
    feedStatus = 500;
    await ical.pollNow(feed.id);
    expect((await rounds(3)).lastError).toBeTruthy();
    await h.ical.feeds.removeImportFeed(seed.unitId, feed.id);
    await ical.pollNow(feed.id);
    expect((await handle.result()).rounds).toBe(3);
    await saveHistory(NAME, handle);
  });
});
