// Key material (security/): one HKDF subkey per use, key ids on everything sealed or encrypted, the
// previous key readable during a rotation, the key-id-less v1 format still readable; the payload codec
// and its HTTP endpoint; and when configuration insists on a key of the deployment's own.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { CHANNEL_SANDBOX_DEFAULTS, loadConfig } from '../../config';
import { deriveKeyRing, deriveSubKey, masterKeys } from '../../security/keys';
import { createSealer, SealedValueError } from '../../security/sealing';
import { createPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../security/payload-codec';
import { codecRoutes } from '../../api/routes/codec';
import { installRequestLogging } from '../../api/request-log';
import { createLogger } from '../../observability/logger';
import { sealV1 } from '../support/sealed-v1';

const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('base64');

/** RFC 5869 written out with HMAC, to hold security/keys.ts to the standard rather than to itself. */
function rfc5869(ikm: Buffer, salt: Buffer, info: string, length: number): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  let block = Buffer.alloc(0);
  const out: Buffer[] = [];
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    block = createHmac('sha256', prk).update(Buffer.concat([block, Buffer.from(info), Buffer.from([i])])).digest();
    out.push(block);
  }
  return Buffer.concat(out).subarray(0, length);
}

describe('HKDF subkeys', () => {
  it('derives one subkey per use with HKDF-SHA256, none equal to the master key or to each other', () => {
    const [master] = masterKeys(NEW);
    const subKeys = (['token-sealing', 'payload-codec'] as const).map((purpose) => deriveSubKey(master!, purpose));
    expect(subKeys[0]!.key).toEqual(rfc5869(master!, Buffer.from('skerry key derivation'), 'skerry token-sealing v1', 32));
    expect(subKeys[1]!.key).toEqual(rfc5869(master!, Buffer.from('skerry key derivation'), 'skerry payload-codec v1', 32));
    const distinct = new Set([master!.toString('hex'), ...subKeys.map((subKey) => subKey.key.toString('hex'))]);
    expect(distinct.size).toBe(3);
  });

  it('names each subkey by a short hash of itself, stable across processes', () => {
    const ring = deriveKeyRing({ current: NEW, previous: OLD }, 'token-sealing');
    expect(ring.current.id).toMatch(/^[0-9a-f]{12}$/);
    expect(ring.current.id).toBe(createHash('sha256').update(ring.current.key).digest('hex').slice(0, 12));
    expect(deriveKeyRing(NEW, 'token-sealing').current.id).toBe(ring.current.id);
    expect(ring.readable.map((subKey) => subKey.id)).toEqual([ring.current.id, deriveKeyRing(OLD, 'token-sealing').current.id]);
    expect(deriveKeyRing(NEW, 'payload-codec').current.id).not.toBe(ring.current.id);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => createSealer(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
  });
});

describe('sealing', () => {
  it('seals with the current key id, bound to its row and use, and refuses an altered value', () => {
    const sealer = createSealer(NEW);
    const sealed = sealer.seal('at_secret', 'oauth:paypal:access');
    const [version, keyId, iv, data, tag] = sealed.split(':');
    expect(version).toBe('v2');
    expect(keyId).toBe(sealer.keyId);
    expect([iv, data, tag].every((part) => /^[A-Za-z0-9_-]+$/.test(part!))).toBe(true);
    expect(sealed).not.toContain('at_secret');
    expect(sealer.open(sealed, 'oauth:paypal:access')).toBe('at_secret');
    expect(() => sealer.open(sealed, 'oauth:paypal:refresh')).toThrow(SealedValueError);
    const flipped = Buffer.from(data!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => sealer.open([version, keyId, iv, flipped.toString('base64url'), tag].join(':'), 'oauth:paypal:access')).toThrow(SealedValueError);
    expect(sealer.seal('at_secret', 'c')).not.toBe(sealer.seal('at_secret', 'c'));
  });

  it('opens what the previous key sealed during a rotation, and only with it configured', () => {
    const before = createSealer(OLD).seal('rt_secret', 'airbnb:h1:refresh');
    const during = createSealer({ current: NEW, previous: OLD });
    expect(during.open(before, 'airbnb:h1:refresh')).toBe('rt_secret');
    expect(during.isCurrent(before)).toBe(false);
    expect(during.isCurrent(during.seal('rt_secret', 'airbnb:h1:refresh'))).toBe(true);
    expect(() => createSealer(NEW).open(before, 'airbnb:h1:refresh')).toThrow(/neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS/);
  });

  it('still opens the v1 format (no key id) with either master key, and never counts it current', () => {
    const legacy = sealV1(OLD, 'at_legacy', 'oauth:mobilepay:access');
    expect(createSealer({ current: NEW, previous: OLD }).open(legacy, 'oauth:mobilepay:access')).toBe('at_legacy');
    expect(createSealer(OLD).open(legacy, 'oauth:mobilepay:access')).toBe('at_legacy');
    expect(createSealer(OLD).isCurrent(legacy)).toBe(false);
    expect(() => createSealer(NEW).open(legacy, 'oauth:mobilepay:access')).toThrow(SealedValueError);
    expect(() => createSealer(NEW).open('plain-token', 'x')).toThrow(/not a sealed value/);
  });
});

describe('payload codec', () => {
  const guest = { guest: { name: 'Astrid Lindqvist', email: 'astrid@example.se' }, clientSecret: 'pi_123_secret_456' };
  const plain = () => defaultPayloadConverter.toPayload(guest);
  const text = (payload: Payload) => Buffer.concat([...Object.values(payload.metadata ?? {}), payload.data ?? new Uint8Array()].map((bytes) => Buffer.from(bytes!))).toString('latin1');

  it('encrypts the whole payload with AES-256-GCM and names the key in the metadata', async () => {
    const codec = createPayloadCodec(NEW);
    const [encrypted] = await codec.encode([plain()]);
    expect(Buffer.from(encrypted!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(encrypted!.metadata![KEY_ID_METADATA]!).toString()).toBe(deriveKeyRing(NEW, 'payload-codec').current.id);
    for (const value of ['Astrid', 'astrid@example.se', 'pi_123_secret_456', 'json/plain']) expect(text(encrypted!)).not.toContain(value);
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(guest);
  });

  it('passes payloads it did not encrypt through untouched (histories recorded before the codec)', async () => {
    const payload = plain();
    const [decoded] = await createPayloadCodec(NEW).decode([payload]);
    expect(decoded).toBe(payload);
  });

  it('decodes what the previous key encrypted during a rotation; without that key it says which key is missing', async () => {
    const [old] = await createPayloadCodec(OLD).encode([plain()]);
    const [decoded] = await createPayloadCodec({ current: NEW, previous: OLD }).decode([old!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(guest);
    await expect(createPayloadCodec(NEW).decode([old!])).rejects.toThrow(new RegExp(deriveKeyRing(OLD, 'payload-codec').current.id));
  });

  it('refuses an altered payload', async () => {
    const [encrypted] = await createPayloadCodec(NEW).encode([plain()]);
    const data = Buffer.from(encrypted!.data!);
    data[20] = data[20]! ^ 1;
    await expect(createPayloadCodec(NEW).decode([{ ...encrypted!, data }])).rejects.toThrow(/does not decrypt/);
  });
});

describe('codec endpoint (Temporal codec server protocol)', () => {
  const toJson = (payload: Payload) => ({
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value!).toString('base64')])),
    data: Buffer.from(payload.data!).toString('base64'),
  });

  async function app(lines: string[]) {
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    const server = Fastify({ loggerInstance: logger as FastifyBaseLogger });
    // As the admin door compiles its routes' zod schemas (api/app.ts).
    server.setValidatorCompiler(validatorCompiler);
    server.setSerializerCompiler(serializerCompiler);
    installRequestLogging(server);
    await server.register(codecRoutes, { codec: createPayloadCodec(NEW) });
    return server;
  }

  it('encodes and decodes payloads as JSON with base64 bytes, and keeps them out of the debug log', async () => {
    const lines: string[] = [];
    const server = await app(lines);
    const secret = 'astrid@example.se';
    const original = toJson(defaultPayloadConverter.toPayload({ email: secret }));
    const encoded = await server.inject({ method: 'POST', url: '/codec/encode', headers: { 'x-namespace': 'default' }, payload: { payloads: [original] } });
    expect(encoded.statusCode).toBe(200);
    const encrypted = encoded.json().payloads[0];
    expect(Buffer.from(encrypted.metadata.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const decoded = await server.inject({ method: 'POST', url: '/codec/decode', headers: { 'x-namespace': 'default' }, payload: { payloads: [encrypted] } });
    expect(decoded.statusCode).toBe(200);
    expect(decoded.json()).toEqual({ payloads: [original] });
    expect(lines.length).toBeGreaterThan(0);
    const log = lines.join('\n');
    for (const value of [secret, original.data, encrypted.data]) expect(log).not.toContain(value);
    await server.close();
  });

  it('answers 400 to a body that is not a list of payloads, 422 to a payload no key opens', async () => {
    const server = await app([]);
    expect((await server.inject({ method: 'POST', url: '/codec/decode', payload: { payload: [] } })).statusCode).toBe(400);
    expect((await server.inject({ method: 'POST', url: '/codec/decode', headers: { 'content-type': 'application/json' }, payload: 'not json' })).statusCode).toBe(400);
    const [foreign] = await createPayloadCodec(OLD).encode([defaultPayloadConverter.toPayload('x')]);
    const refused = await server.inject({ method: 'POST', url: '/codec/decode', payload: { payloads: [toJson(foreign!)] } });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ error: 'undecodable_payload' });
    await server.close();
  });
});

describe('TOKEN_ENCRYPTION_KEY in configuration', () => {
  const KEY = 'ab'.repeat(32);
  const production = {
    APP_ENV: 'production',
    TEMPORAL_ADDRESS: 'temporal:7233',
    DATABASE_URL: 'postgres://u@db:5432/skerry',
    STRIPE_SECRET_KEY: 'sk_live_abc',
    STRIPE_WEBHOOK_SECRET: 'whsec_live',
  };
  const paypal = { PAYPAL_CLIENT_ID: 'id', PAYPAL_CLIENT_SECRET: 's', PAYPAL_WEBHOOK_ID: 'WH1' };
  const mobilepay = { MOBILEPAY_CLIENT_ID: 'id', MOBILEPAY_CLIENT_SECRET: 's', MOBILEPAY_SUBSCRIPTION_KEY: 'k', MOBILEPAY_MSN: '123456', MOBILEPAY_WEBHOOK_SECRET: 'w', MOBILEPAY_RETURN_URL: 'https://shop.example/r' };
  const airbnb = { AIRBNB_CLIENT_ID: 'id', AIRBNB_CLIENT_SECRET: 's', AIRBNB_WEBHOOK_SECRET: 'w' };

  it('uses the published development key only while every OAuth provider talks to the sandbox', () => {
    expect(loadConfig({}).channels.tokenEncryptionKey).toEqual({ current: CHANNEL_SANDBOX_DEFAULTS.tokenEncryptionKey });
    // Real credentials pointed at Skerry's own sandbox are still the sandbox.
    expect(loadConfig({ ...paypal, PAYPAL_API_BASE: 'http://127.0.0.1:4010/paypal' }).channels.tokenEncryptionKey.current).toBe(CHANNEL_SANDBOX_DEFAULTS.tokenEncryptionKey);
    // Outside development the key encrypts workflow payloads too: never the published one.
    expect(() => loadConfig(production)).toThrow(/TOKEN_ENCRYPTION_KEY: required when APP_ENV=production/);
    expect(() => loadConfig({ ...production, APP_ENV: 'staging', STRIPE_SECRET_KEY: 'sk_test_abc' })).toThrow(/TOKEN_ENCRYPTION_KEY: required when APP_ENV=staging/);
    expect(loadConfig({ ...production, TOKEN_ENCRYPTION_KEY: KEY }).channels.tokenEncryptionKey.current).toBe(Buffer.from(KEY, 'hex').toString('base64'));
  });

  it('stops the start, naming the variable and the provider, when an OAuth provider calls a real API', () => {
    expect(() => loadConfig(paypal)).toThrow(/TOKEN_ENCRYPTION_KEY: required .*PayPal at https:\/\/api-m\.sandbox\.paypal\.com/);
    expect(() => loadConfig({ ...production, ...paypal })).toThrow(/TOKEN_ENCRYPTION_KEY: required .*PayPal at https:\/\/api-m\.paypal\.com/);
    expect(() => loadConfig({ ...production, ...mobilepay })).toThrow(/TOKEN_ENCRYPTION_KEY: required .*MobilePay/);
    expect(() => loadConfig({ ...production, ...airbnb })).toThrow(/TOKEN_ENCRYPTION_KEY: required .*Airbnb at https:\/\/api\.airbnb\.com/);
    expect(() => loadConfig({ AIRBNB_API_BASE: 'https://api.airbnb.com' })).toThrow(/TOKEN_ENCRYPTION_KEY: required .*Airbnb/);
    const configured = loadConfig({ ...production, ...paypal, ...mobilepay, ...airbnb, TOKEN_ENCRYPTION_KEY: KEY });
    expect(configured.channels.tokenEncryptionKey).toEqual({ current: Buffer.from(KEY, 'hex').toString('base64') });
  });

  it('reads TOKEN_ENCRYPTION_KEY_PREVIOUS during a rotation, never without the new key', () => {
    const previous = randomBytes(32).toString('base64');
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_ENCRYPTION_KEY_PREVIOUS: previous }).channels.tokenEncryptionKey).toEqual({
      current: Buffer.from(KEY, 'hex').toString('base64'),
      previous,
    });
    expect(() => loadConfig({ TOKEN_ENCRYPTION_KEY_PREVIOUS: previous })).toThrow(/TOKEN_ENCRYPTION_KEY_PREVIOUS/);
    expect(() => loadConfig({ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_ENCRYPTION_KEY_PREVIOUS: 'short' })).toThrow(/TOKEN_ENCRYPTION_KEY_PREVIOUS/);
  });
});
