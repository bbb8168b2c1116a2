// `npm run bench`: Skerry's figures on this machine, each next to a baseline measured in the same
// run. Starts its own Temporal dev server (SQLite on disk), PostgreSQL (fsync on), sandbox, API and
// a worker process. BENCH_DURATION_S shortens the timed phases for a smoke run; names on the
// command line (B1 B3 …) pick benchmarks.
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { say, signedStripeEvent, forkTs, SECRET, round, stopChild, workerMemory, percentile } from './support';
import { ensureBinary } from '../stack/binaries';
import { startTemporalDevServer } from '../stack/temporal-dev-server';
import { freePort } from '../stack/ports';
import { SKERRY_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { startEmbeddedPostgres } from '../stack/embedded-postgres';
import { migrateDatabase } from '../db/migrate';
import { postmasterPid, measureCpu } from './cpu';
import { createDatabase } from '../db/client';
import { randomUUID } from 'node:crypto';
import { default as autocannon } from 'autocannon';
import { sql, inArray } from 'drizzle-orm';
import { webhookInbox, payments, paymentEvents } from '../db/schema';
import { benchReconciliation, type ReconciliationBenchResult } from './reconciliation';
import { buildWorkflowBundle } from '../worker/bundle';
import { loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { buildSandbox, sandboxHandles } from '../sandbox/server';
import { startApi } from '../api/server';
import { Connection, Client } from '@temporalio/client';
import { encryptedDataConverter } from '../security/payload-codec';
import type { baselineWorkflow } from './workflows/baseline';
import { createPaymentsClient } from '../client/payments';
import { benchChannelSync, type ChannelSyncBenchResult } from './channels';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 60);
const SELECTED = new Set(process.argv.slice(2).map((name) => name.toUpperCase()));
const wants = (name: string) => SELECTED.size === 0 || SELECTED.has(name);

const results: Record<string, unknown> = { machine: { cores: (await import('node:os')).cpus().length, node: process.version }, durationS: DURATION_S };

const workDir = await mkdtemp(join(tmpdir(), 'skerry-bench-'));
const stops: Array<() => Promise<unknown>> = [];
try {
  say('starting Temporal (SQLite on disk) and PostgreSQL (fsync on)…');
  const cliPath = await ensureBinary('temporal', { log: say });
  const temporal = await startTemporalDevServer({
    cliPath,
    port: await freePort(),
    headless: true,
    dbFile: join(workDir, 'temporal.db'),
    namespace: 'default',
    searchAttributes: SKERRY_SEARCH_ATTRIBUTES,
    logFile: join(workDir, 'temporal.log'),
  });
  stops.push(() => temporal.stop());
  const postgres = await startEmbeddedPostgres({ dataDir: join(workDir, 'pg'), port: await freePort(), persistent: true });
  stops.push(() => postgres.stop());
  await migrateDatabase(postgres.url);
  // CPU per process group during each timed phase; children first, the bench process (API,
  // sandboxes, load generator) last, so each process counts once.
  const cpuGroups = (children: Record<string, number | undefined> = {}) => () => ({
    ...children,
    temporal: temporal.process.pid,
    postgres: postmasterPid(join(workDir, 'pg')),
    'bench process': process.pid,
  });
  const database = createDatabase(postgres.url, { max: 5 });
  stops.push(() => database.close());

  // ---------------------------------------------------------------- B1 webhook ingest
  if (wants('B1')) {
    const count = Math.max(50_000, DURATION_S * 8_000);
    say(`B1: signing ${count} Stripe events…`);
    const now = Math.floor(Date.now() / 1000);
    const events = Array.from({ length: count }, (_, index) =>
      signedStripeEvent(`evt_b1_${index}_${randomUUID().slice(0, 8)}`, 'payment_intent.processing', { id: `pi_b1_${index % 1000}`, object: 'payment_intent', amount: 1000, currency: 'sek', status: 'processing', amount_received: 0, amount_capturable: 0, metadata: {} }, now),
    );
    const run = async (mode: 'full' | 'bare') => {
      const port = await freePort();
      const server = await forkTs('bench/ingest-server.ts', [mode, String(port)], { DATABASE_URL: postgres.url, STRIPE_WEBHOOK_SECRET: SECRET });
      let next = 0;
      const cpu = measureCpu(cpuGroups({ 'ingest server': server.pid }));
      try {
        const result = await autocannon({
          url: `http://127.0.0.1:${port}/webhooks/stripe`,
          connections: 32,
          duration: DURATION_S,
          requests: [
            {
              method: 'POST',
              setupRequest: (request) => {
                const event = events[next++ % events.length]!;
                return { ...request, body: event.body, headers: { 'content-type': 'application/json', 'stripe-signature': event.header } };
              },
            },
          ],
        });
        return {
          acceptedPerSecond: round(result['2xx'] / DURATION_S),
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          non2xx: result.non2xx,
          errors: result.errors,
          requests: result.requests.total,
          cpu: cpu.stop(),
        };
      } finally {
        await stopChild(server);
      }
    };
    say(`B1: Skerry ingress (verify + durable insert), 32 connections, ${DURATION_S} s…`);
    const full = await run('full');
    const [inboxRows] = await database.db.select({ n: sql<number>`count(*)::int` }).from(webhookInbox);
    // B1's events name payments that do not exist: left in the inbox, every later phase's API would
    // spend its sweep retrying a quarter of a million of them.
    await database.db.delete(webhookInbox).where(sql`${webhookInbox.eventId} like 'evt_b1_%'`);
    say(`B1: baseline (same server, no verification, no storage)…`);
    const bare = await run('bare');
    results.B1 = { skerry: { ...full, inboxRows: inboxRows?.n }, baseline: bare, ratio: round(full.acceptedPerSecond / bare.acceptedPerSecond, 3) };
    say(`B1: ${JSON.stringify(results.B1)}`);
  }

  // ---------------------------------------------------------------- B4 reconciliation (bench/reconciliation.ts)
  if (wants('B4')) results.B4 = await benchReconciliation({ temporalAddress: temporal.address, databaseUrl: postgres.url, database: database.db, workDir, say });

  // The prebuilt production bundle, as a production worker would load it.
  const needsBundle = wants('B2') || wants('B3') || wants('B5') || wants('B6');
  const bundlePath = needsBundle ? await buildWorkflowBundle(join(workDir, 'workflow-bundle.js')) : '';

  const needsStack = wants('B2') || wants('B3') || wants('B5');
  if (needsStack) {

    const apiPort = await freePort();
    const sandboxPort = await freePort();
    const env = {
      TEMPORAL_TASK_QUEUE: 'bench',
      STRIPE_WEBHOOK_SECRET: SECRET,
      SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
      PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
      PAYMENT_CONFIRM_WINDOW_MS: '600000',
      PAYMENT_EXPIRES_AFTER_MS: '3600000',
      PAYMENT_REFUND_WINDOW_MS: '3600000',
      WEBHOOK_DELIVERY_SWEEP_MS: '1000',
      LOG_LEVEL: 'warn',
    };
    const config = loadConfig(env);
    const logger = createLogger({ level: 'warn', name: 'bench' });
    const sandbox = await buildSandbox({ logger: false, stripe: { webhookUrl: `${config.publicUrl}/webhooks/stripe`, webhookSecret: SECRET, webhooks: { concurrency: 16, initialDelayMs: 50, maxDelayMs: 1_000 } } });
    await sandbox.listen({ host: '127.0.0.1', port: sandboxPort });
    stops.push(() => sandbox.close());
    const api = await startApi(config, { temporalAddress: temporal.address, databaseUrl: postgres.url, logger, port: apiPort });
    stops.push(() => api.close());
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const temporalClient = new Client({ connection, dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey) });
    const workerEnv = { ...env, TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: postgres.url, WORKFLOW_BUNDLE_PATH: bundlePath };
    let worker = await forkTs('bench/worker-process.ts', [], workerEnv);

    // ------------------------------------------------------------ B3 end-to-end payments
    if (wants('B3')) {
      const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 48);
      const started: string[] = [];
      let completed = 0;
      let failed = 0;
      const closedLoop = async (deadline: number, once: () => Promise<void>) => {
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (Date.now() < deadline) {
              try {
                await once();
                completed += 1;
              } catch (err) {
                failed += 1;
                if (failed < 5) say(`B3 error: ${(err as Error).message}`);
              }
            }
          }),
        );
      };
      const waitForLedger = async (paymentId: string) => {
        const giveUp = Date.now() + 120_000;
        for (;;) {
          const [row] = await database.sql`select status from payments where id = ${paymentId}`;
          if (row?.status === 'succeeded') return;
          if (Date.now() > giveUp) throw new Error(`payment ${paymentId} did not complete`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const onePayment = async () => {
        const response = await fetch(`${config.publicUrl}/payments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ provider: 'stripe', amount: { value: 10_000, currency: 'SEK' }, reference: `b3-${randomUUID()}` }),
        });
        const created = (await response.json()) as { paymentId: string; providerReference?: string };
        if (response.status !== 201 || !created.providerReference) throw new Error(`create answered ${response.status}`);
        started.push(created.paymentId);
        const paid = await fetch(`${config.sandbox.url}/stripe/_control/payments/${created.providerReference}/succeed`, { method: 'POST' });
        if (paid.status !== 200) throw new Error(`succeed answered ${paid.status}`);
        await waitForLedger(created.paymentId);
      };
      say(`B3: end-to-end payments, ${concurrency} concurrent customers, ${DURATION_S} s…`);
      let begin = Date.now();
      let cpu = measureCpu(cpuGroups({ worker: worker.pid }));
      await closedLoop(begin + DURATION_S * 1000, onePayment);
      const skerrySeconds = (Date.now() - begin) / 1000;
      const skerry = { completed, failed, perSecond: round(completed / skerrySeconds), cpu: cpu.stop() };
      // Lost: started but never succeeded in the ledger; duplicates: an event recorded twice.
      const rows = started.length ? await database.db.select({ id: payments.id, status: payments.status }).from(payments).where(inArray(payments.id, started)) : [];
      const lost = started.length - rows.filter((row) => row.status === 'succeeded').length;
      const [duplicates] = await database.db.execute<{ n: number }>(
        sql`select count(*)::int as n from (select payment_id, event_id from ${paymentEvents} group by 1, 2 having count(*) > 1) d`,
      );

      completed = 0;
      failed = 0;
      say(`B3: baseline (two no-op activities and one signal), ${concurrency} concurrent, ${DURATION_S} s…`);
      begin = Date.now();
      cpu = measureCpu(cpuGroups({ worker: worker.pid }));
      await closedLoop(begin + DURATION_S * 1000, async () => {
        const handle = await temporalClient.workflow.start<typeof baselineWorkflow>('baselineWorkflow', { taskQueue: 'bench-baseline', workflowId: `baseline-${randomUUID()}` });
        await handle.signal('proceed');
        await handle.result();
      });
      const baselineSeconds = (Date.now() - begin) / 1000;
      const baseline = { completed, failed, perSecond: round(completed / baselineSeconds), cpu: cpu.stop() };
      results.B3 = { skerry: { ...skerry, lostPayments: lost, duplicateLedgerEvents: duplicates?.n ?? 0 }, baseline, ratio: round(skerry.perSecond / baseline.perSecond, 3), concurrency };
      say(`B3: ${JSON.stringify(results.B3)}`);
    }

    // ------------------------------------------------------------ B5 memory, B2 signal latency
    if (wants('B5') || wants('B2')) {
      // Every webhook the sandbox owes is sent and every inbox row delivered: memory is read, and
      // signals are timed, with no work left over from starting the payments.
      const quiesce = async () => {
        if (!(await sandboxHandles(sandbox).stripe.webhooks.flush({ timeoutMs: 120_000 }))) throw new Error('the sandbox did not drain its webhooks');
        const deadline = Date.now() + 120_000;
        for (;;) {
          const [pending] = await database.db.select({ n: sql<number>`count(*)::int` }).from(webhookInbox).where(sql`${webhookInbox.status} = 'pending'`);
          if ((pending?.n ?? 0) === 0) return;
          if (Date.now() > deadline) throw new Error(`${pending?.n} inbox rows still pending`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      const paymentsClient = createPaymentsClient({ temporal: temporalClient, taskQueue: 'bench', timing: config.payments, createWaitMs: 30_000 });

      /** A fresh worker with this workflow cache; 1,000 payments parked waiting for their customer. */
      const restartWorker = async (maxCached: number) => {
        await stopChild(worker);
        worker = await forkTs('bench/worker-process.ts', [], { ...workerEnv, BENCH_MAX_CACHED: String(maxCached) });
      };
      const parkOnFreshWorker = async (maxCached: number, tag: string) => {
        await restartWorker(maxCached);
        // Warm up: the first workflows load the bundle into the worker's workflow thread.
        await Promise.all(Array.from({ length: 20 }, (_, index) => paymentsClient.startPayment({ provider: 'stripe', amount: { value: 5_000, currency: 'SEK' }, reference: `warm-${tag}-${index}` })));
        await quiesce();
        const before = await workerMemory(worker);
        say(`B5: parking 1,000 payment workflows on a worker caching at most ${maxCached}…`);
        const parked: Array<{ paymentId: string; providerReference: string }> = [];
        for (let batch = 0; batch < 20; batch += 1) {
          const states = await Promise.all(
            Array.from({ length: 50 }, (_, index) => paymentsClient.startPayment({ provider: 'stripe', amount: { value: 5_000, currency: 'SEK' }, reference: `park-${tag}-${batch}-${index}` })),
          );
          for (const state of states) parked.push({ paymentId: state.paymentId, providerReference: state.providerReference! });
        }
        await quiesce();
        const after = await workerMemory(worker);
        return {
          parked,
          memory: {
            maxCachedWorkflows: maxCached,
            parked: parked.length,
            workerRssBeforeMiB: round(before.rss),
            workerRssAfterMiB: round(after.rss),
            perThousandParkedMiB: round(((after.rss - before.rss) * 1000) / parked.length),
            // The worker's main thread (activities, clients); workflows run in the SDK's workflow thread.
            mainThreadHeapPerThousandParkedMiB: round(((after.heapUsed - before.heapUsed) * 1000) / parked.length),
          },
        };
      };

      /** Signed webhooks at `rate` per second for `seconds`, spread over the parked payments. */
      const signalLatency = async (parked: Array<{ paymentId: string; providerReference: string }>, rate: number, seconds: number, tag: string) => {
        const prefix = `evt_b2${tag}r${rate}_`;
        say(`B2: ${rate} signed webhooks/s over ${parked.length} waiting workflows for ${seconds} s…`);
        const ids: string[] = [];
        const begin = Date.now();
        const cpu = measureCpu(cpuGroups({ worker: worker.pid }));
        let sent = 0;
        const inflight: Promise<unknown>[] = [];
        while (sent < rate * seconds) {
          const due = Math.floor(((Date.now() - begin) / 1000) * rate);
          while (sent < due && sent < rate * seconds) {
            const target = parked[sent % parked.length]!;
            const id = `${prefix}${sent}_${randomUUID().slice(0, 8)}`;
            ids.push(id);
            const event = signedStripeEvent(id, 'payment_intent.requires_action', {
              id: target.providerReference,
              object: 'payment_intent',
              amount: 5_000,
              currency: 'sek',
              status: 'requires_action',
              amount_received: 0,
              amount_capturable: 0,
              metadata: { skerry_payment_id: target.paymentId },
            }, Math.floor(Date.now() / 1000));
            inflight.push(fetch(`${config.publicUrl}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': event.header }, body: event.body }));
            sent += 1;
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await Promise.all(inflight);
        let lags: number[] = [];
        const deadline = Date.now() + 60_000;
        for (;;) {
          const rows = await database.db
            .select({ lag: sql<number>`extract(epoch from (${webhookInbox.deliveredAt} - ${webhookInbox.receivedAt})) * 1000` })
            .from(webhookInbox)
            .where(sql`${webhookInbox.eventId} like ${`${prefix}%`} and ${webhookInbox.status} = 'delivered'`);
          lags = rows.map((row) => Number(row.lag));
          if (lags.length >= ids.length || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        return { eventsSent: ids.length, delivered: lags.length, ratePerSecond: rate, p50Ms: round(percentile(lags, 50)), p99Ms: round(percentile(lags, 99)), maxMs: round(Math.max(...lags)), cpu: cpu.stop() };
      };

      // First, before any signal load can leave work behind for the next worker: 1,000 parked on a
      // worker caching 200 (the rest are evicted and cost nothing until their next event).
      const bounded = wants('B5') ? await parkOnFreshWorker(200, 'b') : undefined;
      if (bounded) say(`B5: ${JSON.stringify(bounded.memory)}`);
      // Every parked payment cached: what a cached workflow costs, and B2 on the warm cache.
      const cached = await parkOnFreshWorker(5_000, 'c');
      say(`B5: ${JSON.stringify(cached.memory)}`);
      if (wants('B2')) {
        // The target rate, and a quarter of it: the second shows the path's latency when the
        // server is not saturated, so the first can be read as queueing or as work.
        const seconds = Math.min(DURATION_S, 30);
        const unsaturated = await signalLatency(cached.parked, 50, seconds, 'c');
        results.B2 = { ...(await signalLatency(cached.parked, 200, seconds, 'c')), atQuarterRate: unsaturated };
        say(`B2: ${JSON.stringify(results.B2)}`);
      }
      if (bounded) {
        // The price of eviction: on a fresh worker caching 200, every signal to the first 1,000
        // finds its workflow uncached and replays its history first.
        await restartWorker(200);
        const replayed = await signalLatency(bounded.parked, 50, Math.min(DURATION_S, 20), 'b');
        results.B5 = { ...cached.memory, boundedCache: { ...bounded.memory, signalsToEvictedAt50PerSecond: replayed } };
        say(`B5: ${JSON.stringify(results.B5)}`);
      }
    }
    await stopChild(worker);
  }

  // ---------------------------------------------------------------- B6 availability sync (bench/channels.ts)
  if (wants('B6')) {
    results.B6 = await benchChannelSync({
      temporalAddress: temporal.address,
      databaseUrl: postgres.url,
      workDir,
      bundlePath,
      durationS: DURATION_S,
      startWorkerProcess: (env) => forkTs('bench/worker-process.ts', [], env),
      stopWorkerProcess: stopChild,
      say,
    });
    say(`B6: ${JSON.stringify(results.B6)}`);
  }

  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2);
  await writeFile(new URL(`./results/bench-${stamp}.json`, import.meta.url), json);
  await writeFile(new URL('./results/latest.json', import.meta.url), json);
  console.log('\nbenchmark                     skerry            baseline          ratio');
  const b1 = results.B1 as { skerry: { acceptedPerSecond: number; p50Ms: number; p99Ms: number }; baseline: { acceptedPerSecond: number }; ratio: number } | undefined;
  if (b1) console.log(`B1 webhook ingest            ${b1.skerry.acceptedPerSecond}/s p50 ${b1.skerry.p50Ms}ms p99 ${b1.skerry.p99Ms}ms   ${b1.baseline.acceptedPerSecond}/s   ${b1.ratio}`);
  const b3 = results.B3 as { skerry: { perSecond: number; lostPayments: number; duplicateLedgerEvents: number }; baseline: { perSecond: number }; ratio: number } | undefined;
  if (b3) console.log(`B3 end-to-end payments       ${b3.skerry.perSecond}/s (lost ${b3.skerry.lostPayments}, dup ${b3.skerry.duplicateLedgerEvents})   ${b3.baseline.perSecond}/s   ${b3.ratio}`);
  const b2 = results.B2 as { p50Ms: number; p99Ms: number; atQuarterRate: { p50Ms: number; p99Ms: number } } | undefined;
  if (b2) console.log(`B2 webhook→signal latency    200/s: p50 ${b2.p50Ms}ms p99 ${b2.p99Ms}ms   50/s: p50 ${b2.atQuarterRate.p50Ms}ms p99 ${b2.atQuarterRate.p99Ms}ms`);
  const b5 = results.B5 as { perThousandParkedMiB: number; boundedCache: { maxCachedWorkflows: number; perThousandParkedMiB: number; signalsToEvictedAt50PerSecond: { p50Ms: number; p99Ms: number } } } | undefined;
  if (b5) {
    const bounded = b5.boundedCache;
    console.log(`B5 worker memory             ${b5.perThousandParkedMiB} MiB per 1,000 parked (all cached); ${bounded.perThousandParkedMiB} MiB with at most ${bounded.maxCachedWorkflows} cached (a signal to an evicted one: p50 ${bounded.signalsToEvictedAt50PerSecond.p50Ms}ms p99 ${bounded.signalsToEvictedAt50PerSecond.p99Ms}ms)`);
  }
  const b4 = results.B4 as ReconciliationBenchResult | undefined;
  const b6 = results.B6 as ChannelSyncBenchResult | undefined;
  if (b6) {
    const { airbnbToBookingCom: a, bookingComToAirbnb: b } = b6.reservations;
    console.log(`B6 Airbnb → Booking.com       p50 ${a.p50Ms}ms p99 ${a.p99Ms}ms   direct push p50 ${b6.baseline.bookingComPush.p50Ms}ms   ${b6.ratio.airbnbToBookingComP50}`);
    console.log(`B6 Booking.com → Airbnb       p50 ${b.p50Ms}ms p99 ${b.p99Ms}ms (after the pull: p50 ${b.afterPull.p50Ms}ms p99 ${b.afterPull.p99Ms}ms)   direct push p50 ${b6.baseline.airbnbPush.p50Ms}ms   ${b6.ratio.bookingComToAirbnbAfterPullP50}`);
    console.log(`B6 channel calls              ${b6.changes.channelRequests.total} per ${b6.changes.edits} edits   ${b6.changes.naiveRequests} (one per edit per channel)   ${b6.changes.ratio}`);
  }
  if (b4) console.log(`B4 reconciliation            ${b4.skerry.rowsPerSecond} rows/s (${b4.rows} rows, ${b4.skerry.pages} pages)   ${b4.baseline.rowsPerSecond} rows/s   ${b4.ratio}`);
} finally {
  for (const stop of stops.reverse()) await stop().catch((err: Error) => say(`cleanup: ${err.message}`));
  await rm(workDir, { recursive: true, force: true });
}
process.exit(0);
