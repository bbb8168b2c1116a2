// iCal end to end below the API's listen: Skerry's export feed served over HTTP (the public door's
// route), imported by the Airbnb sandbox; a guest books on Airbnb; Skerry's poll imports Airbnb's
// export and the reservation workflow takes the nights, so Booking.com and every other feed stop
// selling them; the cancellation reopens them after the grace period. Then malformed feeds (nothing
// changes, the reason on the channel's health), staleness with its buffer and metric.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { eventually } from '../support/harness';
import { bookingComBases, seedUnit, startBookingHarness, type BookingHarness } from '../support/booking-harness';
import { icalImportFeeds, reservations } from '../../db/schema';
import { createBookingComClient } from '../../providers/booking-com/client';
import { createIcalChannelClient } from '../../providers/ical/channel';
import { parseIcalFeed, localDate } from '../../providers/ical/parse';
import { addDays, eachDate } from '../../domain/dates';
import { createIcalClient, type IcalClient } from '../../client/ical';
import { icalFeedRoutes } from '../../api/ical/feed';
import { icalRoutes } from '../../api/routes/ical';
import { propertyRoutes } from '../../api/routes/properties';
import { createMetrics } from '../../observability/metrics';
import { registerIcalGauges } from '../../store/ical-gauges';
import { randomBytes, randomUUID } from 'node:crypto';
import { createDatabase } from '../../db/client';
import { createLogger } from '../../observability/logger';
import { createProviderResilience, type ProviderResilience } from '../../providers/resilience';
import { createPostgresBreakerStore } from '../../providers/resilience/breaker-store-postgres';
import { icalHostBreakers } from '../../providers/ical/host-breakers';
import type { LookupAll } from '../../providers/ical/url-policy';
import { inject } from 'vitest';

let h: BookingHarness;
let ical: IcalClient;
let doors: FastifyInstance;
let publicDoor: FastifyInstance;
let doorUrl: string;

let resilienceDb: ReturnType<typeof createDatabase>;
let resilience: ProviderResilience;
/** This file's breakers, apart from every other test's in the shared database. */
const breakerScope = `ical-${randomUUID().slice(0, 8)}`;
/** Names the registration check resolves: an OTA's host, and one that points inside. */
const lookupAll: LookupAll = async (host) => {
  if (host === 'calendar.ota.test') return [{ address: '93.184.215.14', family: 4 }];
  if (host === 'metadata.evil.test') return [{ address: '169.254.169.254', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};

beforeAll(async () => {
  const credentials = { username: `machine-${Date.now()}`, password: 'sandbox-password' };
  // The worker's resilience, as a worker builds it, with a breaker that opens after three failures.
  resilienceDb = createDatabase(inject('databaseUrl'), { max: 4 });
  resilience = createProviderResilience({
    config: {
      responseCache: 'off',
      responseCacheTtlSeconds: 30,
      rateLimits: { stripe: 25, paypal: 30, mobilepay: 20, swish: 10, booking_com: 5, airbnb: 5 },
      throttleBurst: 10,
      quotaWindowSeconds: 60,
      sharedPacing: false,
      breaker: { failureRateThreshold: 0.5, minimumCalls: 3, windowMs: 600_000, openMs: 600_000, maxOpenMs: 600_000, probeLeaseMs: 20_000 },
      oauthRefreshMarginMs: 60_000,
      scope: breakerScope,
    },
    tokenEncryptionKey: randomBytes(32).toString('base64'),
    db: resilienceDb.db,
    logger: createLogger({ level: 'silent' }),
    quotaFlushMs: 3_600_000,
  });
  h = await startBookingHarness({
    ical: { resilience },
    bookingComCredentials: credentials,
    syncTiming: { quietMs: 200, maxDelayMs: 1_000 },
    reservationTiming: { idleCloseMs: 1_000 },
    channels: (url) => [createBookingComClient({ ...bookingComBases(url), ...credentials }), createIcalChannelClient()],
  });
  ical = createIcalClient({ temporal: h.temporal, taskQueue: h.taskQueue });
  // The public door's feed route, listening, and the admin door's iCal routes, injected (the doors'
  // auth and scopes are the doors' own tests).
  publicDoor = Fastify();
  publicDoor.setValidatorCompiler(validatorCompiler);
  publicDoor.setSerializerCompiler(serializerCompiler);
  await publicDoor.register(rateLimit, { global: false });
  await publicDoor.register(icalFeedRoutes, { feeds: h.ical.feeds, days: 120, ratePerMinute: 1_000 });
  doorUrl = await publicDoor.listen({ host: '127.0.0.1', port: 0 });
  doors = Fastify();
  doors.setValidatorCompiler(validatorCompiler);
  doors.setSerializerCompiler(serializerCompiler);
  await doors.register(icalRoutes, {
    feeds: h.ical.feeds,
    ical,
    publicUrl: doorUrl,
    defaults: { intervalMs: 60_000, graceMs: 1_000, staleAfterMs: 600_000 },
    // The tests' own servers on loopback are allowed by name, as `npm start` allows its sandbox.
    importPolicy: { allowedHosts: ['127.0.0.1'], requireHttps: true },
    lookupAll,
    hostBreakers: () => icalHostBreakers(createPostgresBreakerStore(resilienceDb.db), breakerScope),
  });
  await doors.register(propertyRoutes, { bookings: h.bookings, icalFeeds: h.ical.feeds });
});
afterAll(async () => {
  await doors?.close();
  await publicDoor?.close();
  await h?.close();
  await resilience?.close();
  await resilienceDb?.close();
});

const today = () => localDate(Date.now(), 'Europe/Stockholm');
let offset = 0;
const nextStart = () => addDays(today(), (offset += 25));
const booked = async (unitId: string, from: string, to: string) => (await h.inventory.calendar.readCalendar(unitId, { from, to })).map((day) => day.row?.booked);
const icalReservations = async (unitId: string) => (await h.database.db.select().from(reservations).where(eq(reservations.unitId, unitId))).filter((row) => row.channel === 'ical');

async function airbnb<T>(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: T }> {
  const response = await fetch(`${h.sandboxUrl}/airbnb${path}`, {
    method: init?.method ?? (init?.body === undefined ? 'GET' : 'POST'),
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** The nights a feed blocks, as an OTA reads it. */
async function blockedIn(url: string): Promise<Set<string>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const stays = parseIcalFeed(await response.text(), 'Europe/Stockholm');
  return new Set(stays.flatMap((stay) => eachDate({ from: stay.checkIn, to: addDays(stay.checkOut, -1) })));
}

async function exportFeed(unitId: string, channel: string): Promise<{ id: string; url: string }> {
  const response = await doors.inject({ method: 'POST', url: `/units/${unitId}/ical/exports`, payload: { channel } });
  expect(response.statusCode).toBe(201);
  return response.json();
}

async function importFeed(unitId: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const response = await doors.inject({ method: 'POST', url: `/units/${unitId}/ical/imports`, payload: body });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

const pollNow = (feedId: string) => ical.pollNow(feedId);

describe('iCal round trip through the Airbnb sandbox', () => {
  it('exports, is imported by Airbnb, imports Airbnb’s booking, closes it everywhere else, and reopens it on cancellation', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 20, count: 1, push: true });
    const night = (n: number) => addDays(from, n);
    // What Skerry must export: a closed night and a direct booking.
    await h.inventory.calendar.updateCalendar(seed.unitId, [{ from: night(2), to: night(2), closed: true }]);
    const direct = await h.bookings.createBooking({ unitId: seed.unitId, checkIn: night(4), checkOut: night(6), guest: { name: 'Ingrid Direct' } });
    expect(direct.booking.status).toBe('confirmed');

    // 1. Export the unit's feed for Airbnb.
    const forAirbnb = await exportFeed(seed.unitId, 'airbnb');
    expect(forAirbnb.url).toMatch(/\/ical\/[A-Za-z0-9_-]{43}\.ics$/);
    const exported = await blockedIn(forAirbnb.url);
    expect([night(2), night(4), night(5)].every((date) => exported.has(date))).toBe(true);
    expect([night(0), night(1), night(3), night(6)].some((date) => exported.has(date))).toBe(false);
    const text = await (await fetch(forAirbnb.url)).text();
    expect(text).not.toContain('Ingrid');
    expect(text).toContain('SUMMARY:Reserved');
    expect(text).toContain('SUMMARY:Closed');

    // 2. Airbnb imports it: an iCal-only listing, open for sale, whose imported calendar blocks nights.
    const listingId = `ical-listing-${Date.now()}`;
    const listing = await airbnb<{ exportUrl: string }>(`/_control/listings/${listingId}`, { body: { hostId: 'ical-host', from, to: night(19), availableCount: 1 } });
    expect(listing.status).toBe(201);
    await airbnb(`/_control/listings/${listingId}/ical/import`, { method: 'PUT', body: { url: forAirbnb.url } });
    const synced = await airbnb<{ blockedNights: string[] }>(`/_control/listings/${listingId}/ical/import/sync`, { body: {} });
    expect(synced.status).toBe(200);
    expect(synced.body.blockedNights).toEqual(expect.arrayContaining([night(2), night(4), night(5)]));
    expect(synced.body.blockedNights).not.toContain(night(3));
    // Airbnb refuses the nights Skerry's feed blocked.
    expect((await airbnb(`/_control/reservations`, { body: { listingId, checkIn: night(4), checkOut: night(5) } })).status).toBe(409);

    // 3. A guest books on Airbnb.
    const guest = await airbnb<{ confirmation_code: string }>(`/_control/reservations`, { body: { listingId, checkIn: night(10), checkOut: night(13), guestName: 'Greta Airbnb' } });
    expect(guest.status).toBe(201);

    // 4. Skerry imports Airbnb's export.
    const forVrbo = await exportFeed(seed.unitId, 'vrbo');
    const feed = await importFeed(seed.unitId, { channel: 'airbnb', url: listing.body.exportUrl, graceMs: 1_000 });
    const row = await eventually(async () => (await icalReservations(seed.unitId)).find((r) => r.status === 'confirmed'), { what: 'the Airbnb event held as a reservation' });
    expect(row).toMatchObject({ checkIn: night(10), checkOut: night(13), rooms: 1, guestName: null });
    expect(await booked(seed.unitId, night(9), night(13))).toEqual([0, 1, 1, 1, 0]);

    // 5. Every other channel stops selling: Booking.com is pushed, the Vrbo feed blocks the nights,
    //    Airbnb's own feed does not (it sold them).
    await eventually(() => h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, night(10), night(12)).every((day) => day.roomsToSell === 0), { what: 'Booking.com closed' });
    const vrboBlocked = await blockedIn(forVrbo.url);
    expect([night(10), night(11), night(12)].every((date) => vrboBlocked.has(date))).toBe(true);
    expect(vrboBlocked.has(night(13))).toBe(false);
    const airbnbBlocked = await blockedIn(forAirbnb.url);
    expect([night(10), night(11), night(12)].some((date) => airbnbBlocked.has(date))).toBe(false);

    // A conditional GET of the unchanged feed: 304 by ETag, and by Last-Modified.
    const first = await fetch(forVrbo.url);
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    expect((await fetch(forVrbo.url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(forVrbo.url, { headers: { 'if-modified-since': lastModified } })).status).toBe(304);

    // 6. The guest cancels on Airbnb: the event leaves Airbnb's export; after the grace period the nights reopen.
    expect((await airbnb(`/_control/reservations/${guest.body.confirmation_code}/cancel`, { body: {} })).status).toBe(200);
    const cancelled = await eventually(
      async () => {
        await pollNow(feed.id);
        const current = (await icalReservations(seed.unitId)).find((r) => r.id === row.id);
        return current?.status === 'cancelled' ? current : undefined;
      },
      { what: 'the vanished event released after its grace period', everyMs: 500 },
    );
    expect(cancelled.reason).toMatch(/cancelled on ical/);
    expect(await booked(seed.unitId, night(10), night(12))).toEqual([0, 0, 0]);
    await eventually(() => h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, night(10), night(12)).every((day) => day.roomsToSell === 1), { what: 'Booking.com reopened' });
    const reopened = await fetch(forVrbo.url, { headers: { 'if-none-match': etag } });
    expect(reopened.status).toBe(200);
    expect(reopened.headers.get('etag')).not.toBe(etag);
    const vrboAfter = parseIcalFeed(await reopened.text(), 'Europe/Stockholm').flatMap((stay) => eachDate({ from: stay.checkIn, to: addDays(stay.checkOut, -1) }));
    expect(vrboAfter).not.toContain(night(10));

    // A revoked token answers 404, like one that never existed.
    const revoke = await doors.inject({ method: 'POST', url: `/units/${seed.unitId}/ical/exports/${forVrbo.id}/revoke`, payload: {} });
    expect(revoke.statusCode).toBe(200);
    expect((await fetch(forVrbo.url)).status).toBe(404);
    expect((await fetch(`${doorUrl}/ical/${'A'.repeat(43)}.ics`)).status).toBe(404);
    expect((await fetch(forAirbnb.url)).status).toBe(200);
  });
});

describe('malformed feeds, staleness', () => {
  let server: Server;
  type Body = string | (() => AsyncIterable<Buffer>);
  let body: Body = '';
  let feedUrl: string;
  beforeAll(async () => {
    server = createServer(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/calendar' });
      if (typeof body === 'string') return response.end(body);
      for await (const chunk of body()) if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve));
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    feedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/listing.ics`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const calendar = (...events: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Test//EN', ...events, 'END:VCALENDAR', ''].join('\r\n');
  const allDay = (uid: string, checkIn: string, checkOut: string) =>
    ['BEGIN:VEVENT', `UID:${uid}`, `DTSTART;VALUE=DATE:${checkIn.replaceAll('-', '')}`, `DTEND;VALUE=DATE:${checkOut.replaceAll('-', '')}`, 'END:VEVENT'].join('\r\n');

  it('refuses each malformed feed with its reason on the channel health, and changes nothing', async () => {
    const from = nextStart();
    const seed = await seedUnit(h, { from, nights: 10, count: 1 });
    body = calendar(allDay('keep@vrbo', addDays(from, 1), addDays(from, 3)));
    const feed = await importFeed(seed.unitId, { channel: 'vrbo', url: feedUrl });
    const held = await eventually(async () => (await icalReservations(seed.unitId)).find((r) => r.status === 'confirmed'), { what: 'the valid feed imported' });
    const eventsBefore = await h.ical.events.listEvents(feed.id);
    const bookedBefore = await booked(seed.unitId, from, addDays(from, 9));

    const cases: Array<[string, Body, RegExp]> = [
      ['bad dates', calendar(allDay('keep@vrbo', addDays(from, 1), addDays(from, 3)), allDay('new@vrbo', '2027-02-30', '2027-03-02')), /^bad_date: .*2027-02-30 is not a valid date/],
      ['a missing UID', calendar(allDay('keep@vrbo', addDays(from, 1), addDays(from, 3)), allDay('', addDays(from, 5), addDays(from, 6))), /^missing_uid: event #2 has no UID/],
      [
        'an unknown time zone',
        calendar(['BEGIN:VEVENT', 'UID:tz@vrbo', 'DTSTART;TZID=Atlantis/Capital:20270101T150000', 'DTEND;TZID=Atlantis/Capital:20270103T110000', 'END:VEVENT'].join('\r\n')),
        /^unknown_timezone: .*TZID=Atlantis\/Capital/,
      ],
      [
        'a 10 MB file',
        async function* () {
          for (let sent = 0; sent < 10 * 1024 * 1024; sent += 65_536) yield Buffer.alloc(65_536, 'X');
        },
        /^too_large: /,
      ],
    ];
    for (const [what, malformed, reason] of cases) {
      body = malformed;
      const before = (await h.ical.feeds.getImportFeed(feed.id))!.lastAttemptAt?.getTime() ?? 0;
      const failed = await eventually(
        async () => {
          await pollNow(feed.id);
          const current = await h.ical.feeds.getImportFeed(feed.id);
          return current && (current.lastErrorAt?.getTime() ?? 0) > before ? current : undefined;
        },
        { what: `the ${what} refused`, everyMs: 300 },
      );
      expect(failed.lastError, what).toMatch(reason);
      const health = (await doors.inject({ method: 'GET', url: '/channels/ical/health' })).json();
      const entry = health.imports.find((item: { id: string }) => item.id === feed.id);
      expect(entry, what).toMatchObject({ state: 'error', lastError: failed.lastError });
      expect(health.healthy).toBe(false);
      // Nothing changed: the reservation, the events and the calendar are as before.
      expect((await icalReservations(seed.unitId)).map((r) => [r.id, r.status])).toEqual([[held.id, 'confirmed']]);
      expect(await h.ical.events.listEvents(feed.id)).toEqual(eventsBefore);
      expect(await booked(seed.unitId, from, addDays(from, 9))).toEqual(bookedBefore);
    }
    // The feed repaired: healthy again, the held reservation untouched.
    body = calendar(allDay('keep@vrbo', addDays(from, 1), addDays(from, 3)));
    await eventually(
      async () => {
        await pollNow(feed.id);
        const health = (await doors.inject({ method: 'GET', url: `/units/${seed.unitId}/ical/imports` })).json();
        return health.imports[0].state === 'ok';
      },
      { what: 'the feed healthy again', everyMs: 300 },
    );
    expect((await icalReservations(seed.unitId)).map((r) => r.status)).toEqual(['confirmed']);
  });

  it('marks a feed stale past its threshold, in the metric, and closes the buffer nights on the other feeds while it is', async () => {
    const from = today();
    const seed = await seedUnit(h, { from, nights: 30, count: 1 });
    body = calendar();
    const feed = await importFeed(seed.unitId, { channel: 'booking_com', url: feedUrl, staleBufferDays: 3 });
    const other = await exportFeed(seed.unitId, 'airbnb');
    await eventually(async () => (await h.ical.feeds.getImportFeed(feed.id))?.lastSuccessAt, { what: 'a first successful import' });
    expect([...(await blockedIn(other.url))].filter((date) => date < addDays(from, 30))).toEqual([]);

    // Polled hourly from now on, stale after a minute; the round the change triggers is let finish,
    // then the last success is moved two hours back, as if the OTA had not answered since.
    const patchedAt = Date.now();
    const patched = await doors.inject({ method: 'PATCH', url: `/units/${seed.unitId}/ical/imports/${feed.id}`, payload: { staleAfterMs: 60_000, intervalMs: 3_600_000 } });
    expect(patched.statusCode).toBe(200);
    await eventually(async () => ((await h.ical.feeds.getImportFeed(feed.id))?.lastAttemptAt?.getTime() ?? 0) >= patchedAt - 1_000 && (await ical.getImportPoll(feed.id))!.rounds >= 2, {
      what: 'the round the change triggered',
    });
    await h.database.db.update(icalImportFeeds).set({ lastSuccessAt: new Date(Date.now() - 2 * 3_600_000) }).where(eq(icalImportFeeds.id, feed.id));
    const listed = (await doors.inject({ method: 'GET', url: `/units/${seed.unitId}/ical/imports` })).json();
    expect(listed.imports[0]).toMatchObject({ id: feed.id, state: 'stale' });
    const view = (await doors.inject({ method: 'GET', url: `/units/${seed.unitId}/calendar?from=${from}&to=${addDays(from, 1)}` })).json();
    expect(view.channelStates['ical:booking_com']).toMatchObject({ channel: 'ical', source: 'booking_com', feedId: feed.id, state: 'stale' });

    const metrics = createMetrics();
    registerIcalGauges(metrics, h.ical.feeds);
    const text = await metrics.text();
    expect(text).toMatch(new RegExp(`skerry_ical_import_stale\\{feed_id="${feed.id}",unit_id="${seed.unitId}",source="booking_com"\\} 1`));
    expect(text).toMatch(new RegExp(`skerry_ical_import_age_seconds\\{feed_id="${feed.id}"[^}]*\\} [0-9.]+`));

    // The buffer: Airbnb's feed closes today and the next two nights while Booking.com's import is stale.
    const buffered = [...(await blockedIn(other.url))].filter((date) => date < addDays(from, 30)).sort();
    expect(buffered).toEqual([from, addDays(from, 1), addDays(from, 2)]);
    // Booking.com's own feed of Skerry (were there one) would not be buffered by its own staleness.
    const own = await exportFeed(seed.unitId, 'booking_com');
    expect([...(await blockedIn(own.url))].filter((date) => date < addDays(from, 30))).toEqual([]);
  });

  it('closes the buffer nights on the mapped channels (Booking.com) while an import is stale, and reopens them when it is fresh', async () => {
    const from = today();
    const seed = await seedUnit(h, { from, nights: 10, count: 1, push: true });
    const roomsToSell = () => h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, from, addDays(from, 4)).map((day) => day.roomsToSell);
    expect(roomsToSell()).toEqual([1, 1, 1, 1, 1]);
    body = calendar();
    const feed = await importFeed(seed.unitId, { channel: 'airbnb', url: feedUrl, staleBufferDays: 3, staleAfterMs: 60_000, intervalMs: 3_600_000 });
    await eventually(async () => (await h.ical.feeds.getImportFeed(feed.id))?.lastSuccessAt, { what: 'a first successful import' });

    // Airbnb's feed breaks and its last success is two hours old: stale. The next round fails, and
    // Booking.com stops selling today and the next two nights — not the fourth.
    body = 'this is not a calendar';
    await h.database.db.update(icalImportFeeds).set({ lastSuccessAt: new Date(Date.now() - 2 * 3_600_000) }).where(eq(icalImportFeeds.id, feed.id));
    await pollNow(feed.id);
    await eventually(() => roomsToSell().join() === '0,0,0,1,1', { what: 'the buffer closed on Booking.com', timeoutMs: 60_000 });
    expect(h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, from, addDays(from, 2)).every((day) => day.closed)).toBe(true);
    expect((await doors.inject({ method: 'GET', url: `/units/${seed.unitId}/ical/imports` })).json().imports[0]).toMatchObject({ id: feed.id, state: 'stale' });
    // Only the push closed them: the inventory still has the nights.
    expect(await booked(seed.unitId, from, addDays(from, 2))).toEqual([0, 0, 0]);

    // Repaired: the next round imports, the feed is fresh, and Booking.com sells the nights again.
    body = calendar();
    await pollNow(feed.id);
    await eventually(() => roomsToSell().join() === '1,1,1,1,1', { what: 'the buffer reopened on Booking.com', timeoutMs: 60_000 });
    expect((await doors.inject({ method: 'GET', url: `/units/${seed.unitId}/ical/imports` })).json().imports[0]).toMatchObject({ state: 'ok' });
    await doors.inject({ method: 'POST', url: `/units/${seed.unitId}/ical/imports/${feed.id}/remove`, payload: {} });
  });

  it('has Booking.com and the other OTAs’ feeds sell one unit fewer of every night while an import is stale, and all of them once it is fresh', async () => {
    const from = today();
    const seed = await seedUnit(h, { from, nights: 10, count: 2, push: true });
    const roomsToSell = () => h.bookingCom.calendar(seed.hotelId, seed.roomId, seed.rateId, from, addDays(from, 4)).map((day) => day.roomsToSell);
    expect(roomsToSell()).toEqual([2, 2, 2, 2, 2]);
    // The third night has one unit left (not pushed yet: the buffer's resync finds it).
    await h.inventory.calendar.updateCalendar(seed.unitId, [{ from: addDays(from, 2), to: addDays(from, 2), available: 1 }]);
    const vrbo = await exportFeed(seed.unitId, 'vrbo');
    const blockedSoon = async () => [...(await blockedIn(vrbo.url))].filter((date) => date < addDays(from, 10)).sort();
    expect(await blockedSoon()).toEqual([]);
    body = calendar();
    const feed = await importFeed(seed.unitId, { channel: 'airbnb', url: feedUrl, staleKeepBackUnits: 1, staleAfterMs: 60_000, intervalMs: 3_600_000 });
    expect(feed).toMatchObject({ staleKeepBackUnits: 1, staleBufferDays: 0 });
    await eventually(async () => (await h.ical.feeds.getImportFeed(feed.id))?.lastSuccessAt, { what: 'a first successful import' });

    // Airbnb's feed breaks and its last success is two hours old: stale. Booking.com sells one unit
    // fewer of each night, none of the night with one left; Vrbo's feed blocks that night.
    body = 'this is not a calendar';
    await h.database.db.update(icalImportFeeds).set({ lastSuccessAt: new Date(Date.now() - 2 * 3_600_000) }).where(eq(icalImportFeeds.id, feed.id));
    await pollNow(feed.id);
    await eventually(() => roomsToSell().join() === '1,1,0,1,1', { what: 'one unit kept back on Booking.com', timeoutMs: 60_000 });
    expect(await blockedSoon()).toEqual([addDays(from, 2)]);
    // Airbnb's own feed of Skerry would not be held back by its own staleness.
    const own = await exportFeed(seed.unitId, 'airbnb');
    expect([...(await blockedIn(own.url))].filter((date) => date < addDays(from, 10))).toEqual([]);
    // Only the channels are told less: the inventory still has every unit.
    expect(await booked(seed.unitId, from, addDays(from, 4))).toEqual([0, 0, 0, 0, 0]);

    // Repaired: the next round imports, the feed is fresh, and the kept-back unit is sold again.
    body = calendar();
    await pollNow(feed.id);
    await eventually(() => roomsToSell().join() === '2,2,1,2,2', { what: 'the kept-back unit sold again on Booking.com', timeoutMs: 60_000 });
    expect(await blockedSoon()).toEqual([]);
    await doors.inject({ method: 'POST', url: `/units/${seed.unitId}/ical/imports/${feed.id}/remove`, payload: {} });
  });
});

describe('what an import may point at, and a failing feed host', () => {
  it('refuses an import URL that points inside or is not https with a clear 400, and registers nothing', async () => {
    const seed = await seedUnit(h, { from: nextStart(), nights: 3, count: 1 });
    const refused: Array<[string, RegExp]> = [
      ['https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local \(cloud metadata\) address/],
      ['https://metadata.evil.test/calendar.ics', /metadata\.evil\.test resolves to 169\.254\.169\.254/],
      ['https://10.0.0.1/calendar.ics', /10\.0\.0\.1 is a private \(RFC 1918\) address/],
      ['https://[fd00::1]/calendar.ics', /unique-local/],
      ['https://localhost:5432/', /loopback name/],
      ['https://127.0.0.2:5432/', /127\.0\.0\.2:5432 is a loopback address/],
      ['http://calendar.ota.test/calendar.ics', /plain http to calendar\.ota\.test is refused: this deployment requires https/],
      ['https://nowhere.invalid.test/calendar.ics', /does not resolve/],
    ];
    for (const [url, reason] of refused) {
      const response = await doors.inject({ method: 'POST', url: `/units/${seed.unitId}/ical/imports`, payload: { channel: 'vrbo', url } });
      expect(response.statusCode, url).toBe(400);
      expect(response.json(), url).toMatchObject({ error: 'invalid_request', fields: [{ path: 'body.url' }] });
      expect(response.json().message, url).toMatch(reason);
    }
    const scheme = await doors.inject({ method: 'POST', url: `/units/${seed.unitId}/ical/imports`, payload: { channel: 'vrbo', url: 'file:///etc/passwd' } });
    expect(scheme.statusCode).toBe(400);
    expect((await h.ical.feeds.listImportFeeds(seed.unitId)).length).toBe(0);
    // A name on the internet is accepted (its poll is removed at once: the name exists only here).
    const accepted = await importFeed(seed.unitId, { channel: 'vrbo', url: 'https://calendar.ota.test/calendar.ics?s=secret' });
    expect((await doors.inject({ method: 'POST', url: `/units/${seed.unitId}/ical/imports/${accepted.id}/remove`, payload: {} })).statusCode).toBe(200);
  });

  it('refuses an iCal channel mapping, pointing to the iCal routes', async () => {
    const seed = await seedUnit(h, { from: nextStart(), nights: 3, count: 1 });
    const response = await doors.inject({ method: 'POST', url: `/units/${seed.unitId}/mappings`, payload: { channel: 'ical', externalAccountId: 'airbnb', externalListingId: '123' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/iCal is not mapped.*POST \/units\/:id\/ical\/exports.*POST \/units\/:id\/ical\/imports/);
    expect((await h.inventory.mappings.listMappings(seed.unitId)).map((mapping) => mapping.channel)).not.toContain('ical');
  });

  it('opens the breaker of a feed host that keeps failing: the channel health shows it, and the host is not called while it is open', async () => {
    let calls = 0;
    const down = createServer((_request, response) => {
      calls += 1;
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.end('down for maintenance');
    });
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(down.address() as AddressInfo).port}`;
      const from = nextStart();
      const seed = await seedUnit(h, { from, nights: 5, count: 1 });
      const bookedBefore = await booked(seed.unitId, from, addDays(from, 4));
      const feed = await importFeed(seed.unitId, { channel: 'vrbo', url: `http://${host}/listing.ics` });
      const health = () => doors.inject({ method: 'GET', url: '/channels/ical/health' }).then((response) => response.json());

      const opened = await eventually(
        async () => {
          const current = await health();
          const entry = current.imports.find((item: { id: string }) => item.id === feed.id);
          if (entry?.breaker === 'open') return { current, entry };
          await pollNow(feed.id);
          return undefined;
        },
        { what: 'the host’s breaker open', everyMs: 300, timeoutMs: 90_000 },
      );
      expect(opened.current.healthy).toBe(false);
      expect(opened.current.hosts).toContainEqual(expect.objectContaining({ host, state: 'open', openUntil: expect.any(String) }));
      expect(opened.entry.lastError).toMatch(/^http: the feed at http:\/\/127\.0\.0\.1:\d+ answered HTTP 503/);
      const callsWhenOpened = calls;
      expect(callsWhenOpened).toBeGreaterThanOrEqual(3);

      // Open: the next rounds fail fast with the breaker's reason, and the host hears nothing.
      const failFast = await eventually(
        async () => {
          const current = await h.ical.feeds.getImportFeed(feed.id);
          if (current?.lastError?.startsWith('circuit_open:')) return current;
          await pollNow(feed.id);
          return undefined;
        },
        { what: 'a round refused by the open breaker', everyMs: 300, timeoutMs: 90_000 },
      );
      expect(failFast.lastError).toMatch(/^circuit_open: /);
      expect(calls).toBe(callsWhenOpened);
      expect((await health()).imports.find((item: { id: string }) => item.id === feed.id)).toMatchObject({ state: 'error', breaker: 'open' });
      // Nothing changed meanwhile.
      expect(await icalReservations(seed.unitId)).toEqual([]);
      expect(await booked(seed.unitId, from, addDays(from, 4))).toEqual(bookedBefore);
      await doors.inject({ method: 'POST', url: `/units/${seed.unitId}/ical/imports/${feed.id}/remove`, payload: {} });
    } finally {
      await new Promise<void>((resolve) => down.close(() => resolve()));
    }
  });
});
