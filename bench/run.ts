// `npm run bench`: Skerry's figures on this machine, each next to a baseline measured in the same
// run. Starts its own Temporal dev server (SQLite on disk), PostgreSQL (fsync on), sandbox, API and
// a worker process. BENCH_DURATION_S shortens the timed phases for a smoke run; names on the
// command line (B1 B3 …) pick benchmarks.
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { say, signedStripeEvent, forkTs, SECRET, round, stopChild, workerMemory, percentile, BENCH_API_KEY } from './support';
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
import { inArray, sql } from 'drizzle-orm';
import { DELIVERABLE_INBOX_STATUSES, webhookInbox } from '../db/schema';
import { benchReconciliation, type ReconciliationBenchResult } from './reconciliation';
import { buildWorkflowBundle } from '../worker/bundle';
import { loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { pino } from 'pino';
import { buildSandbox, sandboxHandles } from '../sandbox/server';
import { startApi } from '../api/server';
import { Connection, Client } from '@temporalio/client';
import { encryptedDataConverter } from '../security/payload-codec';
import { createPaymentsClient } from '../client/payments';
import { benchChannelSync, type ChannelSyncBenchResult } from './channels';
import { benchChannex } from './channex';
import { benchIcal } from './ical';
import { benchConsole, type ConsoleBenchResult } from './console';
import { benchGate } from './gate';
import { benchPayments } from './payments';
import { benchDeployedIngest } from './ingest-deployed';
import { benchCluster } from './cluster';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 60);
const SELECTED = new Set(process.argv.slice(2).map((name) => name.toUpperCase()));
const wants = (name: string) => SELECTED.size === 0 || SELECTED.has(name);

const results: Record<string, unknown> = { machine: { cores: (await import('node:os')).cpus().length, node: process.version }, durationS: DURATION_S };

const gateFailures: string[] = [];
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
  const needsBundle = wants('B1') || wants('B2') || wants('B3') || wants('B5') || wants('B6') || wants('B6C') || wants('B6I');
  const bundlePath = needsBundle ? await buildWorkflowBundle(join(workDir, 'workflow-bundle.js')) : '';

  const needsStack = wants('B1') || wants('B2') || wants('B3') || wants('B5');
  if (needsStack) {

    const apiPort = await freePort();
    const publicPort = await freePort();
    const sandboxPort = await freePort();
    const env = {
      TEMPORAL_TASK_QUEUE: 'bench',
      STRIPE_WEBHOOK_SECRET: SECRET,
      SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
      PORT: String(apiPort),
      PUBLIC_PORT: String(publicPort),
      PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
      SKERRY_BOOTSTRAP_API_KEY: BENCH_API_KEY,
      // The load comes from one address; production's per-address webhook limit would answer it 429.
      WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000',
      PAYMENT_CONFIRM_WINDOW_MS: '600000',
      PAYMENT_EXPIRES_AFTER_MS: '3600000',
      PAYMENT_REFUND_WINDOW_MS: '3600000',
      WEBHOOK_DELIVERY_SWEEP_MS: '1000',
      // The production default: B3 pays for the log lines a deployment writes.
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    };
    const config = loadConfig(env);
    // Written as a deployment writes them (to a file here, so the bench's own output stays readable).
    const logger = createLogger({ level: env.LOG_LEVEL, name: 'bench', destination: pino.destination({ dest: join(workDir, 'api.log'), sync: false, mkdir: true }) });
    const sandbox = await buildSandbox({ logger: false, stripe: { webhookUrl: `${config.publicUrl}/webhooks/stripe`, webhookSecret: SECRET, webhooks: { concurrency: 16, initialDelayMs: 50, maxDelayMs: 1_000 } } });
    await sandbox.listen({ host: '127.0.0.1', port: sandboxPort });
    stops.push(() => sandbox.close());
    const api = await startApi(config, { temporalAddress: temporal.address, databaseUrl: postgres.url, logger, port: apiPort });
    let apiOpen = true;
    const closeApi = async () => {
      if (apiOpen) await api.close();
      apiOpen = false;
    };
    stops.push(closeApi);
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const temporalClient = new Client({ connection, dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey) });
    const workerEnv = { ...env, TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: postgres.url, WORKFLOW_BUNDLE_PATH: bundlePath, BENCH_LOG_FILE: join(workDir, 'worker.log') };
    let worker = await forkTs('bench/worker-process.ts', [], workerEnv);

    // Every webhook the sandbox owes is sent and every inbox row delivered: memory is read, signals are
    // timed and B3's phases start and end with no work left over.
    const quiesce = async () => {
      if (!(await sandboxHandles(sandbox).stripe.webhooks.flush({ timeoutMs: 120_000 }))) throw new Error('the sandbox did not drain its webhooks');
      const deadline = Date.now() + 120_000;
      for (;;) {
        const [pending] = await database.db.select({ n: sql<number>`count(*)::int` }).from(webhookInbox).where(inArray(webhookInbox.status, [...DELIVERABLE_INBOX_STATUSES]));
        if ((pending?.n ?? 0) === 0) return;
        if (Date.now() > deadline) throw new Error(`${pending?.n} inbox rows still pending`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    // ------------------------------------------------------------ B3 end-to-end payments (bench/payments.ts)
    if (wants('B3')) {
      results.B3 = await benchPayments({
        durationS: DURATION_S,
        concurrency: Number(process.env.BENCH_CONCURRENCY ?? 48),
        apiUrl: api.url,
        sandboxUrl: config.sandbox.url,
        database,
        temporalClient,
        freshWorker: async () => {
          await stopChild(worker);
          worker = await forkTs('bench/worker-process.ts', [], workerEnv);
          return worker;
        },
        quiesce,
        measureCpu: (phaseWorker) => measureCpu(cpuGroups({ worker: phaseWorker.pid })),
        logLevel: env.LOG_LEVEL,
        say,
      });
      say(`B3: ${JSON.stringify(results.B3)}`);
    }

    // ------------------------------------------------------------ B5 memory, B2 signal latency
    if (wants('B5') || wants('B2') || wants('B1')) {
      const paymentsClient = createPaymentsClient({ temporal: temporalClient, taskQueue: 'bench', timing: config.payments, createWaitMs: 30_000 });

      /** A fresh worker with this workflow cache ('default': the SDK's choice). */
      const restartWorker = async (maxCached: number | 'default') => {
        await stopChild(worker);
        worker = await forkTs('bench/worker-process.ts', [], { ...workerEnv, BENCH_MAX_CACHED: String(maxCached) });
      };
      /** `count` payments parked waiting for their customer on a fresh worker; its RSS read at every quarter. */
      const parkOnFreshWorker = async (maxCached: number | 'default', tag: string, count: number) => {
        await restartWorker(maxCached);
        // Warm up: the first workflows load the bundle into the worker's workflow thread.
        await Promise.all(Array.from({ length: 20 }, (_, index) => paymentsClient.startPayment({ provider: 'stripe', amount: { value: 5_000, currency: 'SEK' }, reference: `warm-${tag}-${index}` })));
        await quiesce();
        const before = await workerMemory(worker);
        say(`B5: parking ${count.toLocaleString('en')} payment workflows on a worker caching at most ${before.maxCachedWorkflows} (${maxCached})…`);
        const parked: Array<{ paymentId: string; providerReference: string }> = [];
        const rssAtParked: Array<{ parked: number; rssMiB: number }> = [];
        const batch = 50;
        for (let offset = 0; offset < count; offset += batch) {
          const states = await Promise.all(
            Array.from({ length: Math.min(batch, count - offset) }, (_, index) => paymentsClient.startPayment({ provider: 'stripe', amount: { value: 5_000, currency: 'SEK' }, reference: `park-${tag}-${offset + index}` })),
          );
          for (const state of states) parked.push({ paymentId: state.paymentId, providerReference: state.providerReference! });
          const quarter = Math.max(batch, Math.floor(count / 4 / batch) * batch);
          if (parked.length % quarter === 0 && parked.length < count) {
            await quiesce();
            rssAtParked.push({ parked: parked.length, rssMiB: round((await workerMemory(worker)).rss) });
          }
        }
        await quiesce();
        const after = await workerMemory(worker);
        rssAtParked.push({ parked: parked.length, rssMiB: round(after.rss) });
        return {
          parked,
          memory: {
            maxCachedWorkflows: before.maxCachedWorkflows,
            parked: parked.length,
            workerRssBeforeMiB: round(before.rss),
            workerRssAfterMiB: round(after.rss),
            rssAtParked,
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

      // B5 first, before any signal load can leave work behind: many payments parked on a worker with
      // the SDK's default cache. Memory is bounded by the cache, not by the number of payments:
      // past the cache size the RSS should stay flat while the count keeps growing.
      const parkedCount = Number(process.env.BENCH_PARKED ?? (DURATION_S >= 60 ? 10_000 : 400));
      const bounded = wants('B5') ? await parkOnFreshWorker('default', 'b', parkedCount) : undefined;
      if (bounded) say(`B5: ${JSON.stringify(bounded.memory)}`);
      // 1,000 parked, all cached: what one cached workflow costs, and B2 on a warm cache.
      const cached = await parkOnFreshWorker(5_000, 'c', Math.min(1_000, parkedCount));
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
        // The price of eviction: on a fresh worker every parked payment is uncached, so each signal
        // finds its workflow out of the cache and replays its history first.
        await restartWorker('default');
        const replayed = await signalLatency(bounded.parked, 50, Math.min(DURATION_S, 20), 'b');
        const perCachedMiB = cached.memory.perThousandParkedMiB / 1000;
        const statedBoundMiB = round(bounded.memory.workerRssBeforeMiB + perCachedMiB * (bounded.memory.maxCachedWorkflows ?? 0) * 1.25);
        results.B5 = {
          ...bounded.memory,
          // The stated bound: the cache full of workflows at the measured cost of a cached one, plus a quarter.
          statedBoundMiB,
          withinBound: bounded.memory.workerRssAfterMiB <= statedBoundMiB,
          signalsToEvictedAt50PerSecond: replayed,
          allCached: cached.memory,
        };
        say(`B5: ${JSON.stringify(results.B5)}`);
      }
      if (wants('B1')) {
        // The in-process API stops first: the API process under load does the delivery on its own.
        await closeApi();
        const deployed = await benchDeployedIngest({
          durationS: DURATION_S,
          env: workerEnv,
          workDir,
          database,
          parked: cached.parked,
          measureCpu: (apiProcess) => measureCpu(cpuGroups({ 'api process': apiProcess.pid, worker: worker.pid })),
          say,
        });
        results.B1 = { ...(results.B1 as object), deployed };
        say(`B1b: ${JSON.stringify(deployed)}`);
      }
    }
    await stopChild(worker);
  }

  // ---------------------------------------------------------------- B6 availability sync (bench/channels.ts)
  // What the three channel benchmarks share: each starts its own sandboxes, API and worker on these.
  const channelBench = {
    temporalAddress: temporal.address,
    databaseUrl: postgres.url,
    workDir,
    bundlePath,
    durationS: DURATION_S,
    startWorkerProcess: (env: Record<string, string>) => forkTs('bench/worker-process.ts', [], env),
    stopWorkerProcess: stopChild,
    say,
  };
  if (wants('B6')) {
    results.B6 = await benchChannelSync(channelBench);
    say(`B6: ${JSON.stringify(results.B6)}`);
  }

  // ---------------------------------------------------------------- B6 Channex: booking → other channels closed, requests per 1,000 edits (bench/channex.ts)
  if (wants('B6') || wants('B6C')) {
    results.B6C = await benchChannex(channelBench);
    say(`B6C: ${JSON.stringify(results.B6C)}`);
  }

  // ---------------------------------------------------------------- B6 iCal: an import finds a booking → other channels closed (bench/ical.ts)
  if (wants('B6') || wants('B6I')) {
    results.B6I = await benchIcal(channelBench);
    say(`B6I: ${JSON.stringify(results.B6I)}`);
  }

  // ---------------------------------------------------------------- B7 console reads (bench/console.ts)
  if (wants('B7')) {
    results.B7 = await benchConsole({ database, say });
    say(`B7: ${JSON.stringify(results.B7)}`);
  }

  // ---------------------------------------------------------------- C1 the cluster topology (bench/cluster.ts); asked for by name only (three B3 runs)
  if (SELECTED.has('C1')) {
    results.C1 = await benchCluster({ durationS: DURATION_S, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 48), workDir });
    say(`C1: ${JSON.stringify((results.C1 as { summary: unknown }).summary)}`);
  }

  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2);
  await writeFile(new URL(`./results/bench-${stamp}.json`, import.meta.url), json);
  // Only a full run is published (bench/results/latest.json is committed); a smoke or a partial run is kept beside it.
  if (DURATION_S >= 60 && SELECTED.size === 0) await writeFile(new URL('./results/latest.json', import.meta.url), json);
  console.log('\nbenchmark                     skerry            baseline          ratio');
  const b1 = results.B1 as { skerry: { acceptedPerSecond: number; p50Ms: number; p99Ms: number }; baseline: { acceptedPerSecond: number }; ratio: number } | undefined;
  if (b1) console.log(`B1 webhook ingest (isolated)  ${b1.skerry.acceptedPerSecond}/s p50 ${b1.skerry.p50Ms}ms p99 ${b1.skerry.p99Ms}ms   ${b1.baseline.acceptedPerSecond}/s   ${b1.ratio}`);
  const b1b = (results.B1 as { deployed?: { acceptedPerSecond: number; p50Ms: number; p99Ms: number; answers: Record<string, number>; accepted: number; delivered: number; drainSeconds: number } } | undefined)?.deployed;
  if (b1b) console.log(`B1b webhook ingest (deployed) ${b1b.acceptedPerSecond}/s p50 ${b1b.p50Ms}ms p99 ${b1b.p99Ms}ms answers ${JSON.stringify(b1b.answers)}; ${b1b.delivered}/${b1b.accepted} delivered, drained ${b1b.drainSeconds}s after the load`);
  const b3 = results.B3 as { skerry: { perSecond: number; lostPayments: number; duplicateLedgerEvents: number }; baseline: { perSecond: number }; ratio: number } | undefined;
  if (b3) console.log(`B3 end-to-end payments       ${b3.skerry.perSecond}/s (lost ${b3.skerry.lostPayments}, dup ${b3.skerry.duplicateLedgerEvents})   ${b3.baseline.perSecond}/s   ${b3.ratio}`);
  const b2 = results.B2 as { p50Ms: number; p99Ms: number; atQuarterRate: { p50Ms: number; p99Ms: number } } | undefined;
  if (b2) console.log(`B2 webhook→signal latency    200/s: p50 ${b2.p50Ms}ms p99 ${b2.p99Ms}ms   50/s: p50 ${b2.atQuarterRate.p50Ms}ms p99 ${b2.atQuarterRate.p99Ms}ms`);
  const b5 = results.B5 as { parked: number; maxCachedWorkflows: number; workerRssAfterMiB: number; statedBoundMiB: number; withinBound: boolean; allCached: { perThousandParkedMiB: number }; signalsToEvictedAt50PerSecond: { p50Ms: number; p99Ms: number } } | undefined;
  if (b5) {
    console.log(`B5 worker memory             ${b5.parked} parked, default cache ${b5.maxCachedWorkflows}: RSS ${b5.workerRssAfterMiB} MiB (bound ${b5.statedBoundMiB} MiB, ${b5.withinBound ? 'within' : 'OVER'}); ${b5.allCached.perThousandParkedMiB} MiB per 1,000 cached; a signal to an evicted one: p50 ${b5.signalsToEvictedAt50PerSecond.p50Ms}ms p99 ${b5.signalsToEvictedAt50PerSecond.p99Ms}ms`);
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
  const b7 = results.B7 as ConsoleBenchResult | undefined;
  if (b7) for (const [name, c] of Object.entries(b7.cases)) console.log(`B7 ${name.padEnd(27)} p95 ${c.skerry.p95Ms}ms   raw SQL p95 ${c.baseline.p95Ms}ms   ${c.ratio}`);
  gateFailures.push(...benchGate(results));
} catch (err) {
  gateFailures.push(`the benchmark stopped: ${(err as Error).stack ?? err}`);
} finally {
  for (const stop of stops.reverse()) await stop().catch((err: Error) => say(`cleanup: ${err.message}`));
  await rm(workDir, { recursive: true, force: true });
}
// The gate: a figure bought by losing, doubling or never delivering work is not a figure.
if (gateFailures.length > 0) {
  console.error(`\nbench gate FAILED:\n${gateFailures.map((line) => `  - ${line}`).join('\n')}`);
  process.exit(1);
}
console.log('\nbench gate: nothing lost, doubled or undelivered');
process.exit(0);
