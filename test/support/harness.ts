// Per-test-file wiring against the run's shared Temporal and Postgres. Each harness gets its own
// task queue, so test files never pick up each other's workflows.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createDatabase } from '../../db/client';
import { createPaymentLedger } from '../../store/payment-ledger';
import type { PaymentActivityDeps } from '../../activities/payments';
import type { ProviderRegistry } from '../../providers/types';
import { createPaymentsClient } from '../../client/payments';
import { createWorker } from '../../worker/create-worker';
import { createLogger } from '../../observability/logger';
import type { LateSuccessPolicy, PaymentTiming } from '../../domain/payments';
import { testDataConverter } from './data-converter';

export interface WorkerHarnessOptions {
  providers: ProviderRegistry;
  /** Circuit breakers for the provider calls (providers/resilience). */
  resilience?: PaymentActivityDeps['resilience'];
  /** A logger to capture (default: silent unless TEST_LOG_LEVEL). */
  logger?: ReturnType<typeof createLogger>;
  timing?: Partial<PaymentTiming>;
  lateSuccessPolicy?: LateSuccessPolicy;
  taskQueue?: string;
  /** A test's own Temporal server (one with its own dynamic config); the run's shared one otherwise. */
  temporalAddress?: string;
}

export async function startWorkerHarness(options: WorkerHarnessOptions) {
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  const database = createDatabase(inject('databaseUrl'));
  const logger = options.logger ?? createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const temporalAddress = options.temporalAddress ?? inject('temporalAddress');
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    dataConverter: testDataConverter,
    workflowBundlePath: inject('workflowBundlePath'),
    deps: { providers: options.providers, ledger: createPaymentLedger(database.db), logger, resilience: options.resilience },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: temporalAddress });
  const temporal = new Client({ connection, namespace: 'default', dataConverter: testDataConverter });
  const payments = createPaymentsClient({ temporal, taskQueue, timing: options.timing, createWaitMs: 10_000, lateSuccessPolicy: options.lateSuccessPolicy });
  return {
    taskQueue,
    temporal,
    payments,
    database,
    logger,
    async close() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await database.close();
    },
  };
}

export type WorkerHarness = Awaited<ReturnType<typeof startWorkerHarness>>;

/** Polls a condition with a deadline: waiting on an observable fact, not on a guessed duration. */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; everyMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${options.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 50));
  }
}

/** The value of the first sample of `name` in a Prometheus text exposition whose labels include all of `labels`. */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The most requests in any window [t, t + 1 s) that starts at a request: a rate limit's check from a request log. */
export function busiestSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + 1_000) end++;
    most = Math.max(most, end - start);
  }
  return most;
}
