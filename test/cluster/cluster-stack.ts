// Skerry on the suite's cluster as `npm run start:cluster` runs it (stack/cluster/topology.ts): two
// worker processes and two API processes with their own doors, behind one public address the
// sandboxes send webhooks to. Each test file gets its own task queue and resilience scope.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../config';
import { startSandboxes } from '../../sandbox/start';
import { freePort } from '../../stack/ports';
import { startBalancer } from '../../stack/cluster/balancer';
import { startClusterApps } from '../../stack/cluster/topology';
import { createDatabase } from '../../db/client';
import { API_SCOPES } from '../../db/schema';
import { createApiKeyStore } from '../../store/api-keys';
import { encryptedDataConverter } from '../../security/payload-codec';
import { TEST_WEBHOOK_SECRET, type Stack } from '../support/stack';

export async function startClusterStack(options: { env?: Record<string, string>; workers?: number; apis?: number; apiEnv?: (index: number) => Record<string, string> } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'skerry-cluster-stack-'));
  const taskQueue = `cluster-${randomUUID()}`;
  const [sandboxPort, swishPort, publicPort] = [await freePort(), await freePort(), await freePort()];
  const apis = await Promise.all(Array.from({ length: options.apis ?? 2 }, async (_, i) => ({ admin: await freePort(), public: await freePort(), env: options.apiEnv?.(i) })));
  const workers = Array.from({ length: options.workers ?? 2 }, () => ({ metricsPort: 'off' as const, temporalMetricsPort: 'off' as const }));
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    APP_ENV: 'development',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    TEMPORAL_TASK_QUEUE: taskQueue,
    RESILIENCE_SCOPE: taskQueue,
    STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    PAYMENT_CONFIRM_WINDOW_MS: '2000',
    PAYMENT_EXPIRES_AFTER_MS: '120000',
    PAYMENT_REFUND_WINDOW_MS: '120000',
    WEBHOOK_DELIVERY_SWEEP_MS: '200',
    SANDBOX_PORT: String(sandboxPort),
    SANDBOX_SWISH_PORT: String(swishPort),
    SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
    PUBLIC_URL: publicUrl,
    DATA_DIR: dataDir,
    ...options.env,
  };
  const config = loadConfig({ ...env, PORT: String(apis[0]!.admin), PUBLIC_PORT: String(publicPort) });
  const sandboxes = await startSandboxes(config, { webhooks: { initialDelayMs: 50, maxDelayMs: 1_000, historySize: 20_000 } });
  const balancer = await startBalancer({ port: publicPort, backends: apis.map((api) => ({ host: '127.0.0.1', port: api.public })) });
  const temporalAddress = inject('temporalAddress');
  const databaseUrl = inject('databaseUrl');
  const apps = await startClusterApps({ temporalAddress, databaseUrl, workflowBundlePath: inject('workflowBundlePath'), env, apis, workers, logDir: dataDir });
  const database = createDatabase(databaseUrl, { max: 3 });
  const { key: apiKey } = await createApiKeyStore(database.db).create({ name: `cluster ${taskQueue}`, scopes: API_SCOPES });
  const connection = await Connection.connect({ address: temporalAddress });
  const temporal = new Client({ connection, namespace: 'default', dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey) });

  let nextApi = 0;
  /** The admin API of process `via`, or the next live one in turn: calls are spread over both. */
  const http = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, via?: number) => {
    const index = via ?? nextLiveApi();
    const changing = method !== 'GET' && method !== 'HEAD';
    const payload = body ?? (changing ? {} : undefined);
    const response = await fetch(`http://127.0.0.1:${apis[index]!.admin}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(method === 'POST' ? { 'idempotency-key': randomUUID() } : {}),
        ...headers,
      },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers, via: index };
  };
  const nextLiveApi = () => {
    for (let tries = 0; tries < apps.apis.length; tries++) {
      const index = nextApi++ % apps.apis.length;
      const child = apps.apis[index]!.child;
      if (child.exitCode === null && child.signalCode === null) return index;
    }
    throw new Error('no API process is running');
  };
  const control = async (path: string, body: unknown = {}) => {
    const response = await fetch(`${sandboxes.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };

  const cluster = {
    config,
    taskQueue,
    apps,
    apis,
    apiKey,
    publicUrl,
    sandboxUrl: sandboxes.url,
    sandboxes,
    stripeSandbox: sandboxes.handles.stripe,
    database,
    temporal,
    http,
    control,
    /** What a worker or API process has logged so far (each writes its own file). */
    logOf: (name: string) => readFile(join(dataDir, `${name}.log`), 'utf8'),
    async close() {
      await apps.stop();
      await balancer.close();
      await sandboxes.close();
      await connection.close();
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return cluster;
}

export type ClusterStack = Awaited<ReturnType<typeof startClusterStack>>;

/**
 * The fault suite's load helpers (test/faults/load.ts) read only http, control, database and
 * sandboxUrl of a stack; the cluster stack has them with the same meaning.
 */
export function asLoadTarget(cluster: ClusterStack): Stack {
  return cluster as unknown as Stack;
}

/** The suite's Temporal server: SIGKILL it, start it again on the same databases. */
export async function clusterServer(action: 'kill' | 'start' | 'pid'): Promise<Record<string, unknown>> {
  const response = await fetch(`${inject('clusterControlUrl')}/server/${action}`, { method: 'POST' });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`server ${action}: ${JSON.stringify(body)}`);
  return body;
}
