// B4: transaction reconciliation throughput. 100,000 ledger payments (with their bookings) and the
// same payments in the Stripe sandbox's history; one reconciliation run through the production
// wiring (API client → workflow → worker activities paging `GET /v1/balance_transactions` over HTTP,
// 100 per page with heartbeated cursors → SQL matching → report) is timed end to end. The baseline
// is the same comparison as plain SQL: the same rows loaded into Postgres in one go and compared
// with one join, no provider API, no workflow, no checkpoints.
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../config';
import type { Database } from '../db/client';
import { buildSandbox, sandboxHandles } from '../sandbox/server';
import { freePort } from '../stack/ports';
import { startWorker } from '../worker/run';
import { WORKFLOWS_PATH } from '../worker/create-worker';
import { createLogger } from '../observability/logger';
import { createReconciliationStore } from '../store/reconciliation';
import { createReconciliationClient } from '../client/reconciliation';
import { encryptedDataConverter } from '../security/payload-codec';
import { insertBookings, insertLedger, momentIn, tag, type BookingSeed, type LedgerSeed } from '../test/support/reconciliation';

export interface ReconciliationBenchResult {
  rows: number;
  skerry: { seconds: number; rowsPerSecond: number; pages: number; transactions: number; discrepancies: number; phases: Record<string, number> };
  baseline: { seconds: number; rowsPerSecond: number; mismatches: number };
  ratio: number;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function benchReconciliation(options: {
  temporalAddress: string;
  databaseUrl: string;
  database: Database;
  workDir: string;
  rows?: number;
  say: (message: string) => void;
}): Promise<ReconciliationBenchResult> {
  const { database, say } = options;
  const rows = options.rows ?? Number(process.env.BENCH_RECONCILIATION_ROWS ?? 100_000);
  const day = '2019-06-14';
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const sandboxPort = await freePort();
    const config = loadConfig({
      TEMPORAL_TASK_QUEUE: 'bench-reconciliation',
      SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
      RECONCILIATION_SCHEDULE_HOUR: 'off',
      WORKER_METRICS_PORT: 'off',
      WORKER_TEMPORAL_METRICS_PORT: 'off',
      LOG_LEVEL: 'warn',
    });
    const sandbox = await buildSandbox({ logger: false, stripe: { webhookUrl: '', webhookSecret: config.stripe.webhookSecrets[0]! } });
    await sandbox.listen({ host: '127.0.0.1', port: sandboxPort });
    stops.push(() => sandbox.close());
    const { store } = sandboxHandles(sandbox).stripe;

    say(`B4: seeding ${rows.toLocaleString('en')} payments into the ledger, the bookings and the Stripe sandbox…`);
    const t = tag();
    const ledger: LedgerSeed[] = [];
    const bookings: BookingSeed[] = [];
    for (let i = 0; i < rows; i++) {
      const paymentId = `pay_b${t}${i}`;
      const reservationId = `res_b${t}${i}`;
      const amount = 10_000 + (i % 1_000) * 10;
      const createdMs = momentIn(day, i);
      const pi = store.seedPayment({ amount, currency: 'SEK', createdMs, metadata: { skerry_payment_id: paymentId } });
      ledger.push({ paymentId, provider: 'stripe', status: 'succeeded', reference: reservationId, currency: 'SEK', amount, amountCaptured: amount, providerReference: pi.id, createdAt: new Date(createdMs) });
      bookings.push({ reservationId, paymentId, amount, currency: 'SEK' });
    }
    await insertLedger(database, ledger);
    await insertBookings(database, bookings, day);
    await database.execute(sql`analyze payments`);
    await database.execute(sql`analyze reservations`);

    const bundlePath = join(options.workDir, 'b4-bundle.js');
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') });
    await writeFile(bundlePath, code);
    const logger = createLogger({ level: 'warn', name: 'bench-b4' });
    const worker = await startWorker(config, { temporalAddress: options.temporalAddress, databaseUrl: options.databaseUrl, logger, workflowBundlePath: bundlePath });
    stops.push(() => worker.shutdown());
    const connection = await Connection.connect({ address: options.temporalAddress });
    stops.push(() => connection.close());
    const reconciliation = createReconciliationClient({
      temporal: new Client({ connection, dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey) }),
      store: createReconciliationStore(database),
      taskQueue: config.temporal.taskQueue,
    });

    say('B4: reconciling them (Stripe balance transactions, 100 per page, over HTTP)…');
    const started = performance.now();
    const { id } = await reconciliation.start({ provider: 'stripe', from: day });
    const state = await reconciliation.result(id);
    const seconds = (performance.now() - started) / 1000;
    if (state.status !== 'completed') throw new Error(`B4: the run ended ${state.status}: ${state.error}`);
    // Where the time went: each activity from scheduled to completed, from the workflow's history.
    const phases: Record<string, number> = {};
    const history = await new Client({ connection, dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey) }).workflow.getHandle(id).fetchHistory();
    const scheduled = new Map<string, { type: string; at: number }>();
    for (const event of history.events ?? []) {
      const at = Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
      const attributes = event.activityTaskScheduledEventAttributes;
      if (attributes) scheduled.set(String(event.eventId), { type: attributes.activityType?.name ?? '?', at });
      const completed = event.activityTaskCompletedEventAttributes;
      const start = completed ? scheduled.get(String(completed.scheduledEventId)) : undefined;
      if (start) phases[start.type] = round((phases[start.type] ?? 0) + (at - start.at) / 1000, 2);
    }

    say('B4: baseline (the same rows compared in one SQL statement)…');
    const transactions = [...store.balanceTransactions.values()].filter((txn) => txn.type === 'charge');
    const sourceOf = new Map([...store.charges.values()].map((charge) => [charge.id, charge.payment_intent]));
    const baselineStarted = performance.now();
    await database.execute(sql`create unlogged table if not exists bench_provider_rows (id text primary key, payment_intent text, amount bigint, currency text)`);
    await database.execute(sql`truncate bench_provider_rows`);
    for (let i = 0; i < transactions.length; i += 5_000) {
      const values = sql.join(
        transactions.slice(i, i + 5_000).map((txn) => sql`(${txn.id}, ${sourceOf.get(txn.source) ?? null}, ${txn.amount}, ${txn.currency.toUpperCase()})`),
        sql`, `,
      );
      await database.execute(sql`insert into bench_provider_rows (id, payment_intent, amount, currency) values ${values}`);
    }
    const [compared] = await database.execute<{ mismatches: number }>(sql`
      select count(*)::int as mismatches
        from bench_provider_rows t
        full join (select * from payments where provider = 'stripe' and created_at >= ${`${day}T00:00:00Z`}::timestamptz
                                             and created_at < ${`${day}T00:00:00Z`}::timestamptz + interval '1 day') p
          on p.provider_reference = t.payment_intent
       where t.id is null or p.id is null or t.amount <> p.amount_captured or t.currency <> p.currency`);
    const baselineSeconds = (performance.now() - baselineStarted) / 1000;
    await database.execute(sql`drop table bench_provider_rows`);

    const result: ReconciliationBenchResult = {
      rows,
      skerry: {
        seconds: round(seconds, 2),
        // Per row the run actually processed, not per row seeded: a run that skips rows must not look faster.
        rowsPerSecond: round(state.counts.transactions / seconds),
        pages: state.counts.pages,
        transactions: state.counts.transactions,
        discrepancies: state.counts.discrepancies,
        phases,
      },
      baseline: { seconds: round(baselineSeconds, 2), rowsPerSecond: round(transactions.length / baselineSeconds), mismatches: compared?.mismatches ?? -1 },
      ratio: round(baselineSeconds / seconds, 3),
    };
    say(`B4: ${JSON.stringify(result)}`);
    return result;
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: Error) => say(`B4 cleanup: ${err.message}`));
  }
}
