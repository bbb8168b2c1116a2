// Wires a worker process: database, provider clients, Temporal connection.
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import { createDatabase } from '../db/client';
import { createPaymentLedger } from '../store/payment-ledger';
import { createProviderRegistry } from '../providers/registry';
import { bookingActivityDeps } from '../activities/bookings/deps';
import { bookingWorkflowSignals } from '../client/bookings';
import { createPaymentsClient } from '../client/payments';
import { createReconciliationStore } from '../store/reconciliation';
import { createWebhookInbox } from '../store/webhook-inbox';
import { createChannelMessageStore } from '../store/channel-messages';
import type { Logger } from '../observability/logger';
import { createWorker, type CreateWorkerOptions } from './create-worker';
import { getProcessMetrics, type Metrics } from '../observability/metrics';
import { serveMetrics, type MetricsServer } from '../observability/metrics-server';
import { createProcessResilience, type ProviderResilience } from '../providers/resilience';
import type { ConfigSource } from '../config/secrets';
import { encryptedDataConverter } from '../security/payload-codec';
import { combineObservers, createProviderCallHours, createProviderCallRollup } from '../store/provider-call-hours';

export interface RunningWorker {
  /** Resolves when the worker has stopped polling and finished its in-flight tasks. */
  done: Promise<void>;
  /** Where this worker's metrics are served, when it serves them. */
  metricsUrl?: string;
  /** Workflows kept in the workflow worker's cache (the SDK derives it from the heap size unless tuned). */
  maxCachedWorkflows: number;
  shutdown(): Promise<void>;
}

export async function startWorker(
  config: Config,
  options: {
    temporalAddress: string;
    databaseUrl: string;
    logger: Logger;
    workflowBundlePath?: string;
    tuning?: CreateWorkerOptions['tuning'];
    /** Serve this process's metrics on this port (main.ts: WORKER_METRICS_PORT); 0 = any free port. */
    metricsPort?: number;
    metrics?: Metrics;
    /** A reloadable configuration (SIGHUP): provider clients pick up rotated keys at their next call. */
    configSource?: ConfigSource;
    /** This process's resilience mechanisms, when the caller shares them (`npm start`); else built here. */
    resilience?: ProviderResilience;
  },
): Promise<RunningWorker> {
  const metrics = options.metrics ?? getProcessMetrics();
  const database = createDatabase(options.databaseUrl);
  const connection = await NativeConnection.connect({ address: options.temporalAddress, ...config.temporal.connection });
  // Throttles, quotas, conditional GETs, circuit breakers and OAuth tokens, shared through Postgres.
  const resilience =
    options.resilience ??
    createProcessResilience(config, database, options.logger, metrics);
  // Every provider call also lands in the hourly rollup the console's latency/error chart reads.
  const callHours = createProviderCallHours(database.db);
  const rollup = createProviderCallRollup(callHours, { logger: options.logger.child({ component: 'provider-call-hours' }) });
  const observer = combineObservers(metrics.providerCallObserver, rollup.observer);
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey),
    workflowBundlePath: options.workflowBundlePath,
    tuning: options.tuning,
    providerRates: config.resilience.rateLimits,
    deps: {
      providers: createProviderRegistry(config, { source: options.configSource, resilience }),
      resilience,
      ledger: createPaymentLedger(database.db),
      logger: options.logger.child({ component: 'activity' }),
      observer,
      bookings: { ...bookingActivityDeps(config, database.db, options.logger.child({ component: 'activity' }), bookingWorkflowSignals, resilience), observer },
      reconciliation: {
        store: createReconciliationStore(database.db),
        paymentTiming: config.payments,
        paymentDelivery: (temporal, { taskQueue, timing }) => createPaymentsClient({ temporal, taskQueue, timing, lateSuccessPolicy: config.lateSuccessPolicy }),
      },
      retention: { inbox: createWebhookInbox(database.db), channelMessages: createChannelMessageStore(database.db), providerCallHours: callHours },
    },
  });
  let metricsServer: MetricsServer | undefined;
  if (options.metricsPort !== undefined) {
    metricsServer = await serveMetrics(metrics, { host: config.metrics.workerHost, port: options.metricsPort });
    options.logger.info({ url: metricsServer.url }, 'worker metrics');
  }
  const done = worker.run().finally(async () => {
    await metricsServer?.close();
    await rollup.close();
    if (!options.resilience) await resilience.close();
    await connection.close();
    await database.close();
  });
  return {
    done,
    metricsUrl: metricsServer?.url,
    maxCachedWorkflows: worker.workers[0]!.options.maxCachedWorkflows,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
