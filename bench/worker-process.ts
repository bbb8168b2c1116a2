// The benchmark's worker, in its own process so its CPU and resident memory are its own: the
// production worker (startWorker, with its provider task queues) plus, on a queue of its own, the
// B3 baseline workflow with its no-op activity.
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { pino } from 'pino';
import { startWorker } from '../worker/run';
import { encryptedDataConverter } from '../security/payload-codec';

export const BASELINE_TASK_QUEUE = 'bench-baseline';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const config = loadConfig();
const skerry = await startWorker(config, {
  temporalAddress: process.env.TEMPORAL_ADDRESS!,
  databaseUrl: process.env.DATABASE_URL!,
  // At the configured level (LOG_LEVEL, info by default), to a file as a deployment's log collector would take it.
  logger: createLogger({ level: config.logLevel, name: 'bench-worker', ...(process.env.BENCH_LOG_FILE ? { destination: pino.destination({ dest: process.env.BENCH_LOG_FILE, sync: false }) } : {}) }),
  workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH!,
  tuning: {
    identity: `bench-worker-${process.pid}`,
    // 'default': the SDK's own choice from the heap size, what a deployment gets without tuning.
    maxCachedWorkflows: process.env.BENCH_MAX_CACHED === 'default' ? undefined : Number(process.env.BENCH_MAX_CACHED ?? 5_000),
    maxConcurrentWorkflowTaskExecutions: Number(process.env.BENCH_WFT_SLOTS ?? 100),
    maxConcurrentActivityTaskExecutions: Number(process.env.BENCH_ACTIVITY_SLOTS ?? 200),
  },
});
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const baseline = await Worker.create({
  connection,
  taskQueue: BASELINE_TASK_QUEUE,
  // Encrypted as Skerry's are (the bench client has the codec): the baseline pays the same codec cost.
  dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey),
  workflowsPath: fileURLToPath(new URL('./workflows/baseline.ts', import.meta.url)),
  activities: { noop: async () => {} },
  maxConcurrentWorkflowTaskExecutions: Number(process.env.BENCH_WFT_SLOTS ?? 100),
});
process.once('SIGTERM', () => {
  baseline.shutdown();
  void skerry.shutdown();
});
// B5 asks for a collection before it reads memory, so garbage is not counted as parked state.
process.on('message', (message) => {
  if (message !== 'memory') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.({ memory: process.memoryUsage(), maxCachedWorkflows: skerry.maxCachedWorkflows });
});
process.send?.({ ready: true, pid: process.pid });
await Promise.all([baseline.run(), skerry.done]);
await connection.close();
process.exit(0);
