// B6 extended, Channex: a guest books on an OTA behind Channex (the sandbox puts a revision in the
// feed and sends the `booking` webhook at once); the clock stops when Booking.com's sandbox has
// applied Skerry's push taking those nights off sale (the sandboxes announce every applied push to
// the millisecond). Timed from the booking (= the webhook hint) and from the moment Skerry's pull
// read the revision from the feed. Production defaults through the production wiring (API and
// sandboxes here, the worker in its own process). Baseline: the same Booking.com push made by the
// same client straight from this process. Then 1,000 calendar edits count the Channex requests,
// against Channex's limit (10 availability + 10 restriction requests per minute per property).
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

interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ChannexBenchResult {
  properties: number;
  reservations: { fromBooking: LatencySummary; fromFeedRead: LatencySummary };
  baseline: { bookingComPush: LatencySummary };
  ratio: { fromBookingP50: number; fromFeedReadP50: number };
  neverArrived: number;
  changes: {
    edits: number;
    seconds: number;
    /** Nights whose last-sent edit was not the one the database kept (concurrent edits committed out of order). */
    reorderedEdits: number;
    channexRequests: { availability: number; restrictions: number; total: number; per1000Edits: number };
    /** Channex's allowance over the same time: 20 requests per minute per property edited. */
    allowedRequests: number;
    busiestMinutePerPropertyAndKind: number;
    limitPerMinute: number;
    refused429: number;
    settledAfterLastEditMs: number;
  };
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function summarize(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
  return { samples: sorted.length, p50Ms: round(at(50)), p99Ms: round(at(99)), maxMs: round(sorted.at(-1) ?? NaN) };
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`B6 Channex: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function benchChannex(options: {
  temporalAddress: string;
  databaseUrl: string;
  workDir: string;
  bundlePath: string;
  durationS: number;
  startWorkerProcess: (env: Record<string, string>) => Promise<ChildProcess>;
  stopWorkerProcess: (worker: ChildProcess) => Promise<void>;
  say: (message: string) => void;
}): Promise<ChannexBenchResult> {
  const { say } = options;
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const [apiPort, publicPort, sandboxPort, swishPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env: Record<string, string> = {
      TEMPORAL_TASK_QUEUE: 'bench-channex',
      RESILIENCE_SCOPE: 'bench-channex',
      PORT: String(apiPort),
      PUBLIC_PORT: String(publicPort),
      PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
      SKERRY_BOOTSTRAP_API_KEY: BENCH_API_KEY,
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_SWISH_PORT: String(swishPort),
      DATA_DIR: join(options.workDir, 'channex'),
      RECONCILIATION_SCHEDULE_HOUR: 'off',
      CHANNEL_RESYNC_HOUR: 'off',
      WORKER_METRICS_PORT: 'off',
      WORKER_TEMPORAL_METRICS_PORT: 'off',
      LOG_LEVEL: 'warn',
    };
    const config = loadConfig(env);
    const logger = createLogger({ level: 'warn', name: 'bench-channex' });
    const sandboxes = await startSandboxes(config, { webhooks: { initialDelayMs: 50, maxDelayMs: 1_000 } });
    stops.push(() => sandboxes.close());
    const { bookingCom, channex } = sandboxes.handles;
    const api = await startApi(config, { temporalAddress: options.temporalAddress, databaseUrl: options.databaseUrl, logger });
    stops.push(() => api.close());
    const worker = await options.startWorkerProcess({ ...env, TEMPORAL_ADDRESS: options.temporalAddress, DATABASE_URL: options.databaseUrl, WORKFLOW_BUNDLE_PATH: options.bundlePath });
    stops.push(() => options.stopWorkerProcess(worker));
    const database = createDatabase(options.databaseUrl, { max: 2 });
    stops.push(() => database.close());
    const http = async (method: string, path: string, body?: unknown) => {
      const response = await adminFetch(`${api.url}${path}`, { method, body });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      return text ? JSON.parse(text) : undefined;
    };

    // ── Set-up: units mapped to Booking.com and each to a Channex property of its own (Channex's advice for rentals).
    const rate = 4;
    const wanted = Math.min(300, Math.max(20, Math.round(Math.min(options.durationS, 60) * rate)));
    const units = 20;
    const stays = Math.ceil(wanted / units);
    const firstNight = addDays(new Date().toISOString().slice(0, 10), 60);
    const nights = stays * 3 + 10 + 40;
    const editFrom = addDays(firstNight, stays * 3 + 10);
    const property = await http('POST', '/properties', { name: 'Bench Channex camp', currency: 'SEK' });
    const hotelId = String(4_000_000 + (Date.now() % 1_000_000));
    say(`B6 Channex: ${units} units on Booking.com hotel ${hotelId} and ${units} Channex properties, ${nights} nights open…`);
    const setups = await Promise.all(
      Array.from({ length: units }, async (_, index) => {
        const unit = await http('POST', `/properties/${property.id}/units`, { name: `Cabin ${index + 1}`, count: 1 });
        const roomId = `${hotelId}${String(index + 1).padStart(2, '0')}`;
        const made = channex.createProperty({ title: `Bench cabin ${index + 1}`, currency: 'SEK', roomTypes: [{ title: 'Cabin', count: 1 }] });
        const room = made.roomTypes[0]!;
        await http('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: roomId, externalRateId: `${hotelId}9` });
        await http('POST', `/units/${unit.id}/mappings`, { channel: 'channex', externalAccountId: made.id, externalListingId: room.id, externalRateId: room.ratePlanId });
        await http('PUT', `/units/${unit.id}/calendar`, { ranges: [{ from: firstNight, to: addDays(firstNight, nights - 1), available: 1, price: { value: 95_000, currency: 'SEK' }, minNights: 1 }] });
        return { unitId: unit.id as string, roomId, propertyId: made.id, roomTypeId: room.id, ratePlanId: room.ratePlanId };
      }),
    );
    const lastNight = addDays(firstNight, nights - 1);
    await waitFor(
      () =>
        setups.every(
          (unit) => bookingCom.calendar(hotelId, unit.roomId, `${hotelId}9`, lastNight, lastNight)[0]?.roomsToSell === 1 && channex.availability(unit.propertyId, lastNight, lastNight)[unit.roomTypeId]?.[lastNight] === 1,
        ),
      180_000,
      'the initial calendars on Booking.com and Channex',
    );

    // ── Guests book on Channex; the clock stops when Booking.com stops selling their nights.
    const waiting = new Map<string, { roomId: string; nights: string[]; bookedAtMs: number; revisionId: string }>();
    const fromBooking: number[] = [];
    const fromFeedRead: number[] = [];
    const readAt = new Map<string, number>();
    channex.events.on('retrieved', (event) => {
      if (!readAt.has(event.reservationId)) readAt.set(event.reservationId, event.atMs);
    });
    bookingCom.events.on('calendar', (event) => {
      for (const [key, entry] of waiting) {
        if (event.listing !== `${hotelId}/${entry.roomId}` || !entry.nights.some((night) => event.dates.includes(night))) continue;
        if (!entry.nights.every((date) => bookingCom.calendar(hotelId, entry.roomId, `${hotelId}9`, date, date)[0]?.roomsToSell === 0)) continue;
        waiting.delete(key);
        fromBooking.push(event.atMs - entry.bookedAtMs);
        const read = readAt.get(entry.revisionId);
        if (read !== undefined) fromFeedRead.push(event.atMs - read);
      }
    });
    say(`B6 Channex: ${wanted} guest bookings at ${rate}/s through Channex (webhook hint, feed polled every ${config.channels.channex.pollIntervalMs} ms otherwise)…`);
    const begin = Date.now();
    for (let index = 0; index < wanted; index += 1) {
      const due = begin + (index * 1000) / rate;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const unit = setups[index % units]!;
      const checkIn = addDays(firstNight, Math.floor(index / units) * 3);
      const checkOut = addDays(checkIn, 2);
      const bookedAtMs = Date.now();
      const revision = channex.guestBooking({ ratePlanId: unit.ratePlanId, arrivalDate: checkIn, departureDate: checkOut, guestName: `Bench guest ${index}` });
      waiting.set(`${index}`, { roomId: unit.roomId, nights: eachDate(stayNights(checkIn, checkOut)), bookedAtMs, revisionId: revision.id });
    }
    const deadline = Date.now() + config.channels.channex.pollIntervalMs + 120_000;
    while (waiting.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const neverArrived = waiting.size;
    if (neverArrived > 0) say(`B6 Channex: ${neverArrived} bookings never closed Booking.com within the deadline`);

    // ── Baseline: the same Booking.com push by the same client, straight from here.
    const direct = bookingActivityDeps(config, database.db, logger, bookingWorkflowSignals);
    const samples: number[] = [];
    for (let index = 0; index < 50; index += 1) {
      const unit = setups[index % units]!;
      const mapping = (await direct.inventory.mappings.getMapping(unit.unitId, 'booking_com'))!;
      const checkIn = addDays(firstNight, (index % stays) * 3);
      const days = await direct.inventory.calendar.desiredDays(unit.unitId, [stayNights(checkIn, addDays(checkIn, 2))]);
      const started = performance.now();
      await direct.channels.get('booking_com').pushCalendar(mapping, days, { skipRequests: 0, onRequest: () => {} });
      samples.push(performance.now() - started);
    }
    const bookingComPush = summarize(samples);

    // ── 1,000 calendar edits over 10 properties: Channex requests against its limit.
    const edits = 1_000;
    const editUnits = setups.slice(0, 10);
    const finalPrice = new Map<string, { unit: (typeof setups)[number]; date: string; price: number }>();
    say(`B6 Channex: ${edits} calendar edits through the API over ${editUnits.length} Channex properties, 100/s…`);
    const editsBegin = Date.now();
    const inflight: Promise<unknown>[] = [];
    for (let index = 0; index < edits; index += 1) {
      const due = editsBegin + index * 10;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const unit = editUnits[index % editUnits.length]!;
      const date = addDays(editFrom, (index * 7) % 40);
      const price = 100_000 + index;
      finalPrice.set(`${unit.unitId}:${date}`, { unit, date, price });
      inflight.push(http('PUT', `/units/${unit.unitId}/calendar`, { ranges: [{ from: date, to: date, price: { value: price, currency: 'SEK' } }] }));
    }
    await Promise.all(inflight);
    const lastEditAt = Date.now();
    // Concurrent edits of one night may commit in either order: Channex must end on what Skerry holds.
    let reorderedEdits = 0;
    for (const [key, edit] of finalPrice) {
      const [held] = await direct.inventory.calendar.desiredDays(edit.unit.unitId, [{ from: edit.date, to: edit.date }]);
      if (held?.price === undefined) throw new Error(`B6 Channex: ${edit.unit.unitId} ${edit.date} has no price after the edits`);
      if (held.price !== edit.price) reorderedEdits += 1;
      finalPrice.set(key, { ...edit, price: held.price });
    }
    await waitFor(
      () => [...finalPrice.values()].every(({ unit, date, price }) => channex.restrictions(unit.propertyId, date, date)[unit.ratePlanId]?.[date]?.rate === (price / 100).toFixed(2)),
      600_000,
      'every edit on Channex',
    );
    const settledAfterLastEditMs = Date.now() - lastEditAt;
    const editProperties = new Set(editUnits.map((unit) => unit.propertyId));
    const log = channex.requestLog(editsBegin).filter((entry) => entry.kind && entry.propertyIds.some((id) => editProperties.has(id)));
    let busiest = 0;
    for (const propertyId of editProperties) {
      for (const kind of ['availability', 'restrictions'] as const) {
        const times = log.filter((entry) => entry.kind === kind && entry.propertyIds.includes(propertyId)).map((entry) => entry.atMs).sort((a, b) => a - b);
        for (let first = 0, last = 0; last < times.length; last += 1) {
          while (times[last]! - times[first]! >= 60_000) first += 1;
          busiest = Math.max(busiest, last - first + 1);
        }
      }
    }
    const availability = log.filter((entry) => entry.kind === 'availability').length;
    const restrictions = log.filter((entry) => entry.kind === 'restrictions').length;
    const spanMinutes = Math.max(1, (Date.now() - editsBegin) / 60_000);
    const fromBookingSummary = summarize(fromBooking);
    const fromFeedSummary = summarize(fromFeedRead);
    return {
      properties: units,
      neverArrived,
      reservations: { fromBooking: fromBookingSummary, fromFeedRead: fromFeedSummary },
      baseline: { bookingComPush },
      ratio: { fromBookingP50: round(fromBookingSummary.p50Ms / bookingComPush.p50Ms), fromFeedReadP50: round(fromFeedSummary.p50Ms / bookingComPush.p50Ms) },
      changes: {
        edits,
        seconds: round((lastEditAt - editsBegin) / 1000),
        reorderedEdits,
        channexRequests: { availability, restrictions, total: availability + restrictions, per1000Edits: round(((availability + restrictions) / edits) * 1000) },
        allowedRequests: Math.floor(spanMinutes * 20 * editProperties.size),
        busiestMinutePerPropertyAndKind: busiest,
        limitPerMinute: 10,
        refused429: log.filter((entry) => entry.status === 429).length,
        settledAfterLastEditMs,
      },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
