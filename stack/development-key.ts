// The development API key of the embedded stacks (`npm start`, `npm run start:cluster`).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config';
import { createDatabase } from '../db/client';
import { API_SCOPES } from '../db/schema';
import { createApiKeyStore } from '../store/api-keys';

/**
 * The development key: made at the first start, kept in .data/dev-api-key (the database keeps only
 * its hash) and printed at every start; made again if it was revoked.
 */
export async function developmentKey(config: Config, databaseUrl: string): Promise<string | undefined> {
  if (config.appEnv !== 'development') return undefined;
  const file = join(config.dataDir, 'dev-api-key');
  const database = createDatabase(databaseUrl, { max: 1 });
  try {
    const keys = createApiKeyStore(database.db);
    const kept = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (kept && (await keys.authenticate(kept))) return kept;
    const { key } = await keys.create({ name: 'development (npm start)', scopes: API_SCOPES });
    await writeFile(file, `${key}\n`, { mode: 0o600 });
    return key;
  } finally {
    await database.close();
  }
}
