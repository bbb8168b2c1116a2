// Temporal connection settings through @temporalio/envconfig: Temporal Cloud with an API key,
// mTLS from files, a temporal.toml profile, and nothing extra for the dev server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skerry-envconfig-'));
  await writeFile(join(dir, 'client.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  await writeFile(join(dir, 'client.key'), '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
  await writeFile(
    join(dir, 'temporal.toml'),
    [
      '[profile.default]',
      'address = "localhost:7233"',
      '',
      '[profile.prod]',
      'address = "skerry.a1b2c.tmprl.cloud:7233"',
      'namespace = "skerry.a1b2c"',
      '',
      '[profile.prod.tls]',
      `client_cert_path = "${join(dir, 'client.pem')}"`,
      `client_key_path = "${join(dir, 'client.key')}"`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const production = {
  APP_ENV: 'production',
  DATABASE_URL: 'postgres://skerry:pw@db:5432/skerry',
  STRIPE_SECRET_KEY: 'sk_live_abc',
  STRIPE_WEBHOOK_SECRET: 'whsec_abc',
  TOKEN_ENCRYPTION_KEY: 'ef'.repeat(32),
};

describe('Temporal connection configuration', () => {
  it('adds nothing for a plain address (dev server, unsecured cluster)', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: '127.0.0.1:7233' });
    expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', connection: {} });
  });

  it('connects to Temporal Cloud with an API key (TLS on)', () => {
    const config = loadConfig({
      ...production,
      TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'skerry.a1b2c',
      TEMPORAL_API_KEY: 'tmprl-api-key',
    });
    expect(config.temporal).toMatchObject({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      namespace: 'skerry.a1b2c',
      connection: { apiKey: 'tmprl-api-key', tls: true },
    });
  });

  it('reads mTLS client certificates from the TEMPORAL_TLS_* variables', () => {
    const config = loadConfig({
      ...production,
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    const tls = config.temporal.connection.tls as { clientCertPair?: { crt: Buffer; key: Buffer }; serverNameOverride?: string };
    expect(tls.serverNameOverride).toBe('temporal.internal');
    expect(tls.clientCertPair?.crt.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls.clientCertPair?.key.toString()).toContain('BEGIN PRIVATE KEY');
  });

  it('takes address, namespace and TLS from a temporal.toml profile; TEMPORAL_ADDRESS still wins', () => {
    const fromProfile = loadConfig({ ...production, TEMPORAL_CONFIG_FILE: join(dir, 'temporal.toml'), TEMPORAL_PROFILE: 'prod' });
    expect(fromProfile.temporal).toMatchObject({ address: 'skerry.a1b2c.tmprl.cloud:7233', namespace: 'skerry.a1b2c' });
    expect((fromProfile.temporal.connection.tls as { clientCertPair?: unknown }).clientCertPair).toBeDefined();
    const overridden = loadConfig({ ...production, TEMPORAL_CONFIG_FILE: join(dir, 'temporal.toml'), TEMPORAL_PROFILE: 'prod', TEMPORAL_ADDRESS: 'other:7233' });
    expect(overridden.temporal.address).toBe('other:7233');
  });

  it('names the problem when a profile or a certificate is missing', () => {
    expect(() => loadConfig({ ...production, TEMPORAL_CONFIG_FILE: join(dir, 'temporal.toml'), TEMPORAL_PROFILE: 'nope' })).toThrow(
      /TEMPORAL_CONFIG_FILE \/ TEMPORAL_PROFILE: Profile 'nope' not found/,
    );
    expect(() =>
      loadConfig({ ...production, TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'missing.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key') }),
    ).toThrow(ConfigError);
  });

  it('reads the worker metrics ports, and `off`', () => {
    expect(loadConfig({}).metrics).toEqual({ workerHost: '127.0.0.1', workerPort: 9464, workerTemporalPort: 9465 });
    expect(loadConfig({ WORKER_METRICS_PORT: 'off', WORKER_TEMPORAL_METRICS_PORT: '9999', WORKER_METRICS_HOST: '0.0.0.0' }).metrics).toEqual({
      workerHost: '0.0.0.0',
      workerPort: undefined,
      workerTemporalPort: 9999,
    });
  });
});
