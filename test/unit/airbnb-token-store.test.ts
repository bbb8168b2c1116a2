// Airbnb's per-host OAuth tokens: encrypted at rest, refreshed by one writer at a time (the account
// row is locked while the rotating refresh token is spent), and a 401 refreshes once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { createDatabase } from '../../db/client';
import { channelAccounts } from '../../db/schema';
import { createChannelAccountStore, createTokenCipher } from '../../store/channel-accounts';
import { createAirbnbClient, createAirbnbOAuth, signOAuthState, verifyOAuthState, type AirbnbTokenSource } from '../../providers/airbnb/client';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import type { ChannelMapping } from '../../domain/bookings';

const KEY = Buffer.alloc(32, 7).toString('base64');
const database = createDatabase(inject('databaseUrl'), { max: 20 });
const accounts = createChannelAccountStore(database.db, KEY);
let sandbox: Awaited<ReturnType<typeof buildSandbox>>;
let oauth: ReturnType<typeof createAirbnbOAuth>;
let tokens: AirbnbTokenSource;
let apiBase: string;

beforeAll(async () => {
  sandbox = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, airbnb: { clientId: 'client-1', clientSecret: 'secret-1', accessTokenTtlSeconds: 3_600 } });
  apiBase = `${await sandbox.listen({ host: '127.0.0.1', port: 0 })}/airbnb`;
  oauth = createAirbnbOAuth({ apiBase, clientId: 'client-1', clientSecret: 'secret-1' });
  tokens = { accessToken: (hostId, options) => accounts.accessToken('airbnb', hostId, (refresh) => oauth.refresh(refresh), options) };
});
afterAll(async () => {
  await sandbox?.close();
  await database.close();
});

async function connectHost(hostId: string) {
  const { code } = sandboxHandles(sandbox).airbnb.authorize({ clientId: 'client-1', redirectUri: 'http://skerry.test/callback', hostId });
  const exchanged = await oauth.exchangeCode(code, 'http://skerry.test/callback');
  expect(exchanged.hostId).toBe(hostId);
  await accounts.connect('airbnb', hostId, exchanged);
  return exchanged;
}

describe('Airbnb tokens', () => {
  it('seals tokens with AES-256-GCM bound to their account and use', () => {
    const cipher = createTokenCipher(KEY);
    const sealed = cipher.encrypt('at_secret', 'airbnb:h1:access');
    expect(sealed).not.toContain('at_secret');
    expect(cipher.decrypt(sealed, 'airbnb:h1:access')).toBe('at_secret');
    expect(() => cipher.decrypt(sealed, 'airbnb:h2:access')).toThrow();
    const [version, iv, tag, data] = sealed.split(':');
    const tampered = [version, iv, tag, Buffer.from(Buffer.from(data!, 'base64').map((byte, i) => (i === 0 ? byte ^ 1 : byte))).toString('base64')].join(':');
    expect(() => cipher.decrypt(tampered, 'airbnb:h1:access')).toThrow();
    expect(cipher.encrypt('at_secret', 'c')).not.toBe(cipher.encrypt('at_secret', 'c'));
  });

  it('signs the OAuth state and refuses a forged or expired one', () => {
    const state = signOAuthState(KEY, { exp: Date.now() + 60_000 });
    expect(verifyOAuthState(KEY, state)).toBeDefined();
    expect(verifyOAuthState(KEY, `${state}x`)).toBeUndefined();
    expect(verifyOAuthState(Buffer.alloc(32, 8).toString('base64'), state)).toBeUndefined();
    expect(verifyOAuthState(KEY, signOAuthState(KEY, { exp: Date.now() - 1 }))).toBeUndefined();
  });

  it('refreshes an expiring token exactly once for ten concurrent callers', async () => {
    const hostId = `host-${Date.now()}`;
    const first = await connectHost(hostId);
    const [row] = await database.db.select().from(channelAccounts).where(eq(channelAccounts.externalAccountId, hostId));
    expect(row!.accessTokenEnc).not.toContain(first.accessToken);
    expect(row!.refreshTokenEnc).not.toContain(first.refreshToken);
    expect(await tokens.accessToken(hostId)).toBe(first.accessToken);

    await database.db.update(channelAccounts).set({ accessTokenExpiresAt: sql`now() - interval '1 minute'` }).where(eq(channelAccounts.externalAccountId, hostId));
    const before = { ...sandboxHandles(sandbox).airbnb.counts };
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.accessToken(hostId)));
    expect(new Set(results).size).toBe(1);
    expect(results[0]).not.toBe(first.accessToken);
    const counts = sandboxHandles(sandbox).airbnb.counts;
    expect(counts.refreshes - before.refreshes).toBe(1);
    expect(counts.refreshReuse - before.refreshReuse).toBe(0);
    const [after] = await database.db.select().from(channelAccounts).where(eq(channelAccounts.externalAccountId, hostId));
    expect(after!.refreshCount).toBe(1);
  });

  it('takes a 401 as an expired token: one refresh, one retry, even for concurrent pushes', async () => {
    const hostId = `host-401-${Date.now()}`;
    await connectHost(hostId);
    const client = createAirbnbClient({ apiBase, tokens });
    const mapping: ChannelMapping = { mappingId: 'm', unitId: 'u', channel: 'airbnb', externalAccountId: hostId, externalListingId: `listing-${hostId}` };
    const day = (date: string) => ({ date, available: 1, price: 80_000, currency: 'SEK', minNights: 2, closedToArrival: false, closed: false });
    await client.pushCalendar(mapping, [day('2027-05-01')], { skipRequests: 0, onRequest: () => {} });

    // Airbnb expires the token early (Skerry still thinks it is valid).
    sandboxHandles(sandbox).airbnb.expireAccessTokens(hostId);
    const before = sandboxHandles(sandbox).airbnb.counts.refreshes;
    await Promise.all(['2027-05-02', '2027-05-03', '2027-05-04'].map((date) => client.pushCalendar(mapping, [day(date)], { skipRequests: 0, onRequest: () => {} })));
    expect(sandboxHandles(sandbox).airbnb.counts.refreshes - before).toBe(1);
    expect(sandboxHandles(sandbox).airbnb.calendar(mapping.externalListingId, '2027-05-01', '2027-05-04')).toEqual(
      ['2027-05-01', '2027-05-02', '2027-05-03', '2027-05-04'].map((date) => ({ date, availability: 'available', available_count: 1, daily_price: 800, currency: 'SEK', min_nights: 2, closed_to_arrival: false })),
    );
  });

  it('refuses calls for a host that never connected, without retrying', async () => {
    await expect(tokens.accessToken('nobody')).rejects.toMatchObject({ name: 'ChannelAccountError', code: 'not_connected' });
  });
});
