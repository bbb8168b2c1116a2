// The tokens Skerry keeps sealed (security/sealing.ts), where they live, and the re-sealing that ends
// a key rotation.
//
// Sealed columns: oauth_tokens.access_token_enc / refresh_token_enc (PayPal, MobilePay) and
// channel_accounts.access_token_enc / refresh_token_enc (Airbnb hosts). A new sealed column belongs
// in `resealTokens` too, or a rotation leaves it readable only with the key being retired.
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { channelAccounts, oauthTokens } from '../db/schema';
import { createSealer, type Sealer } from '../security/sealing';
import type { KeyMaterial } from '../security/keys';

export type TokenUse = 'access' | 'refresh';

/** The additional data of an oauth_tokens value: bound to its row (the token key) and use. */
export const oauthTokenContext = (key: string, use: TokenUse) => `oauth:${key}:${use}`;

/** The additional data of a channel_accounts value: bound to the host account and use. */
export const channelAccountTokenContext = (channel: string, externalAccountId: string, use: TokenUse) => `${channel}:${externalAccountId}:${use}`;

export interface ResealTableReport {
  /** Rows whose values were sealed again with the current key. */
  resealed: number;
  /** Rows already sealed with the current key. */
  current: number;
  /** Rows no configured key opens: they stay as they are, and the rotation is not over. */
  unreadable: Array<{ row: string; reason: string }>;
}

export interface ResealReport {
  keyId: string;
  oauthTokens: ResealTableReport;
  channelAccounts: ResealTableReport;
}

const emptyReport = (): ResealTableReport => ({ resealed: 0, current: 0, unreadable: [] });

const reseal = (sealer: Sealer, value: string, context: string) => (sealer.isCurrent(value) ? value : sealer.seal(sealer.open(value, context), context));

/**
 * Seals every stored token again with TOKEN_ENCRYPTION_KEY, reading what the previous key (or the
 * key-id-less v1 format) sealed. Each row is re-sealed under its own row lock, the lock a token
 * refresh takes, so a refresh running meanwhile is neither lost nor overwritten with an old token.
 * Safe to run again: rows already current are left alone. After a report with nothing unreadable,
 * TOKEN_ENCRYPTION_KEY_PREVIOUS can go.
 */
export async function resealTokens(db: Database, keys: KeyMaterial): Promise<ResealReport> {
  const sealer = createSealer(keys);
  const report: ResealReport = { keyId: sealer.keyId, oauthTokens: emptyReport(), channelAccounts: emptyReport() };

  for (const { key } of await db.select({ key: oauthTokens.key }).from(oauthTokens)) {
    try {
      const changed = await db.transaction(async (tx) => {
        const [row] = await tx.select().from(oauthTokens).where(eq(oauthTokens.key, key)).for('update');
        if (!row) return false;
        const accessTokenEnc = row.accessTokenEnc && reseal(sealer, row.accessTokenEnc, oauthTokenContext(key, 'access'));
        const refreshTokenEnc = row.refreshTokenEnc && reseal(sealer, row.refreshTokenEnc, oauthTokenContext(key, 'refresh'));
        if (accessTokenEnc === row.accessTokenEnc && refreshTokenEnc === row.refreshTokenEnc) return false;
        // updated_at stays: it tells when the token last changed, and the token has not.
        await tx.update(oauthTokens).set({ accessTokenEnc, refreshTokenEnc }).where(eq(oauthTokens.key, key));
        return true;
      });
      report.oauthTokens[changed ? 'resealed' : 'current'] += 1;
    } catch (err) {
      report.oauthTokens.unreadable.push({ row: key, reason: (err as Error).message });
    }
  }

  for (const { id } of await db.select({ id: channelAccounts.id }).from(channelAccounts)) {
    try {
      const changed = await db.transaction(async (tx) => {
        const [row] = await tx.select().from(channelAccounts).where(eq(channelAccounts.id, id)).for('update');
        if (!row) return false;
        const accessTokenEnc = reseal(sealer, row.accessTokenEnc, channelAccountTokenContext(row.channel, row.externalAccountId, 'access'));
        const refreshTokenEnc = reseal(sealer, row.refreshTokenEnc, channelAccountTokenContext(row.channel, row.externalAccountId, 'refresh'));
        if (accessTokenEnc === row.accessTokenEnc && refreshTokenEnc === row.refreshTokenEnc) return false;
        await tx.update(channelAccounts).set({ accessTokenEnc, refreshTokenEnc }).where(eq(channelAccounts.id, id));
        return true;
      });
      report.channelAccounts[changed ? 'resealed' : 'current'] += 1;
    } catch (err) {
      report.channelAccounts.unreadable.push({ row: id, reason: (err as Error).message });
    }
  }
  return report;
}
