// What every benchmark phase shares: child processes, percentiles, signed test events, worker memory.
import { fileURLToPath } from 'node:url';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';

export const SECRET = 'whsec_bench_secret';
export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const say = (message: string) => console.log(`[bench] ${message}`);

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
export async function workerMemory(worker: ChildProcess): Promise<{ rss: number; heapUsed: number }> {
  const answer = new Promise<NodeJS.MemoryUsage>((resolve) => {
    const onMessage = (message: { memory?: NodeJS.MemoryUsage }) => {
      if (!message.memory) return;
      worker.off('message', onMessage);
      resolve(message.memory);
    };
    worker.on('message', onMessage);
  });
  worker.send('memory');
  const memory = await answer;
  return { rss: memory.rss / 2 ** 20, heapUsed: memory.heapUsed / 2 ** 20 };
}

export function signedStripeEvent(id: string, type: string, object: Record<string, unknown>, timestamp: number) {
  const body = JSON.stringify({ id, object: 'event', type, created: timestamp, livemode: false, data: { object } });
  const signature = createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex');
  return { body, header: `t=${timestamp},v1=${signature}` };
}
