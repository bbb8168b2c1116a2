// A TOKEN_ENCRYPTION_KEY rotation on a database of its own: tokens sealed with the old key (and in
// the v1 format, from before key ids) are readable while TOKEN_ENCRYPTION_KEY_PREVIOUS names the old
// key, new writes use the new key, and after `npx skerry keys rotate-encryption` the new key alone
// reads everything. A token no configured key opens is reported, left alone, and fails the command.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import postgres from 'postgres';
import { eq } from 'drizzle-orm';
import { createDatabase } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';
import { channelAccounts, oauthTokens } from '../../db/schema';
import { createChannelAccountStore } from '../../store/channel-accounts';
import { channelAccountTokenContext, type ResealReport } from '../../store/sealed-tokens';
import { createPostgresTokenStore } from '../../providers/oauth/postgres-token-store';
import { deriveKeyRing } from '../../security/keys';
import { sealV1 } from '../support/sealed-v1';

const BIN = fileURLToPath(new URL('../../bin/skerry.js', import.meta.url));
const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('hex'); // as an operator may write it: 64 hex characters
const NEW_BASE64 = Buffer.from(NEW, 'hex').toString('base64');
const STRANGER = randomBytes(32).toString('base64');
const newKeyId = deriveKeyRing(NEW_BASE64, 'token-sealing').current.id;

const name = `rotation_${randomUUID().replaceAll('-', '')}`;
let admin: postgres.Sql;
let url: string;
let database: ReturnType<typeof createDatabase>;

beforeAll(async () => {
  const shared = new URL(inject('databaseUrl'));
  admin = postgres(shared.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  shared.pathname = `/${name}`;
  url = shared.toString();
  await migrateDatabase(url);
  database = createDatabase(url, { max: 3 });
});
afterAll(async () => {
  await database?.close();
  await admin?.unsafe(`drop database if exists ${name} with (force)`);
  await admin?.end({ timeout: 5 });
});

function rotateEncryption(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'keys', 'rotate-encryption', '--json'],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', APP_ENV: 'development', DATABASE_URL: url, ...env }, timeout: 90_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const hour = () => ({ issuedAt: Date.now(), expiresAt: Date.now() + 3_600_000 });
const readAll = async (keys: string | { current: string; previous?: string }) => {
  const accounts = createChannelAccountStore(database.db, keys);
  const tokens = createPostgresTokenStore(database.db, keys);
  const never = async (): Promise<never> => {
    throw new Error('no refresh expected: the tokens are fresh');
  };
  return {
    paypal: (await tokens.read('paypal:rotation-client'))?.accessToken,
    hosts: await Promise.all(['host-v2', 'host-v1'].map((host) => accounts.accessToken('airbnb', host, never))),
  };
};

describe('rotating TOKEN_ENCRYPTION_KEY', () => {
  it('reads the old key during the rotation, and only the new one after rotate-encryption', async () => {
    // Before: everything sealed with the old key, one host still in the v1 format.
    await createPostgresTokenStore(database.db, OLD).withLock('paypal:rotation-client', 'paypal', async () => ({ accessToken: 'A21-paypal-access', ...hour() }));
    await createChannelAccountStore(database.db, OLD).connect('airbnb', 'host-v2', { accessToken: 'at-host-v2', refreshToken: 'rt-host-v2', expiresIn: 3_600 });
    await database.db.insert(channelAccounts).values({
      id: 'acct_rotation_v1',
      channel: 'airbnb',
      externalAccountId: 'host-v1',
      accessTokenEnc: sealV1(OLD, 'at-host-v1', channelAccountTokenContext('airbnb', 'host-v1', 'access')),
      refreshTokenEnc: sealV1(OLD, 'rt-host-v1', channelAccountTokenContext('airbnb', 'host-v1', 'refresh')),
      accessTokenExpiresAt: new Date(Date.now() + 3_600_000),
    });
    const expected = { paypal: 'A21-paypal-access', hosts: ['at-host-v2', 'at-host-v1'] };
    expect(await readAll(OLD)).toEqual(expected);
    // The new key alone cannot read them yet: that is what the previous key is for.
    await expect(readAll(NEW_BASE64)).rejects.toThrow(/neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS/);

    // During: both keys configured; everything reads, and what is written now uses the new key.
    const during = { current: NEW_BASE64, previous: OLD };
    expect(await readAll(during)).toEqual(expected);
    await createChannelAccountStore(database.db, during).connect('airbnb', 'host-new', { accessToken: 'at-host-new', refreshToken: 'rt-host-new', expiresIn: 3_600 });
    const [fresh] = await database.db.select().from(channelAccounts).where(eq(channelAccounts.externalAccountId, 'host-new'));
    expect(fresh!.accessTokenEnc.startsWith(`v2:${newKeyId}:`)).toBe(true);

    const run = await rotateEncryption({ TOKEN_ENCRYPTION_KEY: NEW, TOKEN_ENCRYPTION_KEY_PREVIOUS: OLD });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as ResealReport;
    expect(report).toEqual({
      keyId: newKeyId,
      oauthTokens: { resealed: 1, current: 0, unreadable: [] },
      channelAccounts: { resealed: 2, current: 1, unreadable: [] },
    });

    // After: every sealed value names the new key, and the new key alone reads everything.
    const sealed = [
      ...(await database.db.select().from(oauthTokens)).flatMap((row) => [row.accessTokenEnc, row.refreshTokenEnc]),
      ...(await database.db.select().from(channelAccounts)).flatMap((row) => [row.accessTokenEnc, row.refreshTokenEnc]),
    ].filter((value): value is string => value !== null);
    expect(sealed).toHaveLength(7);
    for (const value of sealed) expect(value.startsWith(`v2:${newKeyId}:`), value).toBe(true);
    expect(await readAll(NEW_BASE64)).toEqual(expected);
    await expect(readAll(OLD)).rejects.toThrow();

    // Again: nothing left to do.
    const again = await rotateEncryption({ TOKEN_ENCRYPTION_KEY: NEW });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ oauthTokens: { resealed: 0, current: 1 }, channelAccounts: { resealed: 0, current: 3 } });
  });

  it('reports a token no configured key opens, leaves it as it is, and exits 3', async () => {
    await createPostgresTokenStore(database.db, STRANGER).withLock('mobilepay:stranger:123456', 'mobilepay', async () => ({ accessToken: 'stranger-access', ...hour() }));
    const [before] = await database.db.select().from(oauthTokens).where(eq(oauthTokens.key, 'mobilepay:stranger:123456'));
    const run = await rotateEncryption({ TOKEN_ENCRYPTION_KEY: NEW, TOKEN_ENCRYPTION_KEY_PREVIOUS: OLD });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/1 stored token opened with neither key/);
    const report = JSON.parse(run.stdout) as ResealReport;
    expect(report.oauthTokens.unreadable).toEqual([{ row: 'mobilepay:stranger:123456', reason: expect.stringContaining('neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS') }]);
    const [after] = await database.db.select().from(oauthTokens).where(eq(oauthTokens.key, 'mobilepay:stranger:123456'));
    expect(after!.accessTokenEnc).toBe(before!.accessTokenEnc);
  });
});
