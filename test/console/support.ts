// The console suite's stack: `npm start` itself (stack/start.ts as a child process, on free ports with
// its own DATA_DIR), against a Temporal dev server of its own (npm start's is fixed to port 7233), and
// Debian's Chromium driven by playwright-core. A missing browser fails the suite: it never skips.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { ensureBinary } from '../../stack/binaries';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporal-dev-server';
import { freePort } from '../../stack/ports';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { eventually } from '../support/harness';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Every page's screenshot; `npm run console:screenshots` also writes the README's two into docs/images. */
export const SHOTS = join(ROOT, 'test-results', 'console');


export async function startConsoleStack() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the console suite needs Debian's Chromium (apt-get install chromium; .ci/run installs it)`);
  await mkdir(SHOTS, { recursive: true });
  const dataDir = await mkdtemp(join(tmpdir(), 'skerry-console-'));
  const cliPath = await ensureBinary('temporal', { explicitPath: process.env.TEMPORAL_CLI_PATH, log: () => undefined });
  const temporal: TemporalDevServer = await startTemporalDevServer({
    cliPath,
    port: await freePort(),
    headless: true,
    namespace: 'default',
    searchAttributes: SKERRY_SEARCH_ATTRIBUTES,
    logFile: join(dataDir, 'temporal.log'),
  });
  const [port, publicPort, sandboxPort, swishPort, pgPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'stack/start.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      APP_ENV: 'development',
      PORT: String(port),
      PUBLIC_PORT: String(publicPort),
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_SWISH_PORT: String(swishPort),
      EMBEDDED_PG_PORT: String(pgPort),
      DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: temporal.address,
      WORKER_TEMPORAL_METRICS_PORT: 'off',
      DATABASE_URL: '',
      // Scenario 4 makes a webhook's delivery fail for real (Temporal stops answering): three errored
      // attempts, about half a minute, rather than production's 25 before it is marked failed.
      WEBHOOK_MAX_DELIVERY_ATTEMPTS: '3',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const adminUrl = `http://127.0.0.1:${port}`;
  let adminKey = '';
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output.join('')}`);
        adminKey = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
        const ready = await fetch(`${adminUrl}/console/`);
        return ready.status === 200 && output.join('').includes('Skerry is running');
      },
      { timeoutMs: 240_000, everyMs: 500, what: `npm start to serve the console\n${output.join('')}` },
    );
  } catch (err) {
    child.kill('SIGTERM');
    await temporal.stop();
    throw err;
  }

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  const http = async (method: string, path: string, body?: unknown, key = adminKey) => {
    const response = await fetch(`${adminUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(method !== 'GET' ? { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() } : {}),
      },
      body: method !== 'GET' ? JSON.stringify(body ?? {}) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const control = async (path: string, body: unknown = {}) => {
    const response = await fetch(`${sandboxUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };

  return {
    adminUrl,
    publicUrl: `http://127.0.0.1:${publicPort}`,
    sandboxUrl,
    databaseUrl: `postgres://postgres:postgres@127.0.0.1:${pgPort}/skerry`,
    adminKey,
    browser,
    http,
    control,
    /**
     * A Temporal outage the stack cannot tell from a hung server: the dev server is stopped (SIGSTOP),
     * so every call to it waits until its deadline, until `resumeTemporal` lets it go on where it was.
     */
    pauseTemporal: () => temporal.process.kill('SIGSTOP'),
    resumeTemporal: () => temporal.process.kill('SIGCONT'),
    async close() {
      temporal.process.kill('SIGCONT');
      await browser.close();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
      if (code === 'timeout') child.kill('SIGKILL');
      await temporal.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type ConsoleStack = Awaited<ReturnType<typeof startConsoleStack>>;

/** A fresh browser tab signed in with `key` (sessionStorage is per tab). */
export async function signIn(stack: ConsoleStack, key: string, viewport = { width: 1366, height: 900 }): Promise<Page> {
  const context = await stack.browser.newContext({ viewport, locale: 'sv-SE' });
  const page = await context.newPage();
  await page.goto(`${stack.adminUrl}/console/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor({ timeout: 15_000 });
  return page;
}

export async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const readme = process.env.SKERRY_CONSOLE_SCREENSHOTS;
  if (readme && (name === 'console-overview' || name === 'console-calendar')) await page.screenshot({ path: join(ROOT, readme, `${name}.png`), fullPage: false });
}
