// The real Temporal server (`server … start`, all four services in one process) on PostgreSQL:
// its config written from TEMPORAL_CLUSTER, started, and awaited until its frontend answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { isPortFree } from '../ports';
import { TEMPORAL_CLUSTER } from './settings';
import type { TemporalDatabaseServer } from './temporal-schema';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENV_NAME = 'skerry';
const STOP_TIMEOUT_MS = 15_000;

export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  membership: { frontend: number; history: number; matching: number; worker: number };
}

/** The development config's ports (frontend 7233) when `base` is given; otherwise any free ones. */
export async function temporalServerPorts(base?: number): Promise<TemporalServerPorts> {
  if (base !== undefined) {
    return { frontend: base, frontendHttp: base + 10, history: base + 1, matching: base + 2, worker: base + 6, membership: { frontend: base - 300, history: base - 299, matching: base - 298, worker: base - 294 } };
  }
  // Membership ports are stored in a smallint column (cluster_membership.rpc_port): below 32768,
  // where the OS's ephemeral ports are not.
  const p = async () => freeMembershipSafePort();
  return { frontend: await p(), frontendHttp: await p(), history: await p(), matching: await p(), worker: await p(), membership: { frontend: await p(), history: await p(), matching: await p(), worker: await p() } };
}

async function freeMembershipSafePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await isPortFree(port)) return port;
  }
  throw new Error('no free port between 20000 and 32000');
}

function datastore(db: TemporalDatabaseServer, databaseName: string, maxConns: number) {
  return {
    sql: {
      pluginName: TEMPORAL_CLUSTER.sqlPlugin,
      databaseName,
      connectAddr: `${db.host}:${db.port}`,
      connectProtocol: 'tcp',
      user: db.user,
      password: db.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/** Writes <root>/config/skerry.yaml (JSON is YAML), the file `server --root --config --env` reads. */
export async function writeTemporalServerConfig(options: { root: string; ports: TemporalServerPorts; database: TemporalDatabaseServer; logLevel?: string }): Promise<void> {
  const { ports, database } = options;
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({ rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra } });
  const config = {
    log: { stdout: true, level: options.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: TEMPORAL_CLUSTER.numHistoryShards,
      datastores: {
        'postgres-default': datastore(database, TEMPORAL_CLUSTER.databases.default, 20),
        'postgres-visibility': datastore(database, TEMPORAL_CLUSTER.databases.visibility, 4),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: service(ports.frontend, ports.membership.frontend, { httpPort: ports.frontendHttp }),
      history: service(ports.history, ports.membership.history),
      matching: service(ports.matching, ports.membership.matching),
      worker: service(ports.worker, ports.membership.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: resolve(ROOT, TEMPORAL_CLUSTER.dynamicConfigFile), pollInterval: '10s' },
  };
  await mkdir(join(options.root, 'config'), { recursive: true });
  await writeFile(join(options.root, 'config', `${ENV_NAME}.yaml`), `${JSON.stringify(config, null, 2)}\n`);
}

export interface TemporalServer {
  address: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, for the fault tests. */
  kill(): Promise<void>;
}

const liveServers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

/** Starts the server on a config written by writeTemporalServerConfig and waits until its frontend serves. */
export async function startTemporalServer(options: { serverPath: string; root: string; ports: TemporalServerPorts; logFile: string; readyTimeoutMs?: number }): Promise<TemporalServer> {
  const address = `127.0.0.1:${options.ports.frontend}`;
  const logFd = openSync(options.logFile, 'a');
  // Its own process group, so a Ctrl-C stops it only after the workers have drained.
  const child = spawn(options.serverPath, ['--root', options.root, '--config', 'config', '--env', ENV_NAME, '--allow-no-auth', 'start'], { stdio: ['ignore', logFd, logFd], detached: true });
  closeSync(logFd);
  liveServers.add(child);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  void exited.then(() => liveServers.delete(child));
  const gone = () => child.exitCode !== null || child.signalCode !== null;

  const stopWith = async (signal: NodeJS.Signals) => {
    if (gone()) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  const server: TemporalServer = { address, process: child, stop: () => stopWith('SIGTERM'), kill: () => stopWith('SIGKILL') };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let last: unknown;
  while (Date.now() < deadline) {
    if (gone()) {
      const tail = (await readFile(options.logFile, 'utf8').catch(() => '')).split('\n').slice(-6).map((line) => line.slice(0, 400)).join('\n');
      throw new Error(`the Temporal server exited at start (code ${child.exitCode ?? 'null'}, signal ${child.signalCode ?? 'null'}); ${options.logFile} ends:\n${tail}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.withDeadline(Date.now() + 5_000, () => connection.workflowService.getSystemInfo({}));
        return server;
      } finally {
        await connection.close();
      }
    } catch (err) {
      last = err;
    }
    await Promise.race([new Promise((r) => setTimeout(r, 200)), exited]);
  }
  await server.stop();
  throw new Error(`the Temporal server on ${address} did not serve within the deadline: ${(last as Error | undefined)?.message ?? 'no answer'}; see ${options.logFile}`);
}
