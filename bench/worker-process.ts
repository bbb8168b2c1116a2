// The benchmark's worker, in its own process so its CPU and resident memory are its own.
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../config';
import { createActivities } from '../activities';
import { createDatabase } from '../db/client';
import { createPaymentLedger } from '../activities/persistence/payment-ledger';
import { createProviderRegistry } from '../providers/registry';
import { createLogger } from '../observability/logger';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const config = loadConfig();
const database = createDatabase(process.env.DATABASE_URL!, { max: Number(process.env.BENCH_DB_POOL ?? 20) });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const worker = await Worker.create({
  connection,
  taskQueue: config.temporal.taskQueue,
  workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! },
  activities: {
    ...createActivities({
      providers: createProviderRegistry(config),
      ledger: createPaymentLedger(database.db),
      logger: createLogger({ level: 'warn', name: 'bench-worker' }),
    }),
    noop: async () => {},
  },
  maxCachedWorkflows: Number(process.env.BENCH_MAX_CACHED ?? 5_000),
  maxConcurrentWorkflowTaskExecutions: Number(process.env.BENCH_WFT_SLOTS ?? 100),
  maxConcurrentActivityTaskExecutions: Number(process.env.BENCH_ACTIVITY_SLOTS ?? 200),
});
process.once('SIGTERM', () => worker.shutdown());
process.send?.({ ready: true, pid: process.pid, file: fileURLToPath(import.meta.url) });
await worker.run();
await connection.close();
await database.close();
process.exit(0);
