// B7: the console's reads at size. 100,000 payments in the ledger and a 50-unit property with 365
// nights each (and channel state for every night); the admin app (auth, validation, serialization,
// the real stores) answers the list pages and a month of the property's calendar grid, in process
// through app.inject. The baseline is the raw SQL each answer needs, sent straight to Postgres in
// the same run. The target: each answer within 300 ms at this size.
import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { Client } from '@temporalio/client';
import type { Database } from '../db/client';
import { buildAdminApp } from '../api/app';
import { createApiKeyStore } from '../store/api-keys';
import { createIdempotencyStore } from '../store/idempotency';
import { createPaymentList } from '../store/payment-list';
import { createInventory } from '../store/inventory';
import { createBookingsClient } from '../client/bookings';
import { API_SCOPES } from '../db/schema';
import { percentile, round } from './support';

const PAYMENTS = 100_000;
const UNITS = 50;
const NIGHTS = 365;
const TARGET_MS = 300;

interface Timing {
  p50Ms: number;
  p95Ms: number;
}

export interface ConsoleBenchCase {
  skerry: Timing;
  baseline: Timing;
  /** Skerry's p95 over the raw SQL's p95. */
  ratio: number;
  withinTarget: boolean;
}

export interface ConsoleBenchResult {
  payments: number;
  units: number;
  nights: number;
  targetMs: number;
  cases: Record<string, ConsoleBenchCase>;
}

async function time(run: () => Promise<unknown>, rounds: number): Promise<Timing> {
  for (let warm = 0; warm < 3; warm += 1) await run();
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return { p50Ms: round(percentile(samples, 50), 2), p95Ms: round(percentile(samples, 95), 2) };
}

async function seed(sql: postgres.Sql, run: string) {
  // Four providers, ten statuses, 30 days of history, two currencies; ids sortable like the product's.
  await sql`
    insert into payments (id, workflow_id, provider, status, reference, capture_method, currency, amount, amount_captured, amount_refunded, provider_reference, created_at, updated_at)
    select 'pay_b7' || ${run} || lpad(n::text, 7, '0'), 'payment-pay_b7' || ${run} || n,
      (array['stripe','paypal','swish','mobilepay'])[1 + n % 4],
      (array['succeeded','succeeded','succeeded','failed','created','requires_capture','refunded','partially_refunded','canceled','processing'])[1 + n % 10],
      'res_b7' || ${run} || n, 'automatic', (array['SEK','EUR'])[1 + n % 2], 10000 + n % 5000, 10000 + n % 5000, 0,
      'pi_b7' || ${run} || n, now() - (n * interval '26 seconds'), now() - (n * interval '26 seconds')
    from generate_series(1, ${PAYMENTS}) as n`;
  const propertyId = `prop_b7${run}`;
  await sql`insert into properties (id, name, currency) values (${propertyId}, 'B7 campsite', 'SEK')`;
  await sql`
    insert into units (id, property_id, name, count)
    select 'unit_b7' || ${run} || lpad(u::text, 3, '0'), ${propertyId}, 'Cabin ' || u, 3 from generate_series(1, ${UNITS}) as u`;
  await sql`
    insert into calendar_days (unit_id, date, allotment, booked, price, currency, min_nights)
    select 'unit_b7' || ${run} || lpad(u::text, 3, '0'), current_date + d, 3, (u + d) % 3, 89500 + (d % 7) * 1000, 'SEK', 1 + d % 3
    from generate_series(1, ${UNITS}) as u, generate_series(0, ${NIGHTS - 1}) as d`;
  await sql`
    insert into channel_calendar_state (unit_id, channel, date, available, price, currency, min_nights, closed_to_arrival, closed_to_departure, closed)
    select 'unit_b7' || ${run} || lpad(u::text, 3, '0'), c, current_date + d, 3 - (u + d) % 3, 89500 + (d % 7) * 1000, 'SEK', 1 + d % 3, false, false, false
    from generate_series(1, ${UNITS}) as u, generate_series(0, ${NIGHTS - 1}) as d, unnest(array['booking_com','airbnb']) as c`;
  await sql`
    insert into channel_mappings (id, unit_id, channel, external_account_id, external_listing_id)
    select 'map_b7' || ${run} || lpad(u::text, 3, '0') || c, 'unit_b7' || ${run} || lpad(u::text, 3, '0'), c, 'acct', 'listing' || ${run} || u || c
    from generate_series(1, ${UNITS}) as u, unnest(array['booking_com','airbnb']) as c`;
  await sql`analyze`;
  return { propertyId };
}

export async function benchConsole(options: { database: { db: Database; sql: postgres.Sql }; rounds?: number; say: (message: string) => void }): Promise<ConsoleBenchResult> {
  const { db, sql } = options.database;
  const rounds = options.rounds ?? 40;
  const run = randomUUID().replaceAll('-', '').slice(0, 6);
  options.say(`B7: seeding ${PAYMENTS.toLocaleString('en')} payments and ${UNITS} units × ${NIGHTS} nights…`);
  const { propertyId } = await seed(sql, run);

  const keys = createApiKeyStore(db);
  const { key } = await keys.create({ name: 'bench B7', scopes: API_SCOPES });
  const inventory = createInventory(db);
  // The calendar reads only Postgres; the lazy Temporal client is never dialled.
  const bookings = createBookingsClient({ temporal: new Client(), inventory });
  const unused = {} as never;
  const app = await buildAdminApp({
    payments: unused,
    inbox: unused,
    delivery: unused,
    access: { keys, idempotency: createIdempotencyStore(db), allowedHosts: ['localhost'] },
    paymentList: { list: createPaymentList(db) },
    propertyCalendar: { bookings, db },
  });
  const get = async (url: string) => {
    const answer = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}`, host: 'localhost' } });
    if (answer.statusCode !== 200) throw new Error(`B7: GET ${url} answered ${answer.statusCode}: ${answer.body.slice(0, 300)}`);
    return answer.json();
  };

  const month = { from: new Date().toISOString().slice(0, 10), to: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10) };
  const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const deepCursor = (await get(`/payments?provider=paypal&limit=50&from=${weekAgo}`)).nextCursor as string;
  const unitIds = Array.from({ length: UNITS }, (_, index) => `unit_b7${run}${String(index + 1).padStart(3, '0')}`);
  const probe = `pi_b7${run}54321`;

  const cases: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
    ['first page', () => get('/payments?limit=50'), () => sql`select * from payments order by created_at desc, id desc limit 51`],
    ['status filter', () => get('/payments?status=failed&limit=50'), () => sql`select * from payments where status = 'failed' order by created_at desc, id desc limit 51`],
    [
      'provider + dates, page 2',
      () => get(`/payments?provider=paypal&limit=50&from=${weekAgo}&cursor=${deepCursor}`),
      () => sql`select * from payments where provider = 'paypal' and created_at >= ${weekAgo} order by created_at desc, id desc limit 51 offset 50`,
    ],
    ['search by provider reference', () => get(`/payments?q=${probe}`), () => sql`select * from payments where provider_reference = ${probe} or id = ${probe} or reference = ${probe} limit 51`],
    ['overview totals (a week)', () => get(`/payments/summary?from=${weekAgo}`), () => sql`select provider, status, count(*) from payments where created_at >= ${weekAgo} group by 1, 2`],
    [
      'calendar: 50 units × a month',
      () => get(`/properties/${propertyId}/calendar?from=${month.from}&to=${month.to}`),
      () =>
        Promise.all([
          sql`select * from calendar_days where unit_id in ${sql(unitIds)} and date between ${month.from} and ${month.to}`,
          sql`select * from channel_calendar_state where unit_id in ${sql(unitIds)} and date between ${month.from} and ${month.to}`,
          sql`select * from reservations where unit_id in ${sql(unitIds)} and check_in <= ${month.to} and check_out > ${month.from}`,
        ]),
    ],
  ];

  const result: ConsoleBenchResult = { payments: PAYMENTS, units: UNITS, nights: NIGHTS, targetMs: TARGET_MS, cases: {} };
  try {
    for (const [name, skerryCall, baselineCall] of cases) {
      const skerry = await time(skerryCall, rounds);
      const baseline = await time(baselineCall, rounds);
      result.cases[name] = { skerry, baseline, ratio: round(skerry.p95Ms / Math.max(baseline.p95Ms, 0.01), 1), withinTarget: skerry.p95Ms <= TARGET_MS };
      options.say(`B7 ${name}: p50 ${skerry.p50Ms} ms, p95 ${skerry.p95Ms} ms (raw SQL p95 ${baseline.p95Ms} ms, ×${result.cases[name]!.ratio})`);
    }
  } finally {
    await app.close();
  }
  return result;
}
