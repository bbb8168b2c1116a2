// Runs `temporal server start-dev` (Temporal CLI v1.5.1, server 1.29.1) as a child process and
// waits until it really serves the namespace, with the search attributes the app needs registered.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { isPortFree } from './ports';
import { startCodecProxy, type CodecProxy, type CodecTarget } from './codec-proxy';

export type SearchAttributeTypeName = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface TemporalDevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; defaults to port + 1000 (the CLI's default). Ignored when headless. */
  uiPort?: number;
  headless?: boolean;
  /**
   * Skerry's codec server for the Web UI (`--ui-codec-endpoint`): the admin door's /codec and a key
   * with the `read` scope, asked for at each request (the API starts after this server). The UI
   * reaches it through a loopback proxy that adds the key (stack/codec-proxy.ts).
   */
  uiCodec?: CodecTarget;
  /** SQLite file for persistence; omit for an in-memory server. */
  dbFile?: string;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeTypeName>;
  /** Server stdout/stderr is appended here; otherwise the last 64 KiB are kept in memory for errors. */
  logFile?: string;
  /** Only used with dbFile. Defaults to DEFAULT_SQLITE_PRAGMAS; pass {} to disable. */
  sqlitePragmas?: Record<string, string>;
  dynamicConfig?: Record<string, string | number | boolean>;
  /** How long to wait for readiness. Default 60 s. */
  readyTimeoutMs?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'never';
}

export interface TemporalDevServer {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
  process: ChildProcess;
}

/**
 * WAL lets readers (visibility queries, the UI) proceed during writes; synchronous=NORMAL is safe
 * with WAL (a power loss can lose the last commits, never corrupt) and much faster than FULL;
 * busy_timeout makes concurrent connections wait instead of failing with SQLITE_BUSY.
 * Note SQLite silently ignores unknown pragmas, so a typo here is not reported by the server.
 */
export const DEFAULT_SQLITE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'normal',
  busy_timeout: '10000',
};

// temporal.api.enums.v1.IndexedValueType (proto enum values; stable wire numbers).
const INDEXED_VALUE_TYPE: Record<SearchAttributeTypeName, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};
const TYPE_NAME_BY_VALUE = new Map(Object.entries(INDEXED_VALUE_TYPE).map(([k, v]) => [v, k]));

const STOP_TIMEOUT_MS = 10_000;
const LOG_BUFFER_BYTES = 64 * 1024;

// Children still running when this process exits are killed, so a crashed test run or an
// interrupted `npm start` does not leave a server holding the port and the database file.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const host = '127.0.0.1';
  const address = `${host}:${opts.port}`;
  const headless = opts.headless ?? false;
  const uiPort = headless ? undefined : (opts.uiPort ?? opts.port + 1000);

  for (const [port, what] of [[opts.port, 'gRPC'], ...(uiPort ? [[uiPort, 'UI']] : [])] as [number, string][]) {
    if (!(await isPortFree(port, host))) {
      throw new Error(
        `Temporal dev server ${what} port ${host}:${port} is already in use ` +
          `(a previous dev server may still be running; find it with \`ss -ltnp 'sport = :${port}'\`)`,
      );
    }
  }

  const args = ['server', 'start-dev', '--ip', host, '--port', String(opts.port), '--log-level', opts.logLevel ?? 'warn'];
  args.push('--namespace', opts.namespace);
  if (headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  let codecProxy: CodecProxy | undefined;
  if (!headless && opts.uiCodec) {
    codecProxy = await startCodecProxy({ target: opts.uiCodec, uiOrigins: [`http://${host}:${uiPort}`, `http://localhost:${uiPort}`] });
    args.push('--ui-codec-endpoint', codecProxy.url);
  }
  for (const [name, type] of Object.entries(opts.searchAttributes)) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  if (opts.dbFile) {
    const dbFile = resolve(opts.dbFile);
    await mkdir(dirname(dbFile), { recursive: true });
    args.push('--db-filename', dbFile);
    for (const [pragma, value] of Object.entries(opts.sqlitePragmas ?? DEFAULT_SQLITE_PRAGMAS)) {
      args.push('--sqlite-pragma', `${pragma}=${value}`);
    }
  }
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {})) {
    // The CLI parses each value as JSON.
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }

  // Output goes to the log file (appended) or to an in-memory tail used in error messages.
  let memoryLog = '';
  let stdio: ['ignore', 'pipe' | number, 'pipe' | number] = ['ignore', 'pipe', 'pipe'];
  let logFd: number | undefined;
  if (opts.logFile) {
    await mkdir(dirname(resolve(opts.logFile)), { recursive: true });
    logFd = openSync(opts.logFile, 'a');
    stdio = ['ignore', logFd, logFd];
  }
  const child = spawn(opts.cliPath, args, { stdio });
  if (logFd !== undefined) closeSync(logFd); // the child has its own copy
  trackChild(child);
  const append = (chunk: Buffer) => {
    memoryLog = (memoryLog + chunk.toString('utf8')).slice(-LOG_BUFFER_BYTES);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited ??= { code: null, signal: null };
      resolveExit();
    });
  });

  const logTail = async (): Promise<string> => {
    if (!opts.logFile) return memoryLog.split('\n').slice(-40).join('\n');
    try {
      const fh = await open(opts.logFile, 'r');
      try {
        const { size } = await fh.stat();
        const length = Math.min(size, 16 * 1024);
        const buffer = Buffer.alloc(length);
        await fh.read(buffer, 0, length, size - length);
        return buffer.toString('utf8').split('\n').slice(-40).join('\n');
      } finally {
        await fh.close();
      }
    } catch {
      return '(log file unreadable)';
    }
  };

  const stop = async (): Promise<void> => {
    await codecProxy?.close();
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!exited) child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await exitPromise;
    clearTimeout(timer);
  };

  try {
    await waitUntilReady({
      address,
      host,
      port: opts.port,
      namespace: opts.namespace,
      searchAttributes: opts.searchAttributes,
      deadline: Date.now() + (opts.readyTimeoutMs ?? 60_000),
      hasExited: () => exited !== undefined,
      exitPromise,
    });
  } catch (err) {
    const exitedEarly = exited; // read before stop(), which sets it
    await stop();
    const why = spawnError
      ? `could not run ${opts.cliPath}: ${spawnError.message}`
      : exitedEarly
        ? `exited early (code ${exitedEarly.code ?? 'null'}, signal ${exitedEarly.signal ?? 'null'})`
        : (err as Error).message;
    throw new Error(`Temporal dev server on ${address} did not become ready: ${why}\n--- server log tail ---\n${await logTail()}`, {
      cause: err,
    });
  }

  return {
    address,
    uiUrl: uiPort ? `http://${host}:${uiPort}` : undefined,
    stop,
    process: child,
  };
}

interface ReadyCheck {
  address: string;
  host: string;
  port: number;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeTypeName>;
  deadline: number;
  hasExited: () => boolean;
  exitPromise: Promise<void>;
}

async function waitUntilReady(check: ReadyCheck): Promise<void> {
  let lastError: unknown;
  let delay = 50;
  while (Date.now() < check.deadline) {
    if (check.hasExited()) throw new Error('server process exited');
    let connection: Connection | undefined;
    try {
      // A cheap TCP probe first: gRPC's own connect backs off ~1 s after a refused connection.
      await tcpProbe(check.host, check.port);
      const conn = await Connection.connect({ address: check.address, connectTimeout: 2_000 });
      connection = conn;
      // Every RPC gets a deadline so a wedged server cannot hang the loop past check.deadline.
      await conn.withDeadline(Math.min(Date.now() + 5_000, check.deadline), async () => {
        await conn.workflowService.getSystemInfo({});
        await conn.workflowService.describeNamespace({ namespace: check.namespace });
        await ensureSearchAttributes(conn, check.namespace, check.searchAttributes);
      });
      return;
    } catch (err) {
      lastError = err;
      if (err instanceof SearchAttributeConflictError) throw err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    // Back off, but wake immediately if the server dies.
    await Promise.race([new Promise((r) => setTimeout(r, delay)), check.exitPromise]);
    delay = Math.min(delay * 2, 500);
  }
  throw new Error(`timed out; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

function tcpProbe(host: string, port: number): Promise<void> {
  return new Promise((resolveProbe, reject) => {
    const socket = tcpConnect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`connecting to ${host}:${port} timed out`));
    });
    socket.once('error', reject);
  });
}

class SearchAttributeConflictError extends Error {
  override readonly name = 'SearchAttributeConflictError';
}

/**
 * `start-dev --search-attribute` only registers attributes when it creates the namespace, so a
 * persistent DB made before an attribute was added lacks it: add whatever is missing.
 */
async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  wanted: Record<string, SearchAttributeTypeName>,
): Promise<void> {
  if (Object.keys(wanted).length === 0) return;
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = (listed.customAttributes ?? {}) as Record<string, number>;
  const missing: Record<string, number> = {};
  for (const [name, type] of Object.entries(wanted)) {
    const have = existing[name];
    if (have === undefined) missing[name] = INDEXED_VALUE_TYPE[type];
    else if (have !== INDEXED_VALUE_TYPE[type]) {
      throw new SearchAttributeConflictError(
        `search attribute ${name} is registered as ${TYPE_NAME_BY_VALUE.get(have) ?? have} in namespace ${namespace}, expected ${type}; ` +
          'remove the dev server database to recreate it',
      );
    }
  }
  if (Object.keys(missing).length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: missing as Record<string, never>,
  });
}
