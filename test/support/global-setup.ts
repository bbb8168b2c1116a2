// One Temporal dev server, one Postgres and one workflow bundle for the whole test run, started the
// same way `npm start` starts them (or taken from TEMPORAL_ADDRESS / DATABASE_URL when set).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureBinary } from '../../stack/binaries';
import { startTemporalDevServer } from '../../stack/temporal-dev-server';
import { startEmbeddedPostgres } from '../../stack/embedded-postgres';
import { freePort } from '../../stack/ports';
import { migrateDatabase } from '../../db/migrate';
import { buildWorkflowBundle } from '../../worker/bundle';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const workDir = await mkdtemp(join(tmpdir(), 'skerry-test-'));
  const stops: Array<() => Promise<void>> = [];
  const log = (message: string) => console.log(`[test setup] ${message}`);

  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    const cliPath = await ensureBinary('temporal', { explicitPath: process.env.TEMPORAL_CLI_PATH, log });
    const server = await startTemporalDevServer({
      cliPath,
      port: await freePort(),
      headless: true,
      namespace: 'default',
      searchAttributes: SKERRY_SEARCH_ATTRIBUTES,
      logFile: join(workDir, 'temporal.log'),
    });
    stops.push(() => server.stop());
    temporalAddress = server.address;
  }

  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const postgres = await startEmbeddedPostgres({ dataDir: join(workDir, 'pg'), port: await freePort(), persistent: false });
    stops.push(() => postgres.stop());
    databaseUrl = postgres.url;
  }
  await migrateDatabase(databaseUrl);

  const workflowBundlePath = await buildWorkflowBundle(join(workDir, 'workflow-bundle.js'));

  project.provide('temporalAddress', temporalAddress);
  project.provide('databaseUrl', databaseUrl);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    for (const stop of stops.reverse()) await stop().catch((err: Error) => console.error(`[test teardown] ${err.message}`));
    await rm(workDir, { recursive: true, force: true });
  };
}
