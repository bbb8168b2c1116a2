// The production wiring (startApi, startWorker, buildSandbox) on random ports against the run's
// shared Temporal and Postgres: end-to-end tests exercise exactly what `npm start` runs.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../config';
import { startApi } from '../../api/server';
import { startWorker } from '../../worker/run';
import { startSandboxes } from '../../sandbox/start';
import { freePort } from '../../stack/ports';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../observability/logger';
import { createDatabase } from '../../db/client';
import { API_SCOPES } from '../../db/schema';
import { encryptedDataConverter } from '../../security/payload-codec';

export const TEST_WEBHOOK_SECRET = 'whsec_skerry_test_secret';

export interface StackPorts {
  /** The admin door (the REST API). */
  api: number;
  /** The public door (webhooks, return pages): where the sandboxes send webhooks. */
  public: number;
  sandbox: number;
  swish: number;
  sandboxUrl: string;
}

export async function startStack(
  options: {
    /** Extra variables; a function receives the ports first (for variables that name them, e.g. STRIPE_API_BASE). */
    env?: Record<string, string> | ((ports: StackPorts) => Record<string, string>);
    startWorker?: boolean;
    temporalAddress?: string;
    databaseUrl?: string;
    logger?: Logger;
  } = {},
) {
  const logger = options.logger ?? createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  // Ports first: every provider client's base URL and every webhook URL derive from them.
  const [apiPort, publicPort, sandboxPort, swishPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const ports: StackPorts = { api: apiPort, public: publicPort, sandbox: sandboxPort, swish: swishPort, sandboxUrl: `http://127.0.0.1:${sandboxPort}` };
  const taskQueue = `e2e-${randomUUID()}`;
  const baseEnv: Record<string, string> = {
    APP_ENV: 'development',
    TEMPORAL_TASK_QUEUE: taskQueue,
    // Stacks share the run's database: keep each one's circuit breakers and quota counts apart.
    RESILIENCE_SCOPE: taskQueue,
    STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    PAYMENT_CONFIRM_WINDOW_MS: '2000',
    PAYMENT_EXPIRES_AFTER_MS: '60000',
    PAYMENT_REFUND_WINDOW_MS: '60000',
    WEBHOOK_DELIVERY_SWEEP_MS: '200',
    ...(typeof options.env === 'function' ? options.env(ports) : options.env),
  };
  const temporalAddress = options.temporalAddress ?? inject('temporalAddress');
  const databaseUrl = options.databaseUrl ?? inject('databaseUrl');

  const dataDir = await mkdtemp(join(tmpdir(), 'skerry-stack-'));
  const config: Config = loadConfig({
    ...baseEnv,
    PORT: String(apiPort),
    PUBLIC_PORT: String(publicPort),
    SANDBOX_PORT: String(sandboxPort),
    SANDBOX_SWISH_PORT: String(swishPort),
    DATA_DIR: dataDir,
  });
  const api = await startApi(config, { temporalAddress, databaseUrl, logger });
  const apiUrl = api.url;
  const publicUrl = api.publicUrl;
  // Every admin route needs a key: the stack's own has every scope.
  const { key: apiKey } = await api.keys.create({ name: `e2e ${taskQueue}`, scopes: API_SCOPES });
  const authHeaders = { authorization: `Bearer ${apiKey}` };
  const sandboxes = await startSandboxes(config, { webhooks: { initialDelayMs: 50, maxDelayMs: 1_000, historySize: 20_000 } });
  const sandbox = sandboxes.app;
  const sandboxUrl = sandboxes.url;
  const worker =
    options.startWorker === false
      ? undefined
      : await startWorker(config, { temporalAddress, databaseUrl, logger, workflowBundlePath: inject('workflowBundlePath') });
  const database = createDatabase(databaseUrl, { max: 3 });

  /**
   * The admin API as a well-behaved client calls it: with the stack's key, a JSON body on every
   * state-changing request ({} when there is nothing to say) and a fresh Idempotency-Key on each
   * POST unless the test gives its own.
   */
  const http = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const changing = method !== 'GET' && method !== 'HEAD';
    const payload = body ?? (changing ? {} : undefined);
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        ...authHeaders,
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(method === 'POST' ? { 'idempotency-key': randomUUID() } : {}),
        ...headers,
      },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
  const control = async (path: string, body: unknown = {}) => {
    const response = await fetch(`${sandboxUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };

  return {
    config,
    /** The payload codec this stack's API and worker use: for a test's own Temporal client. */
    dataConverter: encryptedDataConverter(config.channels.tokenEncryptionKey),
    apiUrl,
    publicUrl,
    apiKey,
    authHeaders,
    sandboxUrl,
    api,
    sandbox,
    stripeSandbox: sandboxes.handles.stripe,
    sandboxes,
    worker,
    database,
    temporalAddress,
    databaseUrl,
    http,
    control,
    async close() {
      await worker?.shutdown();
      await sandboxes.close();
      await api.close();
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
