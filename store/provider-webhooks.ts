// The webhook registrations Skerry made at a provider (`skerry mobilepay webhooks register`) and the
// signing secrets they came with, sealed for their row (security/sealing.ts). The webhook verifier
// asks for the open secrets; the CLI adds and removes registrations as it makes and deletes them.
import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { providerWebhooks } from '../db/schema';
import type { KeyMaterial } from '../security/keys';
import { createSealer, SealedValueError } from '../security/sealing';

/** The additional data of a stored secret: bound to its provider and registration. */
export const providerWebhookSecretContext = (provider: string, id: string) => `webhook:${provider}:${id}`;

export interface ProviderWebhookRecord {
  id: string;
  provider: string;
  account: string;
  url: string;
  events: string[];
  createdAt: Date;
}

export function createProviderWebhookStore(db: Database, keys: KeyMaterial) {
  const sealer = createSealer(keys);
  const record = (row: typeof providerWebhooks.$inferSelect): ProviderWebhookRecord => ({
    id: row.id,
    provider: row.provider,
    account: row.account,
    url: row.url,
    events: row.events,
    createdAt: row.createdAt,
  });

  return {
    async add(input: Omit<ProviderWebhookRecord, 'createdAt'> & { secret: string }): Promise<ProviderWebhookRecord> {
      const [row] = await db
        .insert(providerWebhooks)
        .values({
          id: input.id,
          provider: input.provider,
          account: input.account,
          url: input.url,
          events: input.events,
          secretEnc: sealer.seal(input.secret, providerWebhookSecretContext(input.provider, input.id)),
        })
        .returning();
      return record(row!);
    },

    async list(provider: string, account?: string): Promise<ProviderWebhookRecord[]> {
      const rows = await db
        .select()
        .from(providerWebhooks)
        .where(account === undefined ? eq(providerWebhooks.provider, provider) : and(eq(providerWebhooks.provider, provider), eq(providerWebhooks.account, account)))
        .orderBy(asc(providerWebhooks.createdAt));
      return rows.map(record);
    },

    /** True when the registration was stored (and is now gone). */
    async remove(provider: string, id: string): Promise<boolean> {
      const rows = await db
        .delete(providerWebhooks)
        .where(and(eq(providerWebhooks.provider, provider), eq(providerWebhooks.id, id)))
        .returning({ id: providerWebhooks.id });
      return rows.length > 0;
    },

    /**
     * Every stored secret of `provider` that the configured keys open. One that none opens (sealed
     * with a key since retired) is left out and reported, so a verification never fails on it.
     */
    async secrets(provider: string, onUnreadable?: (id: string, err: SealedValueError) => void): Promise<string[]> {
      const rows = await db
        .select({ id: providerWebhooks.id, secretEnc: providerWebhooks.secretEnc })
        .from(providerWebhooks)
        .where(eq(providerWebhooks.provider, provider));
      const secrets: string[] = [];
      for (const row of rows) {
        try {
          secrets.push(sealer.open(row.secretEnc, providerWebhookSecretContext(provider, row.id)));
        } catch (err) {
          if (!(err instanceof SealedValueError)) throw err;
          onUnreadable?.(row.id, err);
        }
      }
      return secrets;
    },
  };
}

export type ProviderWebhookStore = ReturnType<typeof createProviderWebhookStore>;

/**
 * A provider's stored secrets for its webhook verifier, read from the database at most every `ttlMs`.
 * `fresh` (a signature no cached secret matched: perhaps a registration made a moment ago) reads
 * again, but at most once per `minRefreshMs`, so forged webhooks cannot turn into a query each.
 */
export function cachedWebhookSecrets(
  load: () => Promise<string[]>,
  options: { ttlMs?: number; minRefreshMs?: number; now?: () => number } = {},
): (fresh?: boolean) => Promise<readonly string[]> {
  const ttlMs = options.ttlMs ?? 30_000;
  const minRefreshMs = options.minRefreshMs ?? 1_000;
  const now = options.now ?? Date.now;
  let cached: { secrets: readonly string[]; at: number } | undefined;
  let loading: Promise<readonly string[]> | undefined;
  return async (fresh = false) => {
    const age = cached ? now() - cached.at : Infinity;
    if (cached && age < ttlMs && !(fresh && age >= minRefreshMs)) return cached.secrets;
    loading ??= load()
      .then((secrets) => {
        cached = { secrets, at: now() };
        return secrets;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };
}
