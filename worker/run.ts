// Wires a worker process: database, provider clients, Temporal connection.
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import { createDatabase } from '../db/client';
import { createPaymentLedger } from '../activities/persistence/payment-ledger';
import { createProviderRegistry } from '../providers/registry';
import { bookingActivityDeps } from '../activities/bookings/deps';
import type { Logger } from '../observability/logger';
import { createWorker, type CreateWorkerOptions } from './create-worker';

export interface RunningWorker {
  /** Resolves when the worker has stopped polling and finished its in-flight tasks. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startWorker(
  config: Config,
  options: { temporalAddress: string; databaseUrl: string; logger: Logger; workflowBundlePath?: string; tuning?: CreateWorkerOptions['tuning'] },
): Promise<RunningWorker> {
  const database = createDatabase(options.databaseUrl);
  const connection = await NativeConnection.connect({ address: options.temporalAddress });
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundlePath: options.workflowBundlePath,
    tuning: options.tuning,
    deps: {
      providers: createProviderRegistry(config),
      ledger: createPaymentLedger(database.db),
      logger: options.logger.child({ component: 'activity' }),
      bookings: bookingActivityDeps(config, database.db, options.logger.child({ component: 'activity' })),
    },
  });
  const done = worker.run().finally(async () => {
    await connection.close();
    await database.close();
  });
  return {
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
