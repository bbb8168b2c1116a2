// The local-stack plumbing against the real binaries: Temporal dev server, embedded PostgreSQL,
// stripe-mock, plus the binary lookup/lock logic.
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binCacheDir, ensureBinary } from '../../stack/binaries';
import { startEmbeddedPostgres } from '../../stack/embedded-postgres';
import { freePort, isPortFree } from '../../stack/ports';
import { startStripeMock } from '../../stack/stripe-mock';
import { startTemporalDevServer, type SearchAttributeTypeName } from '../../stack/temporal-dev-server';

const quiet = () => undefined;
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'skerry-stack-test-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function listCustomSearchAttributes(address: string, namespace: string): Promise<Record<string, number>> {
  const connection = await Connection.connect({ address });
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    return (res.customAttributes ?? {}) as Record<string, number>;
  } finally {
    await connection.close();
  }
}

describe('ports', () => {
  it('freePort returns a bindable port and isPortFree sees it taken while listening', async () => {
    const port = await freePort();
    expect(await isPortFree(port)).toBe(true);
    const server = createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      expect(await isPortFree(port)).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('ensureBinary', () => {
  const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, PATH: process.env.PATH };
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('finds the real binaries (explicit path, cache dir or PATH)', async () => {
    const temporal = await ensureBinary('temporal', { explicitPath: process.env.TEMPORAL_CLI_PATH, log: quiet });
    const stripeMock = await ensureBinary('stripe-mock', { explicitPath: process.env.STRIPE_MOCK_PATH, log: quiet });
    expect(temporal).toMatch(/^\//);
    expect(stripeMock).toMatch(/^\//);
  });

  it('prefers an explicit path and rejects one that is not executable', async () => {
    const fake = join(workDir, 'my-temporal');
    await writeFile(fake, '#!/bin/sh\n');
    await expect(ensureBinary('temporal', { explicitPath: fake, log: quiet })).rejects.toThrow(/TEMPORAL_CLI_PATH/);
    await chmod(fake, 0o755);
    expect(await ensureBinary('temporal', { explicitPath: fake, log: quiet })).toBe(fake);
  });

  it('waits for another process holding the install lock instead of installing again', async () => {
    process.env.XDG_CACHE_HOME = join(workDir, 'xdg');
    process.env.PATH = '/usr/bin:/bin';
    const cacheDir = binCacheDir();
    expect(cacheDir).toBe(join(workDir, 'xdg', 'skerry', 'bin'));
    const lockDir = join(cacheDir, '.stripe-mock.install.lock');
    await mkdir(lockDir, { recursive: true });
    await writeFile(join(lockDir, 'pid'), String(process.pid)); // a live holder

    const messages: string[] = [];
    const pending = ensureBinary('stripe-mock', { log: (m) => messages.push(m) });
    await new Promise((r) => setTimeout(r, 700));
    // The "other process" finishes: binary appears, lock released.
    const binary = join(cacheDir, 'stripe-mock');
    await writeFile(binary, '#!/bin/sh\n', { mode: 0o755 });
    await rm(lockDir, { recursive: true });
    expect(await pending).toBe(binary);
    expect(messages.join('\n')).toMatch(/another process is installing stripe-mock/);
  });
});

describe('Temporal dev server', () => {
  let cliPath: string;
  const namespace = 'skerry-test';
  beforeAll(async () => {
    cliPath = await ensureBinary('temporal', { explicitPath: process.env.TEMPORAL_CLI_PATH, log: quiet });
  });

  it('starts in memory with the search attributes registered', async () => {
    const started = Date.now();
    const server = await startTemporalDevServer({
      cliPath,
      port: await freePort(),
      headless: true,
      namespace,
      searchAttributes: { PaymentId: 'Keyword', PaymentAmount: 'Int' },
    });
    try {
      console.log(`in-memory dev server ready in ${Date.now() - started} ms`);
      expect(server.uiUrl).toBeUndefined();
      const attrs = await listCustomSearchAttributes(server.address, namespace);
      expect(attrs.PaymentId).toBe(2); // KEYWORD
      expect(attrs.PaymentAmount).toBe(3); // INT
    } finally {
      await server.stop();
    }
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
  });

  it('restarts on the same database file, keeps attributes and adds new ones', async () => {
    const dbFile = join(workDir, 'temporal', 'dev.db');
    const logFile = join(workDir, 'temporal', 'server.log');
    const attrs: Record<string, SearchAttributeTypeName> = { PaymentId: 'Keyword', PaymentStatus: 'Keyword' };
    const port = await freePort();

    for (const round of [1, 2, 3]) {
      if (round === 3) attrs.PaymentReference = 'Keyword'; // an attribute the existing DB lacks
      const started = Date.now();
      const server = await startTemporalDevServer({ cliPath, port, headless: true, dbFile, logFile, namespace, searchAttributes: attrs });
      try {
        console.log(`persistent dev server (round ${round}) ready in ${Date.now() - started} ms`);
        const listed = await listCustomSearchAttributes(server.address, namespace);
        for (const name of Object.keys(attrs)) expect(listed[name], `${name} in round ${round}`).toBe(2);
      } finally {
        await server.stop();
      }
    }
    expect((await stat(dbFile)).size).toBeGreaterThan(0);
  });

  it('reports the server log when the server exits during startup', async () => {
    const notAFile = join(workDir, 'a-directory.db');
    await mkdir(notAFile, { recursive: true });
    await expect(
      startTemporalDevServer({ cliPath, port: await freePort(), headless: true, dbFile: notAFile, namespace, searchAttributes: {} }),
    ).rejects.toThrow(/exited early \(code 1[\s\S]*server log tail[\s\S]*unable to open database file/);
  });

  it('fails fast when the port is taken', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      await expect(
        startTemporalDevServer({ cliPath, port, headless: true, namespace, searchAttributes: {} }),
      ).rejects.toThrow(/already in use/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

describe('embedded PostgreSQL', () => {
  it('serves queries, keeps data across a persistent restart, survives a stale postmaster.pid', async () => {
    const dataDir = join(workDir, 'pg');
    const port = await freePort();

    let started = Date.now();
    let pg = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    console.log(`embedded postgres (initdb + start) ready in ${Date.now() - started} ms`);
    expect(pg.url).toBe(`postgres://postgres:postgres@127.0.0.1:${port}/skerry`);
    let sql = postgres(pg.url, { max: 1, onnotice: quiet });
    try {
      expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
      await sql`create table kept (v text)`;
      await sql`insert into kept values ('still here')`;
    } finally {
      await sql.end();
    }
    await pg.stop();

    // A crashed run leaves postmaster.pid behind, naming a process that no longer exists.
    await writeFile(join(dataDir, 'postmaster.pid'), `999999\n${dataDir}\n`);

    started = Date.now();
    pg = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    console.log(`embedded postgres (restart) ready in ${Date.now() - started} ms`);
    sql = postgres(pg.url, { max: 1, onnotice: quiet });
    try {
      expect(await sql`select v from kept`).toEqual([{ v: 'still here' }]);
    } finally {
      await sql.end();
      await pg.stop();
    }
    expect(await readdir(dataDir)).toContain('PG_VERSION');
  });

  it('removes a non-persistent cluster on stop', async () => {
    const dataDir = join(workDir, 'pg-ephemeral');
    const pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false, database: 'other' });
    const sql = postgres(pg.url, { max: 1, onnotice: quiet });
    try {
      expect(await sql`select current_database() as db`).toEqual([{ db: 'other' }]);
    } finally {
      await sql.end();
      await pg.stop();
    }
    await expect(stat(dataDir)).rejects.toThrow(/ENOENT/);
  });
});

describe('stripe-mock', () => {
  it('answers the Stripe API', async () => {
    const binPath = await ensureBinary('stripe-mock', { explicitPath: process.env.STRIPE_MOCK_PATH, log: quiet });
    const mock = await startStripeMock({ binPath });
    try {
      const res = await fetch(`${mock.baseUrl}/v1/charges`, { headers: { Authorization: 'Bearer sk_test_123' } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { object: string };
      expect(body.object).toBe('list');
    } finally {
      await mock.stop();
    }
  });
});
