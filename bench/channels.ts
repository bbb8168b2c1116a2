// B6: availability sync. A guest books on one channel's sandbox; the clock stops when the other
// channel's sandbox has applied Skerry's push that takes those nights off sale (the sandboxes
// announce every applied push, to the millisecond). Airbnb reservations reach Skerry as signed
// webhooks; Booking.com's are pulled from its queue every BOOKING_COM_POLL_INTERVAL_MS, so that
// direction is also timed from the moment the pull fetched the reservation. Everything runs on the
// production defaults (poll interval, quiet window, rate limit) through the production wiring: API
// and sandboxes here, the worker in its own process. The baseline is the channel call alone: the same
// push made by the same channel client straight from this process, no Temporal, no inbox, no queue.
// Then 1,000 calendar edits through the API count the requests the channels receive, next to one
// request per edit per channel.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { loadConfig } from '../config';
import { createDatabase } from '../db/client';
import { startApi } from '../api/server';
import { startSandboxes } from '../sandbox/start';
import { freePort } from '../stack/ports';
import { createLogger } from '../observability/logger';
import { bookingActivityDeps } from '../activities/bookings/deps';
import { bookingWorkflowSignals } from '../client/bookings';
import { addDays, eachDate, stayNights } from '../domain/dates';
import { adminFetch, BENCH_API_KEY } from './support';
import type { ChannelName } from '../domain/bookings';

export interface ChannelSyncBenchResult {
  units: number;
  reservationsPerSecond: number;
  reservations: { airbnbToBookingCom: LatencySummary; bookingComToAirbnb: LatencySummary & { afterPull: LatencySummary } };
  /** p50 of each quarter of the run, in the order the guests booked (a growing series is a backlog). */
  p50ByQuarterOfTheRun: { airbnbToBookingCom: number[]; bookingComToAirbnb: number[] };
  baseline: { bookingComPush: LatencySummary; airbnbPush: LatencySummary };
  ratio: { airbnbToBookingComP50: number; bookingComToAirbnbAfterPullP50: number };
  /** Reservations whose nights never stopped selling on the other channel within the deadline (the gate wants 0). */
  neverArrived: number;
  changes: {
    edits: number;
    seconds: number;
    /** Nights whose last-sent edit was not the one the database kept (concurrent edits committed out of order). */
    reorderedEdits: number;
    channelRequests: { booking_com: number; airbnb: number; total: number };
    /** Measured: the same edits pushed one by one through the same channel clients, as a sync without coalescing would. */
    naiveRequests: number;
    ratio: number;
    settledAfterLastEditMs: number;
    /** Edits whose connection was lost and sent again (the PUT is idempotent). */
    networkRetries: number;
  };
  settings: { bookingComPollIntervalMs: number; quietMs: number; maxDelayMs: number; maxPushesPerMinute: number };
}

interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function summarize(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
  return { samples: sorted.length, p50Ms: round(at(50)), p99Ms: round(at(99)), maxMs: round(sorted.at(-1) ?? NaN) };
}

export async function benchChannelSync(options: {
  temporalAddress: string;
  databaseUrl: string;
  workDir: string;
  bundlePath: string;
  durationS: number;
  startWorkerProcess: (env: Record<string, string>) => Promise<ChildProcess>;
  stopWorkerProcess: (worker: ChildProcess) => Promise<void>;
  say: (message: string) => void;
}): Promise<ChannelSyncBenchResult> {
  const { say } = options;
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const [apiPort, publicPort, sandboxPort, swishPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // Production timing defaults: nothing about the sync is tuned for the benchmark.
    const env: Record<string, string> = {
      TEMPORAL_TASK_QUEUE: 'bench-channels',
      RESILIENCE_SCOPE: 'bench-channels',
      PORT: String(apiPort),
      PUBLIC_PORT: String(publicPort),
      PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
      SKERRY_BOOTSTRAP_API_KEY: BENCH_API_KEY,
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_SWISH_PORT: String(swishPort),
      DATA_DIR: join(options.workDir, 'channels'),
      RECONCILIATION_SCHEDULE_HOUR: 'off',
      CHANNEL_RESYNC_HOUR: 'off',
      WORKER_METRICS_PORT: 'off',
      WORKER_TEMPORAL_METRICS_PORT: 'off',
      LOG_LEVEL: 'warn',
    };
    const config = loadConfig(env);
    const logger = createLogger({ level: 'warn', name: 'bench-channels' });
    const sandboxes = await startSandboxes(config, { webhooks: { initialDelayMs: 50, maxDelayMs: 1_000 } });
    stops.push(() => sandboxes.close());
    const { bookingCom, airbnb } = sandboxes.handles;
    const api = await startApi(config, { temporalAddress: options.temporalAddress, databaseUrl: options.databaseUrl, logger });
    stops.push(() => api.close());
    const worker = await options.startWorkerProcess({
      ...env,
      TEMPORAL_ADDRESS: options.temporalAddress,
      DATABASE_URL: options.databaseUrl,
      WORKFLOW_BUNDLE_PATH: options.bundlePath,
    });
    stops.push(() => options.stopWorkerProcess(worker));
    const database = createDatabase(options.databaseUrl, { max: 2 });
    stops.push(() => database.close());

    // A connection the load generator lost (not an answer) is sent again: the calendar PUT and the
    // reads are idempotent. Counted, so a run that needed it says so.
    let networkRetries = 0;
    const send = async (method: string, path: string, body: unknown, attempt = 1): Promise<Response> => {
      try {
        return await adminFetch(`${api.url}${path}`, { method, body });
      } catch (err) {
        if (attempt >= 3 || method === 'POST') throw new Error(`${method} ${path}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause)})`);
        networkRetries += 1;
        return send(method, path, body, attempt + 1);
      }
    };
    const http = async (method: string, path: string, body?: unknown) => {
      const response = await send(method, path, body);
      const text = await response.text();
      if (response.status >= 300 && response.status !== 302) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      return text ? JSON.parse(text) : undefined;
    };

    // ── Set-up: one property, units mapped to a Booking.com room and an Airbnb listing of one host.
    // Enough guests that each direction's p99 is a percentile of ≥ 200 samples, not its maximum, in a full run.
    // BENCH_B6_RATE: reservations per second (a slower run shows how much of the latency is queueing).
    const rate = Number(process.env.BENCH_B6_RATE ?? 7);
    const reservationsWanted = Math.min(400, Math.max(20, Math.round(Math.min(options.durationS, 60) * rate)));
    const units = 20;
    const stays = Math.ceil(reservationsWanted / units);
    const firstNight = addDays(new Date().toISOString().slice(0, 10), 60);
    const editFrom = addDays(firstNight, stays * 3 + 10);
    const nights = stays * 3 + 10 + 100;
    const hostId = `benchhost${Date.now()}`;
    const consent = await adminFetch(`${api.url}/channels/airbnb/connect?hostHint=${hostId}`);
    const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
    // Airbnb sends the host's browser back to the public door's OAuth callback.
    const connected = await fetch(callback.headers.get('location')!, { redirect: 'manual' });
    if (connected.status >= 400) throw new Error(`the Airbnb connect callback answered ${connected.status}: ${await connected.text()}`);
    const property = await http('POST', '/properties', { name: 'Bench archipelago camp', currency: 'SEK' });
    const hotelId = String(3_000_000 + (Date.now() % 1_000_000));
    say(`B6: ${units} units on Booking.com hotel ${hotelId} and Airbnb host ${hostId}, ${nights} nights open…`);
    const unitSetups = await Promise.all(
      Array.from({ length: units }, async (_, index) => {
        const unit = await http('POST', `/properties/${property.id}/units`, { name: `Cabin ${index + 1}`, count: 1 });
        const roomId = `${hotelId}${String(index + 1).padStart(2, '0')}`;
        const listingId = `benchlisting${randomUUID().slice(0, 8)}`;
        await http('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: roomId, externalRateId: `${hotelId}9` });
        await http('POST', `/units/${unit.id}/mappings`, { channel: 'airbnb', externalAccountId: hostId, externalListingId: listingId });
        await http('PUT', `/units/${unit.id}/calendar`, {
          ranges: [{ from: firstNight, to: addDays(firstNight, nights - 1), available: 1, price: { value: 95_000, currency: 'SEK' }, minNights: 1 }],
        });
        return { unitId: unit.id as string, roomId, listingId };
      }),
    );
    const lastNight = addDays(firstNight, nights - 1);
    const fullyOpen = () =>
      unitSetups.every(
        (unit) =>
          bookingCom.calendar(hotelId, unit.roomId, `${hotelId}9`, lastNight, lastNight)[0]?.roomsToSell === 1 &&
          airbnb.calendar(unit.listingId, lastNight, lastNight)[0]?.available_count === 1,
      );
    await waitFor(fullyOpen, 120_000, 'the initial calendars on both channels');

    // ── Reservations: alternate channels, each guest on a unit and nights no one else takes.
    const waiting = new Map<string, { nights: string[]; startedAtMs: number; done: (atMs: number) => void }>();
    const soldOn = {
      booking_com: (roomId: string, dates: readonly string[]) => dates.every((date) => bookingCom.calendar(hotelId, roomId, `${hotelId}9`, date, date)[0]?.roomsToSell === 0),
      airbnb: (listingId: string, dates: readonly string[]) => dates.every((date) => airbnb.calendar(listingId, date, date)[0]?.available_count === 0),
    };
    const onPush = (channel: ChannelName) => (event: { listing: string; dates: readonly string[]; atMs: number }) => {
      const key = `${channel}:${event.listing}`;
      for (const [waitKey, entry] of waiting) {
        if (!waitKey.startsWith(`${key}:`) || !entry.nights.some((night) => event.dates.includes(night))) continue;
        const listing = event.listing.includes('/') ? event.listing.split('/')[1]! : event.listing;
        if (soldOn[channel as 'booking_com' | 'airbnb'](listing, entry.nights)) {
          waiting.delete(waitKey);
          entry.done(event.atMs);
        }
      }
    };
    bookingCom.events.on('calendar', onPush('booking_com'));
    airbnb.events.on('calendar', onPush('airbnb'));
    const pulledAt = new Map<string, number>();
    bookingCom.events.on('retrieved', (event) => pulledAt.set(event.reservationId, event.atMs));

    const airbnbToBookingCom: number[] = [];
    const bookingComToAirbnb: number[] = [];
    const bookingComAfterPull: number[] = [];
    const arrivals: Promise<void>[] = [];
    const inOrder: Array<{ index: number; fromAirbnb: boolean; ms: number }> = [];
    say(`B6: ${reservationsWanted} guest reservations at ${rate}/s, alternating Airbnb and Booking.com (Booking.com pulled every ${config.channels.bookingCom.pollIntervalMs} ms)…`);
    const begin = Date.now();
    for (let index = 0; index < reservationsWanted; index += 1) {
      const due = begin + (index * 1000) / rate;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const unit = unitSetups[index % units]!;
      const checkIn = addDays(firstNight, Math.floor(index / units) * 3);
      const checkOut = addDays(checkIn, 2);
      const soldNights = eachDate(stayNights(checkIn, checkOut));
      const fromAirbnb = index % 2 === 0;
      const target = fromAirbnb ? `booking_com:${hotelId}/${unit.roomId}` : `airbnb:${unit.listingId}`;
      arrivals.push(
        new Promise<void>((resolve) => {
          const startedAtMs = Date.now();
          let resId = '';
          waiting.set(`${target}:${index}`, {
            nights: soldNights,
            startedAtMs,
            done: (atMs) => {
              inOrder.push({ index, fromAirbnb, ms: atMs - startedAtMs });
              if (fromAirbnb) airbnbToBookingCom.push(atMs - startedAtMs);
              else {
                bookingComToAirbnb.push(atMs - startedAtMs);
                const pulled = pulledAt.get(resId);
                if (pulled !== undefined) bookingComAfterPull.push(atMs - pulled);
              }
              resolve();
            },
          });
          if (fromAirbnb) airbnb.book({ listingId: unit.listingId, checkIn, checkOut, guestName: `Bench guest ${index}` });
          else resId = bookingCom.book({ hotelId, roomId: unit.roomId, rateId: `${hotelId}9`, checkIn, checkOut, guestName: `Bench guest ${index}` }).resId;
        }),
      );
    }
    const allArrived = Promise.all(arrivals);
    const timedOut = await Promise.race([allArrived.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), config.channels.bookingCom.pollIntervalMs + 120_000).unref())]);
    const neverArrived = timedOut ? waiting.size : 0;
    if (timedOut) say(`B6: ${neverArrived} reservations never reached the other channel within the deadline`);

    // ── Baseline: the same push by the same channel client, straight from here.
    say('B6: baseline (the channel clients pushing the same nights directly)…');
    const direct = bookingActivityDeps(config, database.db, logger, bookingWorkflowSignals);
    const baselineOf = async (channel: ChannelName) => {
      const samples: number[] = [];
      for (let index = 0; index < 50; index += 1) {
        const unit = unitSetups[index % units]!;
        const mapping = (await direct.inventory.mappings.getMapping(unit.unitId, channel))!;
        const checkIn = addDays(firstNight, (index % stays) * 3);
        const days = await direct.inventory.calendar.desiredDays(unit.unitId, [stayNights(checkIn, addDays(checkIn, 2))]);
        const started = performance.now();
        await direct.channels.get(channel).pushCalendar(mapping, days, { skipRequests: 0, onRequest: () => {} });
        samples.push(performance.now() - started);
      }
      return summarize(samples);
    };
    const bookingComPush = await baselineOf('booking_com');
    const airbnbPush = await baselineOf('airbnb');

    // ── 1,000 calendar edits: how many requests reach the channels.
    const edits = 1_000;
    const editUnits = unitSetups.slice(0, 10);
    const requestsNow = () => ({ booking_com: bookingCom.counts.availRequests + bookingCom.counts.rateRequests, airbnb: airbnb.counts.calendarRequests });
    const before = requestsNow();
    const finalPrice = new Map<string, { unit: (typeof unitSetups)[number]; date: string; price: number }>();
    say(`B6: ${edits} calendar edits through the API over ${editUnits.length} units, 100/s…`);
    const editsBegin = Date.now();
    const inflight: Promise<unknown>[] = [];
    for (let index = 0; index < edits; index += 1) {
      const due = editsBegin + index * 10;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const unit = editUnits[index % editUnits.length]!;
      const date = addDays(editFrom, (index * 7) % 100);
      const price = 100_000 + index;
      finalPrice.set(`${unit.unitId}:${date}`, { unit, date, price });
      inflight.push(http('PUT', `/units/${unit.unitId}/calendar`, { ranges: [{ from: date, to: date, price: { value: price, currency: 'SEK' } }] }));
    }
    await Promise.all(inflight);
    const lastEditAt = Date.now();
    const editsSeconds = (lastEditAt - editsBegin) / 1000;
    // Edits of one night sent a second apart may commit in either order when the API's answers take
    // longer than that (they run concurrently): what the channels must end on is what Skerry holds.
    let reorderedEdits = 0;
    for (const [key, edit] of finalPrice) {
      const [held] = await direct.inventory.calendar.desiredDays(edit.unit.unitId, [{ from: edit.date, to: edit.date }]);
      if (held?.price === undefined) throw new Error(`B6: ${edit.unit.unitId} ${edit.date} has no price after the edits`);
      if (held.price !== edit.price) reorderedEdits += 1;
      finalPrice.set(key, { ...edit, price: held.price });
    }
    const told = () =>
      [...finalPrice.values()].every(
        ({ unit, date, price }) =>
          bookingCom.calendar(hotelId, unit.roomId, `${hotelId}9`, date, date)[0]?.price === price && airbnb.calendar(unit.listingId, date, date)[0]?.daily_price === price / 100,
      );
    await waitFor(told, 120_000, 'every edit on both channels', () => {
      const behind = { booking_com: [] as string[], airbnb: [] as string[] };
      for (const { unit, date, price } of finalPrice.values()) {
        const atBookingCom = bookingCom.calendar(hotelId, unit.roomId, `${hotelId}9`, date, date)[0]?.price;
        const atAirbnb = airbnb.calendar(unit.listingId, date, date)[0]?.daily_price;
        if (atBookingCom !== price) behind.booking_com.push(`${unit.roomId} ${date}: ${atBookingCom} not ${price}`);
        if (atAirbnb !== price / 100) behind.airbnb.push(`${unit.listingId} ${date}: ${atAirbnb} not ${price / 100}`);
      }
      return `of ${finalPrice.size} nights, Booking.com lacks ${behind.booking_com.length} (${behind.booking_com.slice(0, 3).join('; ')}), Airbnb ${behind.airbnb.length} (${behind.airbnb.slice(0, 3).join('; ')})`;
    });
    const settledAfterLastEditMs = Date.now() - lastEditAt;
    const after = requestsNow();
    const channelRequests = { booking_com: after.booking_com - before.booking_com, airbnb: after.airbnb - before.airbnb, total: 0 };
    channelRequests.total = channelRequests.booking_com + channelRequests.airbnb;

    // The naive baseline, measured: every edit pushed on its own to both channels by the same clients.
    say('B6: naive baseline (each edit pushed on its own to both channels)…');
    const beforeNaive = requestsNow();
    for (const { unit, date } of finalPrice.values()) {
      for (const channel of ['booking_com', 'airbnb'] as const) {
        const mapping = (await direct.inventory.mappings.getMapping(unit.unitId, channel))!;
        const days = await direct.inventory.calendar.desiredDays(unit.unitId, [{ from: date, to: date }]);
        await direct.channels.get(channel).pushCalendar(mapping, days, { skipRequests: 0, onRequest: () => {} });
      }
    }
    const afterNaive = requestsNow();
    // Scaled to all edits: the loop pushed each distinct (unit, night) once; edits to the same night repeat its cost.
    const naivePerEdit = (afterNaive.booking_com - beforeNaive.booking_com + afterNaive.airbnb - beforeNaive.airbnb) / finalPrice.size;
    const naiveRequests = Math.round(naivePerEdit * edits);

    const airbnbSummary = summarize(airbnbToBookingCom);
    const afterPull = summarize(bookingComAfterPull);
    // A backlog shows as latency growing with a reservation's place in the run; a steady state does not.
    const byQuarter = (fromAirbnb: boolean) =>
      [0, 1, 2, 3].map((quarter) =>
        summarize(inOrder.filter((sample) => sample.fromAirbnb === fromAirbnb && Math.floor((sample.index * 4) / reservationsWanted) === quarter).map((sample) => sample.ms)).p50Ms,
      );
    return {
      units,
      neverArrived,
      reservationsPerSecond: rate,
      reservations: { airbnbToBookingCom: airbnbSummary, bookingComToAirbnb: { ...summarize(bookingComToAirbnb), afterPull } },
      p50ByQuarterOfTheRun: { airbnbToBookingCom: byQuarter(true), bookingComToAirbnb: byQuarter(false) },
      baseline: { bookingComPush, airbnbPush },
      ratio: { airbnbToBookingComP50: round(airbnbSummary.p50Ms / bookingComPush.p50Ms), bookingComToAirbnbAfterPullP50: round(afterPull.p50Ms / airbnbPush.p50Ms) },
      changes: { edits, seconds: round(editsSeconds), reorderedEdits, channelRequests, naiveRequests, ratio: round(channelRequests.total / naiveRequests, 3), settledAfterLastEditMs, networkRetries },
      settings: {
        bookingComPollIntervalMs: config.channels.bookingCom.pollIntervalMs,
        quietMs: config.channels.sync.quietMs,
        maxDelayMs: config.channels.sync.maxDelayMs,
        maxPushesPerMinute: config.channels.sync.maxPushesPerMinute,
      },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: Error) => say(`B6 cleanup: ${err.message}`));
  }
}

/** Polls a condition over in-process sandbox state (no I/O): the set-up and the edits' end. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string, describeMissing?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`B6: timed out waiting for ${what}${describeMissing ? `: ${describeMissing()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
