// `npx skerry doctor` against the sandboxes: a good development configuration passes every check; a
// broken one fails with the lines that name what is wrong, and the CLI exits non-zero.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../../config';
import { createMobilePayApi } from '../../providers/mobilepay/api';
import type { FastifyInstance } from 'fastify';
import { buildSandbox } from '../../sandbox/server';
import { startSandboxes, type RunningSandboxes } from '../../sandbox/start';
import { generateSwishCertificates } from '../../sandbox/swish/certs';
import { freePort } from '../../stack/ports';
import { doctor } from '../../cli/commands/doctor';
import type { DoctorCheck } from '../../cli/doctor/checks';
import { runSkerry } from '../support/cli';

let dataDir: string;
let sandboxes: RunningSandboxes;
let goodEnv: Record<string, string>;
/** A Stripe account that accepts only its own secret key (the development sandbox accepts any test key). */
let stripeAccount: FastifyInstance;
let stripeAccountUrl: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'skerry-doctor-'));
  const [sandboxPort, swishPort, publicPort] = [await freePort(), await freePort(), await freePort()];
  goodEnv = {
    APP_ENV: 'development',
    SANDBOX_PORT: String(sandboxPort),
    SANDBOX_SWISH_PORT: String(swishPort),
    PUBLIC_PORT: String(publicPort),
    DATA_DIR: dataDir,
    DATABASE_URL: inject('databaseUrl'),
  };
  const config = loadConfig(goodEnv);
  sandboxes = await startSandboxes(config);
  stripeAccount = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_doctor_account', apiKeys: ['sk_test_the_accounts_own_key'] } });
  stripeAccountUrl = await stripeAccount.listen({ host: '127.0.0.1', port: 0 });
  // The sandbox delivers to npm start's door unregistered; a deployment registers its webhook.
  const m = config.mobilepay;
  await createMobilePayApi({ ...m, merchantSerialNumber: m.merchantSerialNumber }).registerWebhook({
    url: `${config.publicUrl}/webhooks/mobilepay`,
    events: ['epayments.payment.captured.v1'],
  });
});

afterAll(async () => {
  await sandboxes?.close();
  await stripeAccount?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// Only the variables given: nothing from the shell running the tests leaks into the configuration.
const skerryDoctor = (env: Record<string, string>) => runSkerry(['doctor', '--json'], { PATH: process.env.PATH ?? '', ...env });

const byName = (checks: DoctorCheck[]) => Object.fromEntries(checks.map((check) => [check.name, check]));

describe('skerry doctor', () => {
  it('passes every check of a good development configuration and exits 0', async () => {
    const run = await skerryDoctor(goodEnv);
    expect(run.code, run.stderr).toBe(0);
    const checks = JSON.parse(run.stdout) as DoctorCheck[];
    expect(checks.filter((check) => !check.ok)).toEqual([]);
    expect(checks.map((check) => check.name)).toEqual([
      'configuration',
      'public URL',
      'stripe: credentials',
      'stripe: webhook secret',
      'paypal: credentials',
      'paypal: webhook id',
      'swish: credentials',
      'swish: callback URL',
      'swish: certificate matches payee alias',
      'mobilepay: credentials',
      'mobilepay: webhook secret',
      'mobilepay: return URL',
      'mobilepay: webhook registered',
      'booking.com: hosts',
      'airbnb: webhook secret',
      'airbnb: host tokens',
    ]);
    expect(byName(checks)['swish: certificate matches payee alias']!.detail).toContain('1234679304');
  });

  it('fails a broken configuration line by line and exits non-zero', async () => {
    // A merchant certificate from another CA, issued for another Swish number.
    const minted = generateSwishCertificates({ payeeAlias: '9999999999' });
    const certPath = join(dataDir, 'other-client.pem');
    const keyPath = join(dataDir, 'other-client-key.pem');
    await writeFile(certPath, minted.clientCert);
    await writeFile(keyPath, minted.clientKey, { mode: 0o600 });
    const config = loadConfig(goodEnv);
    const broken = {
      ...goodEnv,
      STRIPE_SECRET_KEY: 'sk_test_a_revoked_key',
      STRIPE_API_BASE: `${stripeAccountUrl}/stripe`,
      // Reached from the internet over plain http; the MobilePay webhook is registered for the good URL only.
      PUBLIC_URL: 'http://skerry.example.com',
      SWISH_CERT: certPath,
      SWISH_KEY: keyPath,
      SWISH_CA: config.swish.ca!,
      SWISH_API_BASE: config.swish.apiBase,
      SWISH_PAYEE_ALIAS: '1234679304',
    };
    const run = await skerryDoctor(broken);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/skerry: \d+ check\(s\) failed/);
    const checks = byName(JSON.parse(run.stdout) as DoctorCheck[]);
    expect(checks['stripe: credentials']).toMatchObject({ ok: false, detail: expect.stringMatching(/^authentication: /) });
    expect(checks['public URL']).toMatchObject({ ok: false, detail: expect.stringContaining('PUBLIC_URL is http://skerry.example.com') });
    expect(checks['swish: callback URL']).toMatchObject({ ok: false, detail: expect.stringContaining('SWISH_CALLBACK_BASE_URL') });
    expect(checks['mobilepay: return URL']).toMatchObject({ ok: false });
    expect(checks['swish: certificate matches payee alias']).toMatchObject({ ok: false, detail: expect.stringContaining('CN 9999999999') });
    expect(checks['swish: credentials']!.ok).toBe(false);
    expect(checks['mobilepay: webhook registered']).toMatchObject({
      ok: false,
      detail: expect.stringContaining('goes to http://skerry.example.com/webhooks/mobilepay'),
    });
    // What the sandbox can answer for stays green.
    expect(checks['paypal: credentials']!.ok).toBe(true);
    expect(checks['mobilepay: credentials']!.ok).toBe(true);
  });

  it('reports a configuration the start would refuse as one failed line: http PUBLIC_URL with the real Vipps API', async () => {
    const checks = await doctor({
      ...goodEnv,
      PUBLIC_URL: 'http://skerry.example.com',
      MOBILEPAY_API_BASE: 'https://apitest.vipps.no',
      MOBILEPAY_CLIENT_ID: 'client',
      MOBILEPAY_CLIENT_SECRET: 'secret',
      MOBILEPAY_SUBSCRIPTION_KEY: 'subscription',
      MOBILEPAY_MSN: '123456',
      MOBILEPAY_WEBHOOK_SECRET: 'an-own-secret',
      TOKEN_ENCRYPTION_KEY: 'ZkHKoPubu/KO7S0Io3wktyB1E3dexgkOyn7XmyAtCWF=',
    });
    expect(checks).toEqual([{ name: 'configuration', ok: false, detail: expect.stringContaining('MOBILEPAY_RETURN_URL: must be https') }]);
  });
});
