// C1: B3 (end-to-end payments against the bare workflow, bench/payments.ts) on the cluster topology
// (stack/cluster: the real Temporal server on its own PostgreSQL, SQL visibility) with one worker
// process and with two, next to B3 on the dev server, all in one run on this machine. CPU is split
// per process group (workers, Temporal server, Temporal's PostgreSQL, Skerry's PostgreSQL, the bench
// process with the API, the sandbox and the load), which is what sizing a bigger machine needs.
//
//   npx tsx bench/cluster.ts            (BENCH_DURATION_S, BENCH_CONCURRENCY as for npm run bench)
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inArray, sql } from 'drizzle-orm';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { createDatabase } from '../db/client';
import { DELIVERABLE_INBOX_STATUSES, webhookInbox } from '../db/schema';
import { createLogger } from '../observability/logger';
import { encryptedDataConverter } from '../security/payload-codec';
import { buildSandbox, sandboxHandles } from '../sandbox/server';
import { startApi } from '../api/server';
import { buildWorkflowBundle } from '../worker/bundle';
import { ensureBinary } from '../stack/binaries';
import { startTemporalDevServer } from '../stack/temporal-dev-server';
import { startEmbeddedPostgres } from '../stack/embedded-postgres';
import { freePort } from '../stack/ports';
import { migrateDatabase } from '../db/migrate';
import { startClusterInfrastructure } from '../stack/cluster/infrastructure';
import { SKERRY_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { BENCH_API_KEY, SECRET, forkTs, say, stopChild } from './support';
import { measureCpu, postmasterPid } from './cpu';
import { benchPayments, type PaymentsBenchResult } from './payments';

interface Topology {
  temporalAddress: string;
  databaseUrl: string;
  /** Root pids of the processes under Skerry, by name, for the CPU split. */
  cpuGroups: () => Record<string, number | undefined>;
}

/** B3 against one topology with `workers` worker processes (bench/worker-process.ts each). */
async function b3On(topology: Topology, options: { workers: number; workDir: string; bundlePath: string; durationS: number; concurrency: number; tag: string }): Promise<PaymentsBenchResult> {
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const [apiPort, publicPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      TEMPORAL_TASK_QUEUE: 'bench',
      STRIPE_WEBHOOK_SECRET: SECRET,
      SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
      PORT: String(apiPort),
      PUBLIC_PORT: String(publicPort),
      PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
      SKERRY_BOOTSTRAP_API_KEY: BENCH_API_KEY,
      WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000',
      PAYMENT_CONFIRM_WINDOW_MS: '600000',
      PAYMENT_EXPIRES_AFTER_MS: '3600000',
      PAYMENT_REFUND_WINDOW_MS: '3600000',
      WEBHOOK_DELIVERY_SWEEP_MS: '1000',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      WORKER_METRICS_PORT: 'off',
      WORKER_TEMPORAL_METRICS_PORT: 'off',
    };
    const config = loadConfig(env);
    const logger = createLogger({ level: env.LOG_LEVEL, name: 'bench', destination: pino.destination({ dest: join(options.workDir, `api-${options.tag}.log`), sync: false, mkdir: true }) });
    const sandbox = await buildSandbox({ logger: false, stripe: { webhookUrl: `${config.publicUrl}/webhooks/stripe`, webhookSecret: SECRET, webhooks: { concurrency: 16, initialDelayMs: 50, maxDelayMs: 1_000 } } });
    await sandbox.listen({ host: '127.0.0.1', port: sandboxPort });
    stops.push(() => sandbox.close());
    const api = await startApi(config, { temporalAddress: topology.temporalAddress, databaseUrl: topology.databaseUrl, logger, port: apiPort });
    stops.push(() => api.close());
    const database = createDatabase(topology.databaseUrl, { max: 5 });
    stops.push(() => database.close());
    const connection = await Connection.connect({ address: topology.temporalAddress });
    stops.push(() => connection.close());
    const temporalClient = new Client({ connection, dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey) });
    const workerEnv = { ...env, TEMPORAL_ADDRESS: topology.temporalAddress, DATABASE_URL: topology.databaseUrl, WORKFLOW_BUNDLE_PATH: options.bundlePath, BENCH_LOG_FILE: join(options.workDir, `worker-${options.tag}.log`) };
    let workers: ChildProcess[] = [];
    stops.push(() => Promise.all(workers.map(stopChild)));
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
    return await benchPayments({
      durationS: options.durationS,
      concurrency: options.concurrency,
      apiUrl: api.url,
      sandboxUrl: config.sandbox.url,
      database,
      temporalClient,
      freshWorker: async () => {
        await Promise.all(workers.map(stopChild));
        workers = await Promise.all(Array.from({ length: options.workers }, () => forkTs('bench/worker-process.ts', [], workerEnv)));
        return workers[0]!;
      },
      quiesce,
      measureCpu: () => measureCpu(() => ({ ...Object.fromEntries(workers.map((worker, i) => [`worker-${i + 1}`, worker.pid])), ...topology.cpuGroups(), 'bench process': process.pid })),
      logLevel: env.LOG_LEVEL,
      say: (message) => say(`[${options.tag}] ${message}`),
    });
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

export async function benchCluster(options: { durationS: number; concurrency: number; workDir: string }) {
  const workDir = join(options.workDir, 'c1');
  await mkdir(workDir, { recursive: true });
  const bundlePath = await buildWorkflowBundle(join(workDir, 'workflow-bundle.js'));
  const stops: Array<() => Promise<unknown>> = [];
  try {
    // The dev server, as run.ts's B3 uses it, on a PostgreSQL of its own.
    const cliPath = await ensureBinary('temporal', { log: say });
    const dev = await startTemporalDevServer({ cliPath, port: await freePort(), headless: true, namespace: 'default', searchAttributes: SKERRY_SEARCH_ATTRIBUTES, dbFile: join(workDir, 'temporal.db'), logFile: join(workDir, 'temporal.log') });
    stops.push(() => dev.stop());
    const devPg = await startEmbeddedPostgres({ dataDir: join(workDir, 'dev-pg'), port: await freePort(), persistent: true });
    stops.push(() => devPg.stop());
    await migrateDatabase(devPg.url);
    const run = { durationS: options.durationS, concurrency: options.concurrency, workDir, bundlePath };
    say('C1: B3 on the dev server, one worker…');
    const devServer = await b3On({ temporalAddress: dev.address, databaseUrl: devPg.url, cpuGroups: () => ({ 'temporal dev server': dev.process.pid, 'skerry postgres': postmasterPid(join(workDir, 'dev-pg')) }) }, { ...run, workers: 1, tag: 'dev' });
    await Promise.all(stops.splice(0).reverse().map((stop) => stop()));

    const cluster = await startClusterInfrastructure({ dataDir: join(workDir, 'cluster'), persistent: true, log: say });
    stops.push(() => cluster.stop());
    const clusterTopology: Topology = {
      temporalAddress: cluster.temporalAddress,
      databaseUrl: cluster.databaseUrl,
      cpuGroups: () => ({ 'temporal server': cluster.server().process.pid, 'temporal postgres': postmasterPid(join(workDir, 'cluster', 'temporal-postgres')), 'skerry postgres': postmasterPid(join(workDir, 'cluster', 'postgres')) }),
    };
    say('C1: B3 on the cluster, one worker…');
    const oneWorker = await b3On(clusterTopology, { ...run, workers: 1, tag: 'cluster-1' });
    say('C1: B3 on the cluster, two workers…');
    const twoWorkers = await b3On(clusterTopology, { ...run, workers: 2, tag: 'cluster-2' });
    const perSecond = (result: PaymentsBenchResult) => result.skerry.perSecond;
    return {
      devServer,
      clusterOneWorker: oneWorker,
      clusterTwoWorkers: twoWorkers,
      summary: {
        paymentsPerSecond: { devServer: perSecond(devServer), clusterOneWorker: perSecond(oneWorker), clusterTwoWorkers: perSecond(twoWorkers) },
        ratioToBareWorkflow: { devServer: devServer.ratio, clusterOneWorker: oneWorker.ratio, clusterTwoWorkers: twoWorkers.ratio },
        clusterToDevServer: Math.round((perSecond(oneWorker) / perSecond(devServer)) * 1000) / 1000,
        twoWorkersToOne: Math.round((perSecond(twoWorkers) / perSecond(oneWorker)) * 1000) / 1000,
      },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const workDir = await mkdtemp(join(tmpdir(), 'skerry-bench-c1-'));
  try {
    const result = await benchCluster({ durationS: Number(process.env.BENCH_DURATION_S ?? 60), concurrency: Number(process.env.BENCH_CONCURRENCY ?? 48), workDir });
    const json = JSON.stringify(result, null, 2);
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(new URL(`./results/c1-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url), json);
    console.log(json);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  process.exit(0);
}
