// Locates (and on first use installs) the external binaries the local stack runs:
// the Temporal CLI (its `server start-dev` is our dev/test Temporal), stripe-mock, and for the
// cluster topology the Temporal server and its schema tool.
//
// Lookup order: explicit path (TEMPORAL_CLI_PATH / STRIPE_MOCK_PATH, passed in by the caller),
// then ${XDG_CACHE_HOME:-$HOME/.cache}/skerry/bin/<name>, then PATH. When missing, `go install`
// the pinned version into the cache dir; for the Temporal CLI without Go, fall back to the
// Temporal SDK's own cached download. A mkdir-based lock serialises installs across processes.
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export type BinaryName = 'temporal' | 'stripe-mock' | 'temporal-server' | 'temporal-sql' | 'temporal-ui-server';

export interface EnsureBinaryOptions {
  /** TEMPORAL_CLI_PATH for temporal, STRIPE_MOCK_PATH for stripe-mock; must exist when given. */
  explicitPath?: string;
  log: (msg: string) => void;
}

interface BinarySpec {
  goPackage: string;
  version: string;
  why: string;
  envVar: string;
  /** The file `go install` produces when it differs from the cached name (`server`, `sql`). */
  builtAs?: string;
  /** Extra build environment. */
  buildEnv?: Record<string, string>;
  /** Names too generic to trust on PATH (`server`, `sql`): only the cache or the explicit path count. */
  cacheOnly?: boolean;
}

export const BINARY_SPECS: Readonly<Record<BinaryName, BinarySpec>> = {
  temporal: {
    goPackage: 'github.com/temporalio/cli/cmd/temporal',
    version: 'v1.5.1',
    why: 'the Temporal CLI provides `temporal server start-dev`, the local Temporal server used by `npm start` and the tests',
    envVar: 'TEMPORAL_CLI_PATH',
  },
  'stripe-mock': {
    goPackage: 'github.com/stripe/stripe-mock',
    version: 'v0.197.0',
    why: "stripe-mock is Stripe's official API mock, used by the tests to exercise the Stripe adapter offline",
    envVar: 'STRIPE_MOCK_PATH',
  },
  // The cluster topology (stack/cluster): the same server version the CLI embeds, on PostgreSQL.
  'temporal-server': {
    goPackage: 'go.temporal.io/server/cmd/server',
    version: 'v1.29.1',
    why: 'the Temporal server itself, run on PostgreSQL by `npm run start:cluster` and `npm run test:cluster`',
    envVar: 'TEMPORAL_SERVER_PATH',
    builtAs: 'server',
    // A static binary: no C toolchain needed, and no glibc dependency in the cache.
    buildEnv: { CGO_ENABLED: '0' },
    cacheOnly: true,
  },
  'temporal-sql': {
    goPackage: 'go.temporal.io/server/cmd/tools/sql',
    version: 'v1.29.1',
    why: "Temporal's schema tool, which creates and upgrades the cluster's PostgreSQL schemas (`npm run start:cluster`)",
    envVar: 'TEMPORAL_SQL_TOOL_PATH',
    builtAs: 'sql',
    buildEnv: { CGO_ENABLED: '0' },
    cacheOnly: true,
  },
  // The cluster's Web UI (the real server has none built in): the version Temporal CLI v1.5.1 embeds.
  'temporal-ui-server': {
    goPackage: 'github.com/temporalio/ui-server/v2/cmd/server',
    version: 'v2.42.1',
    why: 'the Temporal Web UI server, run against the cluster by `npm run start:cluster` (the dev server embeds its own)',
    envVar: 'TEMPORAL_UI_SERVER_PATH',
    builtAs: 'server',
    buildEnv: { CGO_ENABLED: '0' },
    cacheOnly: true,
  },
};

/** ${XDG_CACHE_HOME:-$HOME/.cache}/skerry/bin */
export function binCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(process.env.HOME || homedir(), '.cache');
  return join(base, 'skerry', 'bin');
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = resolve(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Cache dir first, then PATH. */
async function findInstalled(name: BinaryName): Promise<string | undefined> {
  const cached = join(binCacheDir(), name);
  if (await isExecutableFile(cached)) return cached;
  return BINARY_SPECS[name].cacheOnly ? undefined : findOnPath(name);
}

export async function ensureBinary(name: BinaryName, opts: EnsureBinaryOptions): Promise<string> {
  const spec = BINARY_SPECS[name];
  if (opts.explicitPath) {
    const explicit = resolve(opts.explicitPath);
    if (await isExecutableFile(explicit)) return explicit;
    throw new Error(`${spec.envVar}=${opts.explicitPath} is not an executable file`);
  }

  const found = await findInstalled(name);
  if (found) return found;

  const cacheDir = binCacheDir();
  await mkdir(cacheDir, { recursive: true });
  return withInstallLock(cacheDir, name, opts.log, async () => {
    // Another process may have finished installing while we waited for the lock.
    const target = join(cacheDir, name);
    if (await isExecutableFile(target)) return target;

    const go = await findOnPath('go');
    if (go) {
      await goInstall(go, name, cacheDir, opts.log);
    } else if (name === 'temporal') {
      await sdkDownloadTemporal(cacheDir, opts.log);
    } else {
      throw new Error(
        `${name} was not found (looked in ${cacheDir} and PATH) and Go is not installed to build it. ` +
          `Install Go (https://go.dev/dl) or build it yourself with \`go install ${spec.goPackage}@${spec.version}\` ` +
          `and set ${spec.envVar} to the binary.`,
      );
    }
    if (!(await isExecutableFile(target))) throw new Error(`installing ${name} did not produce ${target}`);
    opts.log(`${name} installed at ${target}`);
    return target;
  });
}

// ---------------------------------------------------------------------------------------------
// Cross-process install lock: mkdir is atomic; the owner's pid lets waiters break a stale lock.

const LOCK_POLL_MS = 500;
const LOCK_STALE_MS = 20 * 60_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lockIsStale(lockDir: string): Promise<boolean> {
  try {
    const pid = Number.parseInt(await readFile(join(lockDir, 'pid'), 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0) return !pidAlive(pid);
  } catch {
    // No pid file yet: the owner may be between mkdir and writeFile; fall back to age.
  }
  try {
    return Date.now() - (await stat(lockDir)).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false; // vanished: the owner released it
  }
}

/** Runs `install` holding the lock, unless another holder produced the binary meanwhile (then returns its path). */
async function withInstallLock(
  cacheDir: string,
  name: BinaryName,
  log: (m: string) => void,
  install: () => Promise<string>,
): Promise<string> {
  const lockDir = join(cacheDir, `.${name}.install.lock`);
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // Someone else is installing. If they finished, the binary is there and we are done.
    const target = join(cacheDir, name);
    if (await isExecutableFile(target)) return target;
    if (await lockIsStale(lockDir)) {
      log(`removing stale install lock ${lockDir}`);
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log(`another process is installing ${name} (lock ${lockDir}); waiting for it to finish`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
  try {
    await writeFile(join(lockDir, 'pid'), String(process.pid));
    return await install();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function goInstall(go: string, name: BinaryName, cacheDir: string, log: (m: string) => void): Promise<void> {
  const spec = BINARY_SPECS[name];
  const pkg = `${spec.goPackage}@${spec.version}`;
  log(
    `${name} not found: installing it with \`go install ${pkg}\` into ${cacheDir}. ` +
      `Why: ${spec.why}. This compiles from source and takes ~2-5 minutes on the first run only; ` +
      `the binary is cached afterwards (set ${spec.envVar} to use your own build instead).`,
  );
  // Build into a private staging dir and rename into place, so a half-written binary is never
  // visible under the cached name (go install copies when GOBIN is on another filesystem).
  const staging = join(cacheDir, `.staging-${name}-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const started = Date.now();
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn(go, ['install', pkg], {
        env: { ...process.env, ...spec.buildEnv, GOBIN: staging },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const collect = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-20_000);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const heartbeat = setInterval(() => {
        log(`still building ${name} (${Math.round((Date.now() - started) / 1000)} s so far)...`);
      }, 30_000);
      child.once('error', (err) => {
        clearInterval(heartbeat);
        reject(err);
      });
      child.once('close', (code, signal) => {
        clearInterval(heartbeat);
        if (code === 0) resolvePromise();
        else reject(new Error(`go install ${pkg} failed (code ${code ?? 'null'}, signal ${signal ?? 'null'}):\n${output.trim()}`));
      });
    });
    await rename(join(staging, spec.builtAs ?? name), join(cacheDir, name));
    log(`built ${name} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * No Go toolchain: let the Temporal SDK download its pinned CLI (it downloads and starts it),
 * tear that server down immediately, and copy the downloaded binary into the cache dir.
 */
async function sdkDownloadTemporal(cacheDir: string, log: (m: string) => void): Promise<void> {
  const downloadDir = join(cacheDir, 'temporal-sdk-download');
  await mkdir(downloadDir, { recursive: true });
  log(
    `temporal not found and Go is not installed: downloading the Temporal CLI through the Temporal SDK into ${downloadDir}. ` +
      `Why: ${BINARY_SPECS.temporal.why}. This happens on the first run only; it is cached afterwards.`,
  );
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir } },
  });
  await env.teardown();

  // The SDK names the file after the artifact and version; take the newest executable it left.
  const candidates: { path: string; mtimeMs: number }[] = [];
  for (const entry of await readdir(downloadDir)) {
    const path = join(downloadDir, entry);
    if (await isExecutableFile(path)) candidates.push({ path, mtimeMs: (await stat(path)).mtimeMs });
  }
  candidates.sort((a, b) => b.mtimeMs - a.mtimeMs);
  const downloaded = candidates[0];
  if (!downloaded) throw new Error(`the Temporal SDK download left no executable in ${downloadDir}`);
  const tmp = join(cacheDir, `.temporal-${process.pid}.tmp`);
  await copyFile(downloaded.path, tmp);
  await chmod(tmp, 0o755);
  await rename(tmp, join(cacheDir, 'temporal'));
}
