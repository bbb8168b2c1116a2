// A worker or an API as a separate OS process (`npm run worker`'s and `npm run api`'s entry points),
// so a test can SIGKILL it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import type { Config } from '../../config';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function spawnWorkerProcess(config: Config, extraEnv: Record<string, string> = {}): ChildProcess & { output: string[] } {
  return spawnEntry('worker/main.ts', config, extraEnv);
}

/** The API's two doors on these ports (the same ones again after a restart). */
export function spawnApiProcess(config: Config, ports: { admin: number; public: number }, extraEnv: Record<string, string> = {}) {
  return spawnEntry('api/main.ts', config, { PORT: String(ports.admin), PUBLIC_PORT: String(ports.public), ...extraEnv });
}

function spawnEntry(entry: string, config: Config, extraEnv: Record<string, string>): ChildProcess & { output: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      APP_ENV: 'development',
      LOG_LEVEL: 'warn',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      DATABASE_URL: inject('databaseUrl'),
      // extraEnv may point at a test's own Temporal or Postgres.
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      RESILIENCE_SCOPE: config.resilience.scope ?? '',
      SANDBOX_URL: config.sandbox.url,
      SANDBOX_PORT: String(config.sandbox.port),
      SANDBOX_SWISH_PORT: String(config.sandbox.swishPort),
      DATA_DIR: config.dataDir,
      PUBLIC_URL: config.publicUrl,
      STRIPE_WEBHOOK_SECRET: config.stripe.webhookSecrets.join(','),
      PAYMENT_CONFIRM_WINDOW_MS: String(config.payments.confirmWindowMs),
      PAYMENT_EXPIRES_AFTER_MS: String(config.payments.expiresAfterMs),
      PAYMENT_REFUND_WINDOW_MS: String(config.payments.refundWindowMs),
      WEBHOOK_DELIVERY_SWEEP_MS: String(config.webhooks.deliverySweepMs),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  child.stdout?.on('data', (chunk: Buffer) => child.output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => child.output.push(chunk.toString()));
  return child;
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
