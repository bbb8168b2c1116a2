// API keys for the admin door. A key is `sk_` and 256 random bits (base64url); only its SHA-256 is
// stored, with a display prefix, so neither the table nor a log line can be replayed as a key.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { API_SCOPES, apiKeys, type ApiScope } from '../db/schema';

/** What a key looks like: used to refuse a malformed bootstrap key before it is stored. */
export const API_KEY_PATTERN = /^sk_[A-Za-z0-9_-]{32,200}$/;
const PREFIX_LENGTH = 11;
/** last_used_at is written at most this often per key: a busy key is not a write per request. */
const TOUCH_EVERY_MS = 60_000;

export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiScope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revoked: boolean;
  revokedAt: Date | null;
}

export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

export const hashApiKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');
export const newApiKey = () => `sk_${randomBytes(32).toString('base64url')}`;

export function parseScopes(scopes: readonly string[]): ApiScope[] {
  const unknown = scopes.filter((scope) => !(API_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0) throw new ApiKeyError(`unknown scope ${unknown.join(', ')} (scopes: ${API_SCOPES.join(', ')})`);
  if (scopes.length === 0) throw new ApiKeyError('a key needs at least one scope');
  return [...new Set(scopes)] as ApiScope[];
}

const view = (row: typeof apiKeys.$inferSelect): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: row.scopes,
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  revoked: row.revoked,
  revokedAt: row.revokedAt,
});

export function createApiKeyStore(db: Database) {
  const insert = async (key: string, input: { name: string; scopes: readonly string[] }) => {
    const scopes = parseScopes(input.scopes);
    const name = input.name.trim();
    if (!name || name.length > 100) throw new ApiKeyError('a key needs a name of 1-100 characters');
    const [row] = await db
      .insert(apiKeys)
      .values({ id: `key_${randomUUID().replaceAll('-', '').slice(0, 24)}`, name, prefix: key.slice(0, PREFIX_LENGTH), hash: hashApiKey(key), scopes })
      .onConflictDoNothing({ target: apiKeys.hash })
      .returning();
    return row ? view(row) : undefined;
  };

  return {
    /** A new key: the only moment its value exists outside the caller's hands. */
    async create(input: { name: string; scopes: readonly string[] }): Promise<{ key: string; record: ApiKeyRecord }> {
      const key = newApiKey();
      const record = await insert(key, input);
      if (!record) throw new ApiKeyError('key collision'); // 256 random bits: never in practice
      return { key, record };
    },

    /**
     * Stores a key chosen outside Skerry (SKERRY_BOOTSTRAP_API_KEY) when its hash is not there yet.
     * A key that was stored and revoked stays revoked: restarting with it does not bring it back.
     */
    async ensure(key: string, input: { name: string; scopes: readonly string[] }): Promise<{ created: boolean; record: ApiKeyRecord }> {
      if (!API_KEY_PATTERN.test(key)) throw new ApiKeyError('an API key is sk_ followed by at least 32 characters of A-Z a-z 0-9 _ -');
      const created = await insert(key, input);
      if (created) return { created: true, record: created };
      const [row] = await db.select().from(apiKeys).where(eq(apiKeys.hash, hashApiKey(key)));
      return { created: false, record: view(row!) };
    },

    /** The key a bearer token names, when it exists and is not revoked. */
    async authenticate(key: string): Promise<ApiKeyRecord | undefined> {
      if (!API_KEY_PATTERN.test(key)) return undefined;
      const [row] = await db
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.hash, hashApiKey(key)), eq(apiKeys.revoked, false)));
      return row ? view(row) : undefined;
    },

    /** Records a successful use (not a refused one: a 401 or 403 leaves nothing behind). */
    async touch(id: string): Promise<void> {
      await db
        .update(apiKeys)
        .set({ lastUsedAt: sql`now()` })
        .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - make_interval(secs => ${TOUCH_EVERY_MS / 1000})`))));
    },

    async get(id: string): Promise<ApiKeyRecord | undefined> {
      const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
      return row ? view(row) : undefined;
    },

    async list(): Promise<ApiKeyRecord[]> {
      return (await db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))).map(view);
    },

    /** Revokes by id (key_…) or by the displayed prefix (sk_…); undefined when nothing matches. */
    async revoke(idOrPrefix: string): Promise<ApiKeyRecord | undefined> {
      const matches = await db
        .select()
        .from(apiKeys)
        .where(idOrPrefix.startsWith('sk_') ? eq(apiKeys.prefix, idOrPrefix.slice(0, PREFIX_LENGTH)) : eq(apiKeys.id, idOrPrefix));
      if (matches.length > 1) throw new ApiKeyError(`${idOrPrefix} names ${matches.length} keys; revoke by id (key_…)`);
      if (!matches[0]) return undefined;
      const [row] = await db
        .update(apiKeys)
        .set({ revoked: true, revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
        .where(eq(apiKeys.id, matches[0].id))
        .returning();
      return row ? view(row) : undefined;
    },
  };
}

export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;
