// B6 extended, iCal: an OTA's export gains a booking (a new VEVENT); Skerry's import is asked to run
// (as its 10-minute poll would) and the clock starts when the feed server hands Skerry the body with
// the new event — the moment the import finds it. It stops when Booking.com's sandbox has applied
// Skerry's push taking those nights off sale (the sandbox announces every applied push to the
// millisecond). Production wiring: API and sandboxes here, the worker in its own process. Baseline:
// the same Booking.com push made by the same client straight from this process. The poll interval
// itself is not in the figure: an OTA's booking waits up to ICAL_POLL_INTERVAL_MS before any import
// can find it (the README's "gap").
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

export interface IcalBenchResult {
  units: number;
  fromImportFinding: LatencySummary;
  baseline: { bookingComPush: LatencySummary };
  ratio: { fromImportFindingP50: number };
  neverArrived: number;
  pollIntervalMs: number;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function summarize(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
  return { samples: sorted.length, p50Ms: round(at(50)), p99Ms: round(at(99)), maxMs: round(sorted.at(-1) ?? NaN) };
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`B6 iCal: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const icsDate = (date: string) => date.replaceAll('-', '');

export async function benchIcal(options: {
  temporalAddress: string;
  databaseUrl: string;
  workDir: string;
  bundlePath: string;
  durationS: number;
  startWorkerProcess: (env: Record<string, string>) => Promise<ChildProcess>;
  stopWorkerProcess: (worker: ChildProcess) => Promise<void>;
  say: (message: string) => void;
}): Promise<IcalBenchResult> {
  const { say } = options;
  const stops: Array<() => Promise<unknown>> = [];
  try {
    // The OTAs' exports: one feed per unit, served with the time each event was first handed out.
    const events = new Map<number, Array<{ uid: string; checkIn: string; checkOut: string }>>();
    const firstServed = new Map<string, number>();
    const feeds = createServer((request, response) => {
      const unit = Number(/^\/feeds\/(\d+)\.ics$/.exec(request.url ?? '')?.[1] ?? -1);
      const list = events.get(unit) ?? [];
      const now = Date.now();
      for (const event of list) if (!firstServed.has(event.uid)) firstServed.set(event.uid, now);
      const body = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Bench OTA//EN']
        .concat(list.flatMap((event) => ['BEGIN:VEVENT', `UID:${event.uid}`, `DTSTART;VALUE=DATE:${icsDate(event.checkIn)}`, `DTEND;VALUE=DATE:${icsDate(event.checkOut)}`, 'SUMMARY:Reserved', 'END:VEVENT']))
        .concat(['END:VCALENDAR', ''])
        .join('\r\n');
      response.writeHead(200, { 'content-type': 'text/calendar' });
      response.end(body);
    });
    await new Promise<void>((resolve) => feeds.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => feeds.close(resolve)));
    const feedHost = `127.0.0.1:${(feeds.address() as AddressInfo).port}`;
    const feedBase = `http://${feedHost}/feeds`;

    const [apiPort, publicPort, sandboxPort, swishPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env: Record<string, string> = {
      TEMPORAL_TASK_QUEUE: 'bench-ical',
      RESILIENCE_SCOPE: 'bench-ical',
      PORT: String(apiPort),
      PUBLIC_PORT: String(publicPort),
      PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
      SKERRY_BOOTSTRAP_API_KEY: BENCH_API_KEY,
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_SWISH_PORT: String(swishPort),
      DATA_DIR: join(options.workDir, 'ical'),
      RECONCILIATION_SCHEDULE_HOUR: 'off',
      CHANNEL_RESYNC_HOUR: 'off',
      WORKER_METRICS_PORT: 'off',
      WORKER_TEMPORAL_METRICS_PORT: 'off',
      LOG_LEVEL: 'warn',
      // The bench's OTA feeds are on loopback, which an import refuses unless its host is allow-listed.
      ICAL_IMPORT_ALLOWED_HOSTS: feedHost,
    };
    const config = loadConfig(env);
    const logger = createLogger({ level: 'warn', name: 'bench-ical' });
    const sandboxes = await startSandboxes(config, { webhooks: { initialDelayMs: 50, maxDelayMs: 1_000 } });
    stops.push(() => sandboxes.close());
    const { bookingCom } = sandboxes.handles;
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

    // ── Set-up: units on Booking.com, each importing one OTA feed (empty at first).
    const units = 10;
    const wanted = Math.min(120, Math.max(20, Math.round(Math.min(options.durationS, 60) * 2)));
    const stays = Math.ceil(wanted / units);
    const firstNight = addDays(new Date().toISOString().slice(0, 10), 60);
    const nights = stays * 3 + 10;
    const property = await http('POST', '/properties', { name: 'Bench iCal camp', currency: 'SEK' });
    const hotelId = String(5_000_000 + (Date.now() % 1_000_000));
    say(`B6 iCal: ${units} units on Booking.com hotel ${hotelId}, each importing an OTA feed, ${nights} nights open…`);
    const setups = await Promise.all(
      Array.from({ length: units }, async (_, index) => {
        const unit = await http('POST', `/properties/${property.id}/units`, { name: `Cabin ${index + 1}`, count: 1 });
        const roomId = `${hotelId}${String(index + 1).padStart(2, '0')}`;
        await http('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: roomId, externalRateId: `${hotelId}9` });
        await http('PUT', `/units/${unit.id}/calendar`, { ranges: [{ from: firstNight, to: addDays(firstNight, nights - 1), available: 1, price: { value: 95_000, currency: 'SEK' }, minNights: 1 }] });
        const feed = await http('POST', `/units/${unit.id}/ical/imports`, { channel: 'vrbo', url: `${feedBase}/${index}.ics`, intervalMs: 3_600_000 });
        return { unitId: unit.id as string, roomId, feedId: feed.id as string };
      }),
    );
    const lastNight = addDays(firstNight, nights - 1);
    await waitFor(() => setups.every((unit) => bookingCom.calendar(hotelId, unit.roomId, `${hotelId}9`, lastNight, lastNight)[0]?.roomsToSell === 1), 180_000, 'the initial calendars on Booking.com');

    // ── Bookings appear in the OTAs' feeds; each import is asked to run, as its poll would.
    const waiting = new Map<string, { roomId: string; nights: string[] }>();
    const delays: number[] = [];
    bookingCom.events.on('calendar', (event) => {
      for (const [uid, entry] of waiting) {
        if (event.listing !== `${hotelId}/${entry.roomId}` || !entry.nights.some((night) => event.dates.includes(night))) continue;
        if (!entry.nights.every((date) => bookingCom.calendar(hotelId, entry.roomId, `${hotelId}9`, date, date)[0]?.roomsToSell === 0)) continue;
        const found = firstServed.get(uid);
        waiting.delete(uid);
        if (found !== undefined) delays.push(event.atMs - found);
      }
    });
    say(`B6 iCal: ${wanted} bookings appearing in the OTA feeds at 2/s, each import run at once…`);
    const begin = Date.now();
    for (let index = 0; index < wanted; index += 1) {
      const due = begin + index * 500;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const unitIndex = index % units;
      const unit = setups[unitIndex]!;
      const checkIn = addDays(firstNight, Math.floor(index / units) * 3);
      const checkOut = addDays(checkIn, 2);
      const uid = `bench-${index}@ota.example`;
      waiting.set(uid, { roomId: unit.roomId, nights: eachDate(stayNights(checkIn, checkOut)) });
      events.set(unitIndex, [...(events.get(unitIndex) ?? []), { uid, checkIn, checkOut }]);
      await http('POST', `/units/${unit.unitId}/ical/imports/${unit.feedId}/sync`, {});
    }
    const deadline = Date.now() + 120_000;
    while (waiting.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const neverArrived = waiting.size;
    if (neverArrived > 0) say(`B6 iCal: ${neverArrived} imported bookings never closed Booking.com within the deadline`);

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
    const fromImportFinding = summarize(delays);
    return {
      units,
      fromImportFinding,
      baseline: { bookingComPush },
      ratio: { fromImportFindingP50: round(fromImportFinding.p50Ms / bookingComPush.p50Ms, 2) },
      neverArrived,
      pollIntervalMs: config.channels.ical.pollIntervalMs,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
