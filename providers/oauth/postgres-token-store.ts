// Token stores in Postgres, sealed (security/sealing.ts: AES-256-GCM under TOKEN_ENCRYPTION_KEY's
// token subkey, each value naming its key id, so TOKEN_ENCRYPTION_KEY_PREVIOUS still reads during a
// rotation and `npx skerry keys rotate-encryption` re-seals). The lock that makes one refresher at a time is the row's: the refresh runs
// in a transaction holding SELECT … FOR UPDATE, and the next holder finds the new token.
//
// - oauth_tokens: client-credential tokens (PayPal, MobilePay), one row per key;
// - channel_accounts: Airbnb hosts' tokens, kept where the channel manager connects them.
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { channelAccounts, oauthTokens } from '../../db/schema';
import { createTokenCipher } from '../../store/channel-accounts';
import { channelAccountTokenContext, oauthTokenContext } from '../../store/sealed-tokens';
import type { KeyMaterial } from '../../security/keys';
import { ProviderError } from '../errors';
import { fingerprintOf, parseScopes, type StoredToken, type TokenStore } from './token-manager';

export function createPostgresTokenStore(db: Database, keys: KeyMaterial): TokenStore {
  const cipher = createTokenCipher(keys);
  const context = oauthTokenContext;

  const decode = (key: string, row: typeof oauthTokens.$inferSelect | undefined): StoredToken | undefined => {
    if (!row) return undefined;
    const refreshToken = row.refreshTokenEnc ? cipher.decrypt(row.refreshTokenEnc, context(key, 'refresh')) : undefined;
    if (!row.accessTokenEnc || !row.expiresAt || !row.issuedAt) {
      // Invalidated (or never fetched): only a refresh token may remain.
      return refreshToken ? { accessToken: '', refreshToken, issuedAt: 0, expiresAt: 0, invalid: true } : undefined;
    }
    return {
      accessToken: cipher.decrypt(row.accessTokenEnc, context(key, 'access')),
      refreshToken,
      issuedAt: row.issuedAt.getTime(),
      expiresAt: row.expiresAt.getTime(),
      scopes: parseScopes(row.scopes),
    };
  };

  return {
    async read(key) {
      const [row] = await db.select().from(oauthTokens).where(eq(oauthTokens.key, key));
      return decode(key, row);
    },

    async withLock(key, provider, refresh) {
      await db.insert(oauthTokens).values({ key, provider }).onConflictDoNothing();
      return db.transaction(async (tx) => {
        const [row] = await tx.select().from(oauthTokens).where(eq(oauthTokens.key, key)).for('update');
        const current = decode(key, row);
        const next = await refresh(current);
        if (next !== current) {
          await tx
            .update(oauthTokens)
            .set({
              accessTokenEnc: cipher.encrypt(next.accessToken, context(key, 'access')),
              refreshTokenEnc: next.refreshToken ? cipher.encrypt(next.refreshToken, context(key, 'refresh')) : null,
              fingerprint: fingerprintOf(next.accessToken),
              scopes: next.scopes?.join(' ') ?? null,
              issuedAt: new Date(next.issuedAt),
              expiresAt: new Date(next.expiresAt),
              refreshCount: sql`${oauthTokens.refreshCount} + 1`,
              lastError: null,
              lastErrorAt: null,
              updatedAt: sql`now()`,
            })
            .where(eq(oauthTokens.key, key));
        }
        return next;
      });
    },

    async invalidate(key, accessToken) {
      await db
        .update(oauthTokens)
        .set({ accessTokenEnc: null, fingerprint: null, expiresAt: null, updatedAt: sql`now()` })
        .where(and(eq(oauthTokens.key, key), eq(oauthTokens.fingerprint, fingerprintOf(accessToken))));
    },

    async recordFailure(key, provider, message) {
      await db
        .insert(oauthTokens)
        .values({ key, provider, lastError: message.slice(0, 500), lastErrorAt: new Date() })
        .onConflictDoUpdate({ target: oauthTokens.key, set: { lastError: message.slice(0, 500), lastErrorAt: sql`now()`, updatedAt: sql`now()` } });
    },
  };
}

/** What GET /providers shows of the stored tokens: never a token, only their health. */
export async function tokenStatuses(db: Database) {
  const rows = await db
    .select({
      key: oauthTokens.key,
      provider: oauthTokens.provider,
      expiresAt: oauthTokens.expiresAt,
      issuedAt: oauthTokens.issuedAt,
      refreshCount: oauthTokens.refreshCount,
      scopes: oauthTokens.scopes,
      lastError: oauthTokens.lastError,
      lastErrorAt: oauthTokens.lastErrorAt,
    })
    .from(oauthTokens);
  return rows.map((row) => ({
    ...row,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    issuedAt: row.issuedAt?.toISOString() ?? null,
    lastErrorAt: row.lastErrorAt?.toISOString() ?? null,
  }));
}

/**
 * Airbnb hosts' tokens in channel_accounts (the channel manager's table and sealing), keyed
 * `<channel>:host:<external account id>`. A host that never connected, or was revoked, cannot be
 * refreshed: that is an authentication failure, not retried.
 */
export function createChannelAccountTokenStore(db: Database, keys: KeyMaterial): TokenStore {
  const cipher = createTokenCipher(keys);
  const parse = (key: string) => {
    const match = /^([a-z_]+):host:(.+)$/.exec(key);
    if (!match) throw new Error(`not a channel account token key: ${key}`);
    return { channel: match[1]!, externalAccountId: match[2]! };
  };
  // The same additional data channel-accounts.ts seals with, so both read each other's tokens.
  const context = channelAccountTokenContext;
  const where = (channel: string, externalAccountId: string) => and(eq(channelAccounts.channel, channel), eq(channelAccounts.externalAccountId, externalAccountId));

  const decode = (row: typeof channelAccounts.$inferSelect): StoredToken => {
    const expiresAt = row.accessTokenExpiresAt.getTime();
    return {
      accessToken: cipher.decrypt(row.accessTokenEnc, context(row.channel, row.externalAccountId, 'access')),
      refreshToken: cipher.decrypt(row.refreshTokenEnc, context(row.channel, row.externalAccountId, 'refresh')),
      // The table keeps no issue time: with none, the full refresh margin applies.
      issuedAt: 0,
      expiresAt,
      scopes: parseScopes(row.scope),
    };
  };

  return {
    async read(key) {
      const { channel, externalAccountId } = parse(key);
      const [row] = await db.select().from(channelAccounts).where(where(channel, externalAccountId));
      return row && row.status === 'active' ? decode(row) : undefined;
    },

    async withLock(key, provider, refresh) {
      const { channel, externalAccountId } = parse(key);
      return db.transaction(async (tx) => {
        const [row] = await tx.select().from(channelAccounts).where(where(channel, externalAccountId)).for('update');
        if (!row) throw new ProviderError(provider, 'access_token', 'authentication', `${channel} account ${externalAccountId} is not connected`);
        if (row.status !== 'active') throw new ProviderError(provider, 'access_token', 'authentication', `${channel} account ${externalAccountId} was revoked; connect it again`);
        const current = decode(row);
        const next = await refresh(current);
        if (next !== current) {
          await tx
            .update(channelAccounts)
            .set({
              accessTokenEnc: cipher.encrypt(next.accessToken, context(channel, externalAccountId, 'access')),
              refreshTokenEnc: cipher.encrypt(next.refreshToken ?? current.refreshToken ?? '', context(channel, externalAccountId, 'refresh')),
              accessTokenExpiresAt: new Date(next.expiresAt),
              scope: next.scopes?.join(',') ?? row.scope,
              refreshCount: sql`${channelAccounts.refreshCount} + 1`,
              updatedAt: sql`now()`,
            })
            .where(eq(channelAccounts.id, row.id));
        }
        return next;
      });
    },

    async invalidate(key, accessToken) {
      // channel_accounts has no fingerprint: compare under the lock, expire the token if it matches.
      const { channel, externalAccountId } = parse(key);
      await db.transaction(async (tx) => {
        const [row] = await tx.select().from(channelAccounts).where(where(channel, externalAccountId)).for('update');
        if (!row || decode(row).accessToken !== accessToken) return;
        await tx.update(channelAccounts).set({ accessTokenExpiresAt: new Date(0), updatedAt: sql`now()` }).where(eq(channelAccounts.id, row.id));
      });
    },
  };
}
