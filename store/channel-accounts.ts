// Channel accounts (an Airbnb host) and their OAuth tokens, sealed at rest (security/sealing.ts:
// AES-256-GCM under TOKEN_ENCRYPTION_KEY's token subkey, with a key id). A token near expiry is refreshed by one writer at a time: the refresh runs inside a transaction
// holding the account row (SELECT … FOR UPDATE), so concurrent callers wait and then read the new
// token — a rotating refresh token is never spent twice.
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { channelAccounts } from '../db/schema';
import type { ChannelName } from '../domain/bookings';
import { newInventoryId } from './inventory-ids';
import { createSealer } from '../security/sealing';
import type { KeyMaterial } from '../security/keys';
import { channelAccountTokenContext as context } from './sealed-tokens';

/** The token sealing (security/sealing.ts) as encrypt/decrypt; the additional data binds a value to its row and use. */
export function createTokenCipher(keys: KeyMaterial) {
  const sealer = createSealer(keys);
  return { encrypt: sealer.seal, decrypt: sealer.open };
}

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  scope?: string;
}

export class ChannelAccountError extends Error {
  override readonly name = 'ChannelAccountError';
  constructor(
    message: string,
    readonly code: 'not_connected' | 'revoked',
  ) {
    super(message);
  }
}

/** Refresh this long before the access token expires, so a call never carries a dying token. */
const REFRESH_MARGIN_MS = 60_000;

export function createChannelAccountStore(db: Database, keys: KeyMaterial) {
  const cipher = createTokenCipher(keys);

  const seal = (channel: string, externalAccountId: string, tokens: OAuthTokens) => ({
    accessTokenEnc: cipher.encrypt(tokens.accessToken, context(channel, externalAccountId, 'access')),
    refreshTokenEnc: cipher.encrypt(tokens.refreshToken, context(channel, externalAccountId, 'refresh')),
    accessTokenExpiresAt: new Date(Date.now() + tokens.expiresIn * 1000),
    scope: tokens.scope ?? null,
  });

  return {
    /** Stores (or replaces) the tokens an authorization code gave for a host. */
    async connect(channel: ChannelName, externalAccountId: string, tokens: OAuthTokens): Promise<{ id: string }> {
      const sealed = seal(channel, externalAccountId, tokens);
      const [row] = await db
        .insert(channelAccounts)
        .values({ id: newInventoryId('acct'), channel, externalAccountId, ...sealed, status: 'active' })
        .onConflictDoUpdate({
          target: [channelAccounts.channel, channelAccounts.externalAccountId],
          set: { ...sealed, status: 'active', updatedAt: sql`now()` },
        })
        .returning({ id: channelAccounts.id });
      return row!;
    },

    /**
     * A valid access token for the host. When it is about to expire (or `force`, after a 401), the
     * refresh runs while this transaction holds the account row: one writer at a time.
     */
    async accessToken(
      channel: ChannelName,
      externalAccountId: string,
      refresh: (refreshToken: string) => Promise<OAuthTokens>,
      options: { force?: boolean; rejected?: string } = {},
    ): Promise<string> {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .select()
          .from(channelAccounts)
          .where(and(eq(channelAccounts.channel, channel), eq(channelAccounts.externalAccountId, externalAccountId)))
          .for('update');
        if (!row) throw new ChannelAccountError(`${channel} account ${externalAccountId} is not connected`, 'not_connected');
        if (row.status !== 'active') throw new ChannelAccountError(`${channel} account ${externalAccountId} was revoked; connect it again`, 'revoked');
        const current = cipher.decrypt(row.accessTokenEnc, context(channel, externalAccountId, 'access'));
        // A caller that saw `rejected` fail may find another writer already replaced it: use that.
        const stale = options.force && (options.rejected === undefined || options.rejected === current);
        if (!stale && row.accessTokenExpiresAt.getTime() - REFRESH_MARGIN_MS > Date.now()) return current;
        const tokens = await refresh(cipher.decrypt(row.refreshTokenEnc, context(channel, externalAccountId, 'refresh')));
        await tx
          .update(channelAccounts)
          .set({ ...seal(channel, externalAccountId, tokens), refreshCount: sql`${channelAccounts.refreshCount} + 1`, updatedAt: sql`now()` })
          .where(eq(channelAccounts.id, row.id));
        return tokens.accessToken;
      });
    },

    async revoke(channel: ChannelName, externalAccountId: string): Promise<void> {
      await db
        .update(channelAccounts)
        .set({ status: 'revoked', updatedAt: sql`now()` })
        .where(and(eq(channelAccounts.channel, channel), eq(channelAccounts.externalAccountId, externalAccountId)));
    },

    async list(channel: ChannelName) {
      const rows = await db.select().from(channelAccounts).where(eq(channelAccounts.channel, channel));
      // Never the tokens: only what an operator needs to see.
      return rows.map((row) => ({
        id: row.id,
        channel: row.channel,
        externalAccountId: row.externalAccountId,
        status: row.status,
        accessTokenExpiresAt: row.accessTokenExpiresAt.toISOString(),
        refreshCount: row.refreshCount,
        updatedAt: row.updatedAt.toISOString(),
      }));
    },
  };
}

export type ChannelAccountStore = ReturnType<typeof createChannelAccountStore>;
