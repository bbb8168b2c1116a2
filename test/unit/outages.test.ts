// Outages answer, they do not hang: the pieces that turn an unavailable dependency into a quick,
// honest answer — bounded queues, errors classified for 503, readiness, jittered retries.
import { afterAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { createBatcher, QueueFullError } from '../../db/batch';
import { createDatabase } from '../../db/client';
import { freePort } from '../../stack/ports';
import { unavailableDependency } from '../../api/unavailable';
import { checkReadiness, dependencyChecks } from '../../api/routes/health';
import { retryDelaySeconds } from '../../store/webhook-inbox';
import { createInventory } from '../../store/inventory';
import { createReconciliationStore } from '../../store/reconciliation';
import { createBookingsClient } from '../../client/bookings';
import { createReconciliationClient } from '../../client/reconciliation';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe('the database batcher', () => {
  it('refuses new items with QueueFullError once its queue is at the bound, and serves the rest', async () => {
    const releases: Array<() => void> = [];
    const write = (items: number[]) => new Promise<number[]>((resolve) => releases.push(() => resolve(items)));
    const enqueue = createBatcher(write, { maxBatch: 2, maxConcurrent: 1, maxQueued: 3 });
    const first = enqueue(1);
    await new Promise((resolve) => setImmediate(resolve));
    // One batch is being written; three more items fill the queue; the fourth is refused.
    const queued = [enqueue(2), enqueue(3), enqueue(4)];
    await expect(enqueue(5)).rejects.toBeInstanceOf(QueueFullError);
    releases.shift()!();
    expect(await first).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()!();
    expect(await Promise.all(queued)).toEqual([2, 3, 4]);
  });
});

describe('unavailable dependencies', () => {
  it('classifies a refused Postgres connection, a statement timeout and a full write queue as postgres', async () => {
    const down = createDatabase(`postgres://skerry:skerry@127.0.0.1:${await freePort()}/skerry`, { max: 1 });
    cleanups.push(() => down.close());
    const refused = await down.sql`select 1`.catch((err: unknown) => err);
    expect(unavailableDependency(refused)).toEqual({ dependency: 'postgres', retryAfterSeconds: 5 });

    const up = createDatabase(inject('databaseUrl'), { max: 1, statementTimeoutMs: 50 });
    cleanups.push(() => up.close());
    const timedOut = await up.sql`select pg_sleep(1)`.catch((err: unknown) => err);
    expect((timedOut as { code?: string }).code).toBe('57014');
    expect(unavailableDependency(timedOut)?.dependency).toBe('postgres');
    expect(unavailableDependency(new QueueFullError(10))?.dependency).toBe('postgres');
  });

  it('classifies an unreachable Temporal server as temporal, and leaves ordinary errors alone', async () => {
    // Not closed: the connection's retry interceptor may still hold a timer for the refused call,
    // and it throws on a closed channel; the test process ends it.
    const connection = await Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const started = Date.now();
    const failure = await connection
      .withDeadline(Date.now() + 500, () => connection.workflowService.getSystemInfo({}))
      .catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(unavailableDependency(failure)).toEqual({ dependency: 'temporal', retryAfterSeconds: 5 });
    expect(unavailableDependency(new Error('boom'))).toBeUndefined();
    expect(unavailableDependency(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeUndefined();
  });
});

describe('calls to a Temporal server that does not answer', () => {
  // Nothing listens on the port: the connection retries the call until the deadline ends it.
  const deadlines = { callMs: 500, commandMs: 500 };
  const unreachableTemporal = async () => new Client({ connection: await Connection.lazy({ address: `127.0.0.1:${await freePort()}` }) });

  it('a direct booking fails within its deadline with an error the API answers 503', async () => {
    const database = createDatabase(inject('databaseUrl'), { max: 1 });
    cleanups.push(() => database.close());
    const bookings = createBookingsClient({ temporal: await unreachableTemporal(), inventory: createInventory(database.db), deadlines });
    const started = Date.now();
    const failure = await bookings.createBooking({ unitId: 'unit-outage', checkIn: '2030-01-10', checkOut: '2030-01-12', guest: { name: 'Ada' } }).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(unavailableDependency(failure)).toEqual({ dependency: 'temporal', retryAfterSeconds: 5 });
  });

  it('a reconciliation start fails within its deadline with an error the API answers 503', async () => {
    const database = createDatabase(inject('databaseUrl'), { max: 1 });
    cleanups.push(() => database.close());
    const reconciliation = createReconciliationClient({ temporal: await unreachableTemporal(), store: createReconciliationStore(database.db), deadlines });
    const started = Date.now();
    const failure = await reconciliation.start({ provider: 'stripe', from: '2026-01-05' }).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(unavailableDependency(failure)).toEqual({ dependency: 'temporal', retryAfterSeconds: 5 });
  });
});

describe('readiness', () => {
  it('names each dependency that does not answer, including one that answers too late', async () => {
    const report = await checkReadiness({
      timeoutMs: 100,
      checks: {
        postgres: async () => undefined,
        temporal: () => Promise.reject(new Error('connection refused')),
        redis: () => new Promise(() => {}),
      },
    });
    expect(report.ready).toBe(false);
    expect(report.down.sort()).toEqual(['redis', 'temporal']);
    expect(report.checks.postgres).toBe('up');
    expect(report.checks.redis).toEqual({ down: 'no answer within 100 ms' });
  });

  it('checks the real Postgres and Temporal of the run', async () => {
    const database = createDatabase(inject('databaseUrl'), { max: 1 });
    cleanups.push(() => database.close());
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    cleanups.push(() => connection.close());
    const live = dependencyChecks({ sql: database.sql, temporal: connection });
    expect(await checkReadiness(live)).toMatchObject({ ready: true, down: [] });

    const missing = await Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const partly = dependencyChecks({ sql: database.sql, temporal: missing, timeoutMs: 500 });
    expect(await checkReadiness(partly)).toMatchObject({ ready: false, down: ['temporal'] });
  });
});

describe('the inbox retry back-off', () => {
  it('doubles up to a minute and waives a random part of each delay', () => {
    expect(retryDelaySeconds(1, () => 0)).toBe(0.5);
    expect(retryDelaySeconds(1, () => 1)).toBe(1);
    expect(retryDelaySeconds(3, () => 0.5)).toBe(3);
    expect(retryDelaySeconds(20, () => 1)).toBe(60);
    expect(retryDelaySeconds(20, () => 0)).toBe(30);
    const delays = new Set(Array.from({ length: 20 }, () => retryDelaySeconds(5)));
    expect(delays.size).toBeGreaterThan(1);
  });
});
