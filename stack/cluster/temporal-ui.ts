// The Temporal Web UI for the cluster topology. The dev server embeds the UI; the real server does
// not, so the cluster runs Temporal's own UI server (github.com/temporalio/ui-server, the version the
// CLI embeds, built once into ~/.cache/skerry/bin) against the cluster's frontend, as docker-compose
// runs its temporalio/ui container.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMPORAL_CLUSTER } from './settings';

const ENV_NAME = 'cluster';
const STOP_TIMEOUT_MS = 10_000;

export interface TemporalUi {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const liveUis = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveUis) child.kill('SIGKILL');
});

/**
 * Writes `<root>/config/cluster.yaml` and starts the UI server on it; resolves once it serves. The
 * payloads are encrypted (security/payload-codec.ts): `codecEndpoint` is where the browser decodes
 * them (the loopback codec proxy in front of an admin door, stack/codec-proxy.ts).
 */
export async function startTemporalUi(options: { uiPath: string; root: string; port: number; temporalAddress: string; codecEndpoint?: string; logFile: string; readyTimeoutMs?: number }): Promise<TemporalUi> {
  const url = `http://127.0.0.1:${options.port}`;
  await mkdir(join(options.root, 'config'), { recursive: true });
  // JSON is YAML: no YAML writer needed for a config this flat.
  const config = {
    temporalGrpcAddress: options.temporalAddress,
    host: '127.0.0.1',
    port: options.port,
    enableUi: true,
    defaultNamespace: TEMPORAL_CLUSTER.namespace,
    // This machine may not reach the internet: no version check.
    notifyOnNewVersion: false,
    refreshInterval: '1m',
    cors: { allowOrigins: [url, `http://localhost:${options.port}`], cookieInsecure: true },
    codec: { endpoint: options.codecEndpoint ?? '', passAccessToken: false, includeCredentials: false },
  };
  await writeFile(join(options.root, 'config', `${ENV_NAME}.yaml`), `${JSON.stringify(config, null, 2)}\n`);

  const logFd = openSync(options.logFile, 'a');
  const child = spawn(options.uiPath, ['--root', options.root, '--config', 'config', '--env', ENV_NAME, 'start'], { stdio: ['ignore', logFd, logFd], detached: true });
  closeSync(logFd);
  liveUis.add(child);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  void exited.then(() => liveUis.delete(child));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const ui: TemporalUi = {
    url,
    process: child,
    async stop() {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (gone()) {
      const tail = (await readFile(options.logFile, 'utf8').catch(() => '')).split('\n').slice(-6).join('\n');
      throw new Error(`the Temporal UI server exited at start (code ${child.exitCode ?? 'null'}); ${options.logFile} ends:\n${tail}`);
    }
    try {
      // Its settings route answers once the server serves (the pages are static and say less).
      const response = await fetch(`${url}/api/v1/settings`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return ui;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await Promise.race([new Promise((r) => setTimeout(r, 200)), exited]);
  }
  await ui.stop();
  throw new Error(`the Temporal UI server on ${url} did not serve within the deadline (${last}); see ${options.logFile}`);
}
