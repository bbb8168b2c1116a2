// Skerry's worker and API as separate OS processes, started through their production entry points
// (`npm run worker`, `npm run api`), as a process manager runs them on several machines.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = { worker: 'worker/main.ts', api: 'api/main.ts' } as const;
const STOP_TIMEOUT_MS = 30_000;

export type AppKind = keyof typeof ENTRY;

export interface AppProcess {
  name: string;
  kind: AppKind;
  child: ChildProcess;
  env: Record<string, string>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (the worker drains, the API finishes its requests), SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function spawnApp(options: { kind: AppKind; name: string; env: Record<string, string>; logFile: string }): AppProcess {
  const logFd = openSync(options.logFile, 'a');
  // Its own process group: a Ctrl-C in the terminal reaches only the orchestrator, which drains the
  // APIs and workers before it stops Temporal and the databases under them.
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY[options.kind]], { cwd: ROOT, env: options.env, stdio: ['ignore', logFd, logFd], detached: true });
  closeSync(logFd);
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolveExit({ code, signal });
    }),
  );
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stopWith = async (signal: NodeJS.Signals) => {
    if (gone()) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return { name: options.name, kind: options.kind, child, env: options.env, exited, stop: () => stopWith('SIGTERM'), kill: () => stopWith('SIGKILL') };
}

async function waitFor(app: AppProcess, what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (app.child.exitCode !== null || app.child.signalCode !== null) throw new Error(`${app.name} exited before ${what} (code ${app.child.exitCode ?? 'null'}, signal ${app.child.signalCode ?? 'null'})`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${app.name}: ${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** An API is up when both doors answer /health. */
export async function apiReady(app: AppProcess, timeoutMs = 90_000): Promise<void> {
  const doors = [app.env.PORT, app.env.PUBLIC_PORT].map((port) => `http://127.0.0.1:${port}/health`);
  await waitFor(app, 'both doors answering', async () => (await Promise.all(doors.map(async (url) => (await fetch(url)).ok))).every(Boolean), timeoutMs);
}

/** A worker is up when the server lists it (by its pid) among the pollers of its workflow task queue. */
export async function workerPolling(app: AppProcess, timeoutMs = 90_000): Promise<void> {
  const connection = await Connection.connect({ address: app.env.TEMPORAL_ADDRESS });
  try {
    const identity = `${app.child.pid}@`;
    await waitFor(
      app,
      'polling its task queue',
      async () => {
        const described = await connection.withDeadline(Date.now() + 5_000, () =>
          connection.workflowService.describeTaskQueue({ namespace: app.env.TEMPORAL_NAMESPACE || 'default', taskQueue: { name: app.env.TEMPORAL_TASK_QUEUE || 'skerry-payments' }, taskQueueType: 1 }),
        );
        return (described.pollers ?? []).some((poller) => poller.identity?.startsWith(identity));
      },
      timeoutMs,
    );
  } finally {
    await connection.close();
  }
}
