// A pure factory: worker/main.ts, `npm start` and the tests all build workers here.
//
// A Skerry worker is one Worker on the workflow task queue (workflows, and every activity) plus one
// activity-only Worker per provider task queue (`<queue>--<provider>`, see providerTaskQueue):
// provider calls are scheduled there, and `maxTaskQueueActivitiesPerSecond` on those workers is a
// server-side rate limit, so a provider's rate holds across every worker process.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type DataConverter, type State, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { PROVIDERS } from '../domain/payments';
import { SYNC_CHANNELS } from '../domain/bookings';
import { providerTaskQueue } from '../workflows/shared/retry-policies';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * The payload codec (security/payload-codec.ts: `encryptedDataConverter(config.channels.tokenEncryptionKey)`),
   * the same the clients use. Required: a worker without it would write guests' data into histories
   * in the clear. It runs outside the workflow sandbox, so the workflow bundle is the same either way.
   */
  dataConverter: DataConverter;
  /** A prebuilt bundle (production, tests); without it the workflows are bundled at start. */
  workflowBundlePath?: string;
  tuning?: Pick<
    WorkerOptions,
    'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'identity'
  >;
  /**
   * Requests per second per provider: the server-side rate limit of its task queue, for all worker
   * processes together (config.resilience.rateLimits). A provider without a rate is not limited.
   */
  providerRates?: Partial<Record<string, number>>;
}

/** The workflow worker and the provider workers, run and stopped together. */
export interface SkerryWorker {
  /** The workflow task queue's worker first, then one per provider task queue. */
  readonly workers: readonly Worker[];
  /** The provider task queues this worker polls. */
  readonly providerTaskQueues: readonly string[];
  /** Runs every worker; resolves when all have stopped. One stopping (or failing) stops the rest. */
  run(): Promise<void>;
  shutdown(): void;
  getState(): State;
}

const defined = <T extends Record<string, unknown>>(values: T): Partial<T> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;

export async function createWorker(options: CreateWorkerOptions): Promise<SkerryWorker> {
  const activities = createActivities(options.deps);
  const main = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    dataConverter: options.dataConverter,
    activities,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    ...options.tuning,
  });
  const providers: string[] = [...PROVIDERS, ...(options.deps.bookings ? SYNC_CHANNELS : [])];
  const queues = providers.map((provider) => providerTaskQueue(options.taskQueue, provider));
  const providerWorkers = await Promise.all(
    providers.map((provider, index) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue: queues[index]!,
        dataConverter: options.dataConverter,
        activities,
        maxConcurrentActivityTaskPolls: 2,
        // Options left unset, not set to undefined: the native worker refuses explicit undefineds.
        ...defined({
          maxTaskQueueActivitiesPerSecond: options.providerRates?.[provider],
          maxConcurrentActivityTaskExecutions: options.tuning?.maxConcurrentActivityTaskExecutions,
          identity: options.tuning?.identity ? `${options.tuning.identity}/${provider}` : undefined,
        }),
      }),
    ),
  );
  const workers = [main, ...providerWorkers];
  const stopAll = () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  return {
    workers,
    providerTaskQueues: queues,
    run() {
      const runs = workers.map((worker) => worker.run());
      for (const run of runs) run.then(stopAll, stopAll);
      // Wait for every worker to finish draining before reporting the first failure, if any.
      return Promise.allSettled(runs).then((results) => {
        const failed = results.find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
      });
    },
    shutdown: stopAll,
    getState: () => main.getState(),
  };
}
