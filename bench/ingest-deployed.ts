// B1b: webhook ingest as deployed. The same signed Stripe events as B1, but sent to the public door
// of a real API process (`npm run api`'s entry point, in its own process) with its production
// logging (info, to a file), metrics and delivery on, and every event about a real payment waiting
// in its workflow, so that each accepted event is signalled to that workflow. The figure counts
// 2xx answers per second; the delivery bound answers 503 with Retry-After when the workflows cannot
// keep up (providers retry), and after the load every accepted event must reach its workflow.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { default as autocannon } from 'autocannon';
import { sql } from 'drizzle-orm';
import type { createDatabase } from '../db/client';
import { webhookInbox } from '../db/schema';
import { freePort } from '../stack/ports';
import { ROOT, round, signedStripeEvent } from './support';
import type { CpuReport } from './cpu';

export interface DeployedIngestResult {
  acceptedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  answers: Record<string, number>;
  errors: number;
  accepted: number;
  delivered: number;
  drainSeconds: number;
  cpu: CpuReport | undefined;
}

export async function benchDeployedIngest(options: {
  durationS: number;
  env: Record<string, string>;
  workDir: string;
  database: ReturnType<typeof createDatabase>;
  parked: ReadonlyArray<{ paymentId: string; providerReference: string }>;
  measureCpu: (api: ChildProcess) => { stop(): CpuReport | undefined };
  say: (message: string) => void;
}): Promise<DeployedIngestResult> {
  const [adminPort, publicPort] = [await freePort(), await freePort()];
  const log = createWriteStream(join(options.workDir, 'b1b-api.log'));
  const api = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'api/main.ts')], {
    env: { ...process.env, ...options.env, PORT: String(adminPort), PUBLIC_PORT: String(publicPort), PUBLIC_URL: `http://127.0.0.1:${publicPort}`, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  api.stdout!.pipe(log);
  api.stderr!.pipe(log);
  const exited = new Promise((resolve) => api.once('exit', resolve));
  try {
    const url = `http://127.0.0.1:${publicPort}`;
    const deadline = Date.now() + 60_000;
    while ((await fetch(`${url}/ready`).then((response) => response.status, () => 0)) !== 200) {
      if (api.exitCode !== null) throw new Error(`B1b: the API process exited with ${api.exitCode} (see b1b-api.log)`);
      if (Date.now() > deadline) throw new Error('B1b: the API process was not ready within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const prefix = `evt_b1b_${randomUUID().slice(0, 8)}_`;
    let next = 0;
    const now = Math.floor(Date.now() / 1000);
    options.say(`B1b: signed webhooks about ${options.parked.length} waiting payments to a real API process (logging, metrics, delivery on), 32 connections, ${options.durationS} s…`);
    const cpu = options.measureCpu(api);
    const result = await autocannon({
      url: `${url}/webhooks/stripe`,
      connections: 32,
      duration: options.durationS,
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            const index = next++;
            const target = options.parked[index % options.parked.length]!;
            const event = signedStripeEvent(`${prefix}${index}`, 'payment_intent.requires_action', {
              id: target.providerReference,
              object: 'payment_intent',
              amount: 5_000,
              currency: 'sek',
              status: 'requires_action',
              amount_received: 0,
              amount_capturable: 0,
              metadata: { skerry_payment_id: target.paymentId },
            }, now);
            return { ...request, body: event.body, headers: { 'content-type': 'application/json', 'stripe-signature': event.header } };
          },
        },
      ],
    });
    const loadEnd = performance.now();
    const cpuReport = cpu.stop();
    // Every accepted event must reach its workflow; the drain is how long that takes after the load.
    const count = async (status?: string) => {
      const [row] = await options.database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(webhookInbox)
        .where(status ? sql`${webhookInbox.eventId} like ${`${prefix}%`} and ${webhookInbox.status} = ${status}` : sql`${webhookInbox.eventId} like ${`${prefix}%`}`);
      return row?.n ?? 0;
    };
    const accepted = await count();
    const drainDeadline = Date.now() + 600_000;
    let delivered = await count('delivered');
    while (delivered < accepted && Date.now() < drainDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      delivered = await count('delivered');
    }
    const answers: Record<string, number> = {};
    for (const [code, n] of Object.entries(result.statusCodeStats ?? {})) answers[code] = (n as { count: number }).count;
    return {
      acceptedPerSecond: round(result['2xx'] / options.durationS),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      answers,
      errors: result.errors,
      accepted,
      delivered,
      drainSeconds: round((performance.now() - loadEnd) / 1000, 1),
      cpu: cpuReport,
    };
  } finally {
    if (api.exitCode === null) {
      api.kill('SIGTERM');
      await exited;
    }
    log.end();
  }
}
