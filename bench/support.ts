// What every benchmark phase shares: child processes, percentiles, signed test events, worker memory.
import { fileURLToPath } from 'node:url';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';

export const SECRET = 'whsec_bench_secret';
export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const say = (message: string) => console.log(`[bench] ${message}`);

/** The benchmark's own API key, installed through SKERRY_BOOTSTRAP_API_KEY like an operator's first key. */
export const BENCH_API_KEY = `sk_bench_${randomBytes(24).toString('base64url')}`;

/** A request to the admin door as an operator's backend sends it: bearer key, and a fresh Idempotency-Key on every write. */
export function adminFetch(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = { authorization: `Bearer ${BENCH_API_KEY}`, ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['idempotency-key'] ??= randomUUID();
  return fetch(url, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), redirect: 'manual' });
}

export const percentile = (values: number[], p: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export function forkTs(script: string, args: string[], env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(join(ROOT, script), args, {
    // BENCH_CPU_PROF=worker-process (or ingest-server) writes that child's V8 CPU profiles, one per
    // thread, to bench/results/profiles/ (open them in Chrome DevTools).
    execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_CPU_PROF && script.includes(process.env.BENCH_CPU_PROF) ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench/results/profiles')}`] : [])],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

export async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The worker's memory after a full collection: resident set and V8 heap, in MiB. */
export async function workerMemory(worker: ChildProcess): Promise<{ rss: number; heapUsed: number; maxCachedWorkflows?: number }> {
  const answer = new Promise<{ memory: NodeJS.MemoryUsage; maxCachedWorkflows?: number }>((resolve) => {
    const onMessage = (message: { memory?: NodeJS.MemoryUsage; maxCachedWorkflows?: number }) => {
      if (!message.memory) return;
      worker.off('message', onMessage);
      resolve({ memory: message.memory, maxCachedWorkflows: message.maxCachedWorkflows });
    };
    worker.on('message', onMessage);
  });
  worker.send('memory');
  const { memory, maxCachedWorkflows } = await answer;
  return { rss: memory.rss / 2 ** 20, heapUsed: memory.heapUsed / 2 ** 20, maxCachedWorkflows };
}

export function signedStripeEvent(id: string, type: string, object: Record<string, unknown>, timestamp: number) {
  const body = JSON.stringify({ id, object: 'event', type, created: timestamp, livemode: false, data: { object } });
  const signature = createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex');
  return { body, header: `t=${timestamp},v1=${signature}` };
}
