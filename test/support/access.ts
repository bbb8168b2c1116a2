// API keys for tests of the admin door: the real stores against the run's Postgres, and a key with
// the scopes a test asks for (every scope by default).
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase } from '../../db/client';
import { API_SCOPES, type ApiScope } from '../../db/schema';
import { createApiKeyStore } from '../../store/api-keys';
import { createIdempotencyStore } from '../../store/idempotency';

export async function startTestAccess(options: { scopes?: readonly ApiScope[]; databaseUrl?: string } = {}) {
  const database = createDatabase(options.databaseUrl ?? inject('databaseUrl'), { max: 3 });
  const keys = createApiKeyStore(database.db);
  const idempotency = createIdempotencyStore(database.db);
  const { key, record } = await keys.create({ name: `test-${randomUUID().slice(0, 8)}`, scopes: options.scopes ?? API_SCOPES });
  return {
    /** What buildAdminApp's `access` needs; `localhost` is the Host app.inject() sends. */
    access: { keys, idempotency, allowedHosts: ['localhost', '127.0.0.1'] },
    key,
    keyId: record.id,
    /** Authorization header with the key. */
    headers: { authorization: `Bearer ${key}` },
    keys,
    database,
    close: () => database.close(),
  };
}
