// Channex's limit, 10 availability + 10 restriction/price requests per minute per property, holds
// with two worker processes pushing: 1,000 calendar edits over 10 properties (two units each, so two
// listing syncs share each property's slots and the per-unit sync limit is lifted, so only the
// shared pacer holds the line), asserted from the Channex sandbox's own request log, over Channex's
// real one-minute window (CHANNEX_RATE_WINDOW_SECONDS can shorten it on both sides; not needed here).
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { exited, spawnWorkerProcess } from '../support/worker-process';
import { addDays } from '../../domain/dates';
import { busiestWindow, channexAri, channexRequestLog, createChannexProperty, type ChannexProperty } from '../support/channex';

const WINDOW_SECONDS = 60;
const LIMIT = 10;
const PROPERTIES = 10;
const UNITS_PER_PROPERTY = 2;
const EDITS = Number(process.env.CHANNEX_RATE_TEST_EDITS ?? 1_000);
const NIGHTS = 20;
const env = {
  CHANNEX_RATE_WINDOW_SECONDS: String(WINDOW_SECONDS),
  // The per-unit sync limit is not what holds Channex's: the shared pacer must.
  CHANNEL_SYNC_MAX_PUSHES_PER_MINUTE: '600',
  CHANNEL_SYNC_QUIET_MS: '100',
  CHANNEL_SYNC_MAX_DELAY_MS: '500',
  CHANNEX_POLL_INTERVAL_MS: '60000',
};

let stack: Stack;
let workers: Array<ChildProcess & { output: string[] }> = [];
beforeAll(async () => {
  stack = await startStack({ startWorker: false, env });
  workers = [0, 1].map(() => spawnWorkerProcess(stack.config, { ...env, LOG_LEVEL: 'info', WORKER_METRICS_PORT: 'off', WORKER_TEMPORAL_METRICS_PORT: 'off' }));
  await eventually(() => workers.every((worker) => worker.output.join('').includes('worker running')), { timeoutMs: 90_000, what: 'two worker processes' });
});
afterAll(async () => {
  for (const worker of workers) worker.kill('SIGTERM');
  await Promise.all(workers.map(exited));
  await stack?.close();
});

async function ok(method: string, path: string, body?: unknown, status = 200) {
  const response = await stack.http(method, path, body);
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
  return response.body;
}

describe('Channex rate limit with two workers', () => {
  it(`keeps ${EDITS} calendar edits over ${PROPERTIES} properties within ${LIMIT} + ${LIMIT} requests per window per property`, async () => {
    const from = addDays('2029-01-01', Math.floor(Math.random() * 300));
    const to = addDays(from, NIGHTS - 1);
    const units: Array<{ unitId: string; channex: ChannexProperty; room: number }> = [];
    for (let index = 0; index < PROPERTIES; index += 1) {
      const property = await ok('POST', '/properties', { name: `Rate ${index} ${Date.now()}`, currency: 'SEK' }, 201);
      const channex = await createChannexProperty(stack.sandboxUrl, { rooms: UNITS_PER_PROPERTY });
      for (let room = 0; room < UNITS_PER_PROPERTY; room += 1) {
        const unit = await ok('POST', `/properties/${property.id}/units`, { name: `Cabin ${room}`, count: 3 }, 201);
        const target = channex.rooms[room]!;
        await ok('POST', `/units/${unit.id}/mappings`, { channel: 'channex', externalAccountId: channex.propertyId, externalListingId: target.roomTypeId, externalRateId: target.ratePlanId }, 201);
        await ok('PUT', `/units/${unit.id}/calendar`, { ranges: [{ from, to, available: 1, price: { value: 50_000, currency: 'SEK' } }] });
        units.push({ unitId: unit.id, channex, room });
      }
    }
    // The calendars' first push (20 nights each) is done before the edits are counted.
    await eventually(async () => {
      for (const unit of units) {
        const calendar = await ok('GET', `/units/${unit.unitId}/calendar?from=${from}&to=${to}`);
        if (!calendar.days.every((day: { channels: Record<string, { inSync: boolean }> }) => day.channels.channex?.inSync)) return false;
      }
      return true;
    }, { timeoutMs: 120_000, everyMs: 1_000, what: 'the first push of every unit' });
    const startedAt = Date.now();
    // 1,000 edits, 20 at a time: availability and price of one night of one unit each.
    let next = 0;
    const edit = async () => {
      for (let index = next++; index < EDITS; index = next++) {
        const unit = units[index % units.length]!;
        const night = addDays(from, Math.floor(index / units.length) % NIGHTS);
        await ok('PUT', `/units/${unit.unitId}/calendar`, { ranges: [{ from: night, to: night, available: (index % 3) + 1, price: { value: 50_000 + index * 100, currency: 'SEK' } }] });
      }
    };
    await Promise.all(Array.from({ length: 20 }, edit));

    console.log(`[channex-rate] ${EDITS} edits sent in ${((Date.now() - startedAt) / 1_000).toFixed(1)} s`);
    // Every unit ends in sync on Channex: nothing was lost to the pacing.
    await eventually(
      async () => {
        for (const unit of units) {
          const calendar = await ok('GET', `/units/${unit.unitId}/calendar?from=${from}&to=${to}`);
          if (!calendar.days.every((day: { channels: Record<string, { inSync: boolean }> }) => day.channels.channex?.inSync)) return false;
        }
        return true;
      },
      { timeoutMs: 300_000, everyMs: 2_000, what: 'every unit in sync on Channex' },
    ).catch(async (err: unknown) => {
      const seen = await channexRequestLog(stack.sandboxUrl, startedAt);
      const byStatus = seen.reduce<Record<string, number>>((counts, request) => ({ ...counts, [`${request.kind ?? request.path} ${request.status}`]: (counts[`${request.kind ?? request.path} ${request.status}`] ?? 0) + 1 }), {});
      console.log('[channex-rate] requests by kind and status', byStatus);
      console.log('[channex-rate] sync of the first unit', JSON.stringify((await stack.http('GET', `/units/${units[0]!.unitId}/sync`)).body));
      for (const worker of workers) console.log(worker.output.join('').split('\n').filter((line) => /error|warn|fail/i.test(line)).slice(-15).join('\n'));
      throw err;
    });
    for (const unit of units.slice(0, 4)) {
      const calendar = await ok('GET', `/units/${unit.unitId}/calendar?from=${from}&to=${to}`);
      const shown = (await channexAri(stack.sandboxUrl, unit.channex.propertyId, from, to)).availability[unit.channex.rooms[unit.room]!.roomTypeId]!;
      expect(Object.values(shown)).toEqual(calendar.days.map((day: { available: number }) => day.available));
    }

    const propertyIds = new Set(units.map((unit) => unit.channex.propertyId));
    const log = (await channexRequestLog(stack.sandboxUrl, startedAt)).filter((request) => request.kind && request.propertyIds.some((id) => propertyIds.has(id)));
    expect(log.filter((request) => request.status === 429)).toEqual([]);
    let busiest = 0;
    for (const propertyId of propertyIds) {
      for (const kind of ['availability', 'restrictions'] as const) {
        const mine = log.filter((request) => request.kind === kind && request.propertyIds.includes(propertyId));
        expect(mine.length, `${kind} requests for ${propertyId}`).toBeGreaterThan(0);
        const most = busiestWindow(mine, WINDOW_SECONDS);
        expect(most, `${kind} requests for ${propertyId} in one ${WINDOW_SECONDS} s window`).toBeLessThanOrEqual(LIMIT);
        busiest = Math.max(busiest, most);
      }
    }
    const seconds = (Date.now() - startedAt) / 1_000;
    console.log(`[channex-rate] ${EDITS} edits → ${log.length} Channex requests (${((log.length / EDITS) * 1_000).toFixed(0)} per 1,000 edits) in ${seconds.toFixed(0)} s; busiest ${WINDOW_SECONDS} s window per property and kind: ${busiest} (limit ${LIMIT})`);
  }, 600_000);
});
