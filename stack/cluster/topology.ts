// Skerry's processes on a cluster: N workers and N APIs, each its own OS process with its own ports,
// all on one Temporal and one Skerry database. Shared by `npm run start:cluster`, the cluster tests
// and the cluster benchmark, so what is tested is what runs.
import { join } from 'node:path';
import { apiReady, spawnApp, workerPolling, type AppProcess } from './app-processes';

export interface ApiPorts {
  admin: number;
  public: number;
  /** What this API process alone gets on top of the common env (a test's own route to Temporal). */
  env?: Record<string, string>;
}

export interface ClusterAppsOptions {
  temporalAddress: string;
  databaseUrl: string;
  workflowBundlePath: string;
  /** Everything else every process gets (APP_ENV, PUBLIC_URL, sandbox ports, secrets, DATA_DIR …). */
  env: Record<string, string>;
  apis: ApiPorts[];
  /** One entry per worker: its Skerry metrics port and the Temporal SDK's ('off' for none). */
  workers: Array<{ metricsPort: number | 'off'; temporalMetricsPort: number | 'off' }>;
  logDir: string;
}

export interface ClusterApps {
  workers: AppProcess[];
  apis: AppProcess[];
  /** Starts worker `index` again (after a stop or a kill) with its same settings, and waits until it polls. */
  restartWorker(index: number): Promise<AppProcess>;
  restartApi(index: number): Promise<AppProcess>;
  /** Drains the APIs, then the workers. */
  stop(): Promise<void>;
}

export async function startClusterApps(options: ClusterAppsOptions): Promise<ClusterApps> {
  const common = { ...options.env, TEMPORAL_ADDRESS: options.temporalAddress, DATABASE_URL: options.databaseUrl, WORKFLOW_BUNDLE_PATH: options.workflowBundlePath };
  const workerEnv = (i: number) => ({ ...common, WORKER_METRICS_PORT: String(options.workers[i]!.metricsPort), WORKER_TEMPORAL_METRICS_PORT: String(options.workers[i]!.temporalMetricsPort) });
  const apiEnv = (i: number) => ({ ...common, PORT: String(options.apis[i]!.admin), PUBLIC_PORT: String(options.apis[i]!.public), ...options.apis[i]!.env });
  const launchWorker = async (i: number) => {
    const app = spawnApp({ kind: 'worker', name: `worker-${i + 1}`, env: workerEnv(i), logFile: join(options.logDir, `worker-${i + 1}.log`) });
    await workerPolling(app);
    return app;
  };
  const launchApi = async (i: number) => {
    const app = spawnApp({ kind: 'api', name: `api-${i + 1}`, env: apiEnv(i), logFile: join(options.logDir, `api-${i + 1}.log`) });
    await apiReady(app);
    return app;
  };
  const workers: AppProcess[] = [];
  const apis: AppProcess[] = [];
  const stop = async () => {
    await Promise.all(apis.map((app) => app.stop()));
    await Promise.all(workers.map((app) => app.stop()));
  };
  try {
    // The first process of each kind migrates the database alone; then the rest start together.
    workers.push(await launchWorker(0));
    workers.push(...(await Promise.all(options.workers.slice(1).map((_, i) => launchWorker(i + 1)))));
    apis.push(...(await Promise.all(options.apis.map((_, i) => launchApi(i)))));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    workers,
    apis,
    async restartWorker(i) {
      await workers[i]!.stop();
      workers[i] = await launchWorker(i);
      return workers[i]!;
    },
    async restartApi(i) {
      await apis[i]!.stop();
      apis[i] = await launchApi(i);
      return apis[i]!;
    },
    stop,
  };
}
