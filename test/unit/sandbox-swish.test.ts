// The Swish sandbox driven by the production client (createSwishClient) over real mutual TLS, with a
// callback receiver that runs the production verifier on every delivery. Waits are on conditions
// (the flush endpoint, vi.waitFor), never fixed sleeps.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import forge from 'node-forge';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../config';
import { ProviderError } from '../../providers/errors';
import { classifySwishTransportError } from '../../providers/swish/transport';
import { createSwishClient, type SwishClient, type SwishClientOptions } from '../../providers/swish/client';
import { instructionUuid, refundInstructionUuid } from '../../providers/swish/protocol';
import { createSwishWebhookVerifier } from '../../providers/swish/webhooks';
import type { CreateProviderPaymentRequest } from '../../providers/types';
import type { VerifiedWebhookEvent } from '../../domain/webhooks';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { ensureSwishSandboxCerts, generateSwishCertificates, type SwishSandboxCerts } from '../../sandbox/swish/certs';
import type { SwishSandbox } from '../../sandbox/swish/sandbox';
import { startSwishApiServer, startSwishSandbox, type SwishApiServer } from '../../sandbox/swish/server';
import type { PaymentRequest, Refund } from '../../sandbox/swish/store';
import { providerIdempotencyKey } from '../../domain/payments';

const PAYEE_ALIAS = '1234679304';

interface Received {
  url: string;
  body: { id: string; status: string; originalPaymentReference?: string };
  events?: VerifiedWebhookEvent[];
  rejected?: string;
}

/** The merchant's callback endpoint: every delivery goes through the production verifier. */
class Receiver {
  readonly received: Received[] = [];
  readonly app = Fastify();
  readonly verifier = createSwishWebhookVerifier();
  url = '';

  async start(): Promise<void> {
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    this.app.post('/webhooks/swish', async (request, reply) => {
      const rawBody = request.body as Buffer;
      const entry: Received = { url: request.url, body: JSON.parse(rawBody.toString('utf8')) as Received['body'] };
      this.received.push(entry);
      try {
        entry.events = await this.verifier.verify({ rawBody, headers: request.headers, url: request.url });
        return reply.code(200).send({ ok: true });
      } catch (err) {
        entry.rejected = (err as Error).message;
        return reply.code(400).send({ error: entry.rejected });
      }
    });
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.url = `http://127.0.0.1:${(this.app.server.address() as AddressInfo).port}/webhooks/swish`;
  }

  about(id: string): Received[] {
    return this.received.filter((entry) => entry.body.id === id);
  }
}

let certRoot: string;
let certDir: string;
let certs: SwishSandboxCerts;
let app: FastifyInstance;
let sandbox: SwishSandbox;
let api: SwishApiServer;
let controlBase = '';
let receiver: Receiver;
let client: SwishClient;
const clients: SwishClient[] = [];
let sequence = 0;

function newClient(overrides: Partial<SwishClientOptions> = {}): SwishClient {
  const made = createSwishClient({
    apiBase: api.apiBase,
    payeeAlias: PAYEE_ALIAS,
    // Files, as npm start hands them over; the CA inline, as an env variable may carry it.
    cert: certs.paths.clientCert,
    key: certs.paths.clientKey,
    ca: certs.caCert,
    callbackUrl: receiver.url,
    refundSettleWaitMs: 3_000,
    refundPollIntervalMs: 20,
    timeoutMs: 5_000,
    ...overrides,
  });
  clients.push(made);
  return made;
}

async function control<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${controlBase}/swish/_control${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function flush(): Promise<void> {
  const result = await control<{ drained: boolean }>('POST', '/webhooks/flush', { timeoutMs: 15_000, expedite: true });
  expect(result.body.drained).toBe(true);
}

async function state(): Promise<{ paymentRequests: PaymentRequest[]; refunds: Refund[]; counts: Record<string, unknown> }> {
  return (await control<{ paymentRequests: PaymentRequest[]; refunds: Refund[]; counts: Record<string, unknown> }>('GET', '/state')).body;
}

function paymentRequest(overrides: Partial<CreateProviderPaymentRequest> = {}): CreateProviderPaymentRequest {
  sequence += 1;
  const paymentId = `pay_swish_${process.pid}_${sequence}`;
  return {
    paymentId,
    amount: { value: 10_000, currency: 'SEK' },
    reference: `booking-${sequence}`,
    description: 'Cabin 3, 2 nights',
    captureMethod: 'automatic',
    idempotencyKey: providerIdempotencyKey.create(paymentId),
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** A paid payment request and its payment id (for refund idempotency keys). */
async function paidPayment(amount = 10_000): Promise<{ id: string; paymentId: string }> {
  const input = paymentRequest({ amount: { value: amount, currency: 'SEK' } });
  const created = await client.createPayment(input);
  expect((await control('POST', `/payments/${created.providerReference}/succeed`)).status).toBe(200);
  return { id: created.providerReference, paymentId: input.paymentId };
}

beforeAll(async () => {
  certRoot = await mkdtemp(join(tmpdir(), 'skerry-swish-data-'));
  certDir = join(certRoot, 'swish-sandbox');
  certs = await ensureSwishSandboxCerts(certDir, { payeeAlias: PAYEE_ALIAS });
  receiver = new Receiver();
  await receiver.start();
  app = await buildSandbox({
    stripe: { webhookUrl: '', webhookSecret: 'whsec_swish_unit' },
    swish: { refundStepMs: 25, simulatedOutcomeMs: 30, webhooks: { initialDelayMs: 20, maxDelayMs: 200 } },
  });
  controlBase = await app.listen({ host: '127.0.0.1', port: 0 });
  sandbox = sandboxHandles(app).swish;
  api = await startSwishApiServer(sandbox, { certDir });
  client = newClient();
});

afterAll(async () => {
  await Promise.allSettled(clients.map((made) => made.close()));
  await app?.close();
  await receiver?.app.close();
  if (certRoot) await rm(certRoot, { recursive: true, force: true });
});

beforeEach(async () => {
  await control('DELETE', '/faults');
});

describe('certificates', () => {
  it('are generated once into the data directory and reused', async () => {
    const again = await ensureSwishSandboxCerts(certDir, { payeeAlias: PAYEE_ALIAS });
    expect(again.caCert).toBe(certs.caCert);
    expect(again.clientCert).toBe(certs.clientCert);
    expect(again.paths.clientCert).toBe(join(certDir, 'client.pem'));
    // Another merchant number is another certificate set (in another directory here: the running
    // API server keeps the CA it started with).
    const elsewhere = await mkdtemp(join(tmpdir(), 'skerry-swish-certs-'));
    try {
      const first = await ensureSwishSandboxCerts(elsewhere, { payeeAlias: PAYEE_ALIAS });
      const other = await ensureSwishSandboxCerts(elsewhere, { payeeAlias: '1231111111' });
      expect(other.caCert).not.toBe(first.caCert);
      expect(other.clientCert).toContain('BEGIN CERTIFICATE');
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('configuration', () => {
  it('points the development client at the sandbox and the certificate files it generates', async () => {
    const port = new URL(api.url).port;
    const config = loadConfig({ DATA_DIR: certRoot, SANDBOX_SWISH_PORT: port, PUBLIC_URL: 'http://127.0.0.1:3999' });
    expect(config.swish).toMatchObject({
      sandboxed: true,
      apiBase: api.apiBase,
      payeeAlias: PAYEE_ALIAS,
      cert: certs.paths.clientCert,
      key: certs.paths.clientKey,
      ca: certs.paths.ca,
      callbackUrl: 'http://127.0.0.1:3999/webhooks/swish',
    });
    const configured = newClient({ ...config.swish, callbackUrl: receiver.url });
    const created = await configured.createPayment(paymentRequest());
    expect((await configured.getPayment(created.providerReference)).status).toBe('created');
  });

  it('stops when MSS or production is configured with an http callback URL, naming the variable', async () => {
    const mss = { SWISH_CERT: certs.paths.clientCert, SWISH_KEY: certs.paths.clientKey, SWISH_PAYEE_ALIAS: PAYEE_ALIAS, SWISH_API_BASE: 'https://mss.cpc.getswish.net/swish-cpcapi' };
    expect(() => loadConfig({ ...mss, PUBLIC_URL: 'http://shop.example' })).toThrow(/SWISH_CALLBACK_BASE_URL: must be https when Swish is called at https:\/\/mss\.cpc\.getswish\.net/);
    expect(() => loadConfig({ ...mss, SWISH_CALLBACK_BASE_URL: 'http://shop.example' })).toThrow(/SWISH_CALLBACK_BASE_URL/);
    expect(loadConfig({ ...mss, SWISH_CALLBACK_BASE_URL: 'https://shop.example' }).swish.callbackUrl).toBe('https://shop.example/webhooks/swish');
    // A .p12 carries its key: SWISH_KEY is not asked for.
    const p12 = join(certRoot, 'config-check.p12');
    await writeFile(p12, Buffer.from([0x30, 0x82]));
    expect(loadConfig({ SWISH_CERT: p12, SWISH_PAYEE_ALIAS: PAYEE_ALIAS, SWISH_CERT_PASSPHRASE: 'x', SWISH_CALLBACK_BASE_URL: 'https://shop.example' }).swish).toMatchObject({ cert: p12, passphrase: 'x' });
  });

  it('requires https callback URLs when the sandbox is told to, as real Swish does (RP03)', async () => {
    const strict = await startSwishSandbox({ requireHttpsCallbacks: true, api: { certs } });
    try {
      const strictClient = newClient({ apiBase: strict.apiBase });
      expect(await failure(strictClient.createPayment(paymentRequest()))).toMatchObject({ kind: 'validation', details: { code: 'RP03' } });
    } finally {
      await strict.close();
    }
  });
});

describe('refusals as Swish refuses them', () => {
  /** A PUT straight to the sandbox's API over mutual TLS, as MSS receives it. */
  const putRaw = async (body: Record<string, unknown>) => {
    const agent = new Agent({ connect: { cert: certs.clientCert, key: certs.clientKey, ca: certs.caCert } });
    try {
      const response = await request(`${api.apiBase}/api/v2/paymentrequests/${instructionUuid(`raw-${++sequence}`)}`, {
        method: 'PUT',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payeeAlias: PAYEE_ALIAS, amount: '100.00', currency: 'SEK', callbackUrl: receiver.url, ...body }),
      });
      return { status: response.statusCode, errors: (await response.body.text()) };
    } finally {
      await agent.close();
    }
  };

  it('refuses an http callback URL (RP03) except to a loopback host, and Skerry names the variable', async () => {
    expect(await putRaw({ callbackUrl: 'http://shop.example/webhooks/swish' })).toMatchObject({ status: 422, errors: expect.stringContaining('RP03') });
    expect((await putRaw({ callbackUrl: 'http://127.0.0.1:3001/webhooks/swish' })).status).toBe(201);
    expect((await putRaw({ callbackUrl: 'https://shop.example/webhooks/swish' })).status).toBe(201);

    const error = await failure(newClient({ callbackUrl: 'http://shop.example/webhooks/swish' }).createPayment(paymentRequest()));
    expect(error).toMatchObject({ kind: 'validation', retryable: false, details: { code: 'RP03', httpStatus: 422 } });
    expect(error.message).toMatch(/SWISH_CALLBACK_BASE_URL .*https/);
  });

  it('refuses a message outside its character set (RP02); Skerry normalises one it can spell, and refuses one it cannot', async () => {
    expect(await putRaw({ message: 'Hyttetur – «Ærø» #3' })).toMatchObject({ status: 422, errors: expect.stringContaining('RP02') });
    expect((await putRaw({ message: 'Stuga på Ängö: 2 nätter (frukost)!' })).status).toBe(201);

    const created = await client.createPayment(paymentRequest({ description: 'Hyttetur – «Ærø», café & crème 🏕️' }));
    const stored = (await state()).paymentRequests.find((entry) => entry.id === created.providerReference);
    expect(stored?.message).toBe('Hyttetur Ärö, cafe creme');

    const refused = await failure(client.createPayment(paymentRequest({ description: 'Экскурсия' })));
    expect(refused).toMatchObject({ kind: 'validation', provider: 'swish', details: { code: 'RP02' } });
    expect(refused.message).toMatch(/Экскурсия.*Swish allows a–ö, A–Ö, 0–9/);
  });

  it('accepts the merchant certificate as PKCS#12 (.p12 and passphrase), as Swish hands it out', async () => {
    const p12Path = join(certRoot, 'merchant.p12');
    const bundle = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(certs.clientKey.toString()), [forge.pki.certificateFromPem(certs.clientCert.toString())], 'swish-test', {
      algorithm: '3des',
    });
    await writeFile(p12Path, Buffer.from(forge.asn1.toDer(bundle).getBytes(), 'binary'));

    const fromP12 = newClient({ cert: p12Path, key: undefined, passphrase: 'swish-test' });
    const created = await fromP12.createPayment(paymentRequest());
    expect((await fromP12.getPayment(created.providerReference)).status).toBe('created');

    const wrongPassphrase = newClient({ cert: p12Path, key: undefined, passphrase: 'not-it' });
    const refused = await failure(wrongPassphrase.getPayment(created.providerReference));
    expect(refused).toMatchObject({ kind: 'authentication', retryable: false });
    expect(refused.message).toMatch(/PKCS#12 file in SWISH_CERT \(check SWISH_CERT_PASSPHRASE\)/);
  });
});

describe('mutual TLS', () => {
  it('refuses the handshake to a client without a certificate: a configuration error, not retried', async () => {
    const agent = new Agent({ connect: { ca: certs.caCert } });
    try {
      const error = await request(`${api.apiBase}/api/v1/paymentrequests/${instructionUuid('x')}`, { dispatcher: agent }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeDefined();
      const classified = classifySwishTransportError('retrieve_payment_request', error);
      expect(classified).toMatchObject({ kind: 'authentication', retryable: false });
    } finally {
      await agent.close();
    }
  });

  it('refuses a merchant certificate from another CA', async () => {
    const foreign = generateSwishCertificates({ payeeAlias: PAYEE_ALIAS });
    const rogue = newClient({ cert: foreign.clientCert, key: foreign.clientKey });
    const before = (await state()).paymentRequests.length;
    const error = await failure(rogue.createPayment(paymentRequest()));
    expect(['authentication', 'network']).toContain(error.kind);
    expect((await state()).paymentRequests).toHaveLength(before);
  });

  it('does not trust a server it has no CA for', async () => {
    const untrusting = newClient({ ca: undefined });
    expect(await failure(untrusting.getPayment(instructionUuid('nothing')))).toMatchObject({ kind: 'authentication', retryable: false });
  });

  it('names a missing certificate file as an authentication problem', async () => {
    const missing = newClient({ cert: join(certDir, 'nope.pem') });
    const error = await failure(missing.getPayment(instructionUuid('nothing')));
    expect(error).toMatchObject({ kind: 'authentication' });
    expect(error.message).toContain('nope.pem');
  });

  it('answers 403 when the payee alias is not the certificate’s merchant', async () => {
    const impostor = newClient({ payeeAlias: '1231111111' });
    expect(await failure(impostor.createPayment(paymentRequest()))).toMatchObject({ kind: 'authentication', details: { httpStatus: 403 } });
  });
});

describe('payment requests', () => {
  it('creates an m-commerce request with a PaymentRequestToken and an app link', async () => {
    const input = paymentRequest();
    const snapshot = await client.createPayment(input);
    expect(snapshot.providerReference).toBe(instructionUuid(input.idempotencyKey));
    expect(snapshot).toMatchObject({ status: 'created', providerStatus: 'CREATED', amountCaptured: 0 });
    expect(snapshot.nextAction?.type).toBe('swish_app');
    const action = snapshot.nextAction as { type: 'swish_app'; paymentRequestToken: string; url?: string };
    expect(action.url).toBe(`swish://paymentrequest?token=${encodeURIComponent(action.paymentRequestToken)}`);

    const stored = (await state()).paymentRequests.find((request) => request.id === snapshot.providerReference) as PaymentRequest & {
      sandbox: { paymentRequestToken: string };
    };
    expect(stored).toMatchObject({ amount: 100, currency: 'SEK', payeeAlias: PAYEE_ALIAS, payerAlias: null, payeePaymentReference: expect.stringMatching(/^booking\d+$/) });
    expect(stored.sandbox.paymentRequestToken).toBe(action.paymentRequestToken);
    expect(stored.callbackUrl).toBe(`${receiver.url}?payment=${snapshot.providerReference}`);
    expect(stored.message).toBe('Cabin 3, 2 nights');

    const retrieved = await client.getPayment(snapshot.providerReference);
    expect(retrieved).toMatchObject({ status: 'created', nextAction: { type: 'swish_app' } });
  });

  it('creates an e-commerce request for a payer alias, without a token', async () => {
    const snapshot = await client.createPayment(paymentRequest({ payer: { alias: '+46 70 111 22 33' } }));
    expect(snapshot.nextAction).toEqual({ type: 'swish_payer_alias', payerAlias: '46701112233' });
    const stored = (await state()).paymentRequests.find((request) => request.id === snapshot.providerReference) as PaymentRequest & {
      sandbox: { paymentRequestToken: string | null };
    };
    expect(stored.payerAlias).toBe('46701112233');
    expect(stored.sandbox.paymentRequestToken).toBeNull();
  });

  it('is idempotent: the same key names the same payment request, made once', async () => {
    const input = paymentRequest();
    const first = await client.createPayment(input);
    const second = await client.createPayment(input);
    expect(second.providerReference).toBe(first.providerReference);
    expect(second.nextAction).toEqual(first.nextAction);
    // Another process (no memory of the token) gets the same payment request too.
    const elsewhere = await newClient().createPayment(input);
    expect(elsewhere).toMatchObject({ providerReference: first.providerReference, status: 'created' });
    const matching = (await state()).paymentRequests.filter((request) => request.id === first.providerReference);
    expect(matching).toHaveLength(1);
    // The same UUID with other parameters is not taken for the same request.
    expect(await failure(client.createPayment({ ...input, amount: { value: 999, currency: 'SEK' } }))).toMatchObject({ kind: 'conflict' });
  });

  it('recovers a create whose answer was lost: the retry finds what the first PUT made', async () => {
    const input = paymentRequest();
    await control('POST', '/faults', { timeoutRate: 1, timeoutPhase: 'after', timeoutMs: 100 });
    const lost = await failure(client.createPayment(input));
    expect(lost.retryable).toBe(true);
    await control('DELETE', '/faults');
    const retried = await client.createPayment(input);
    expect(retried.providerReference).toBe(instructionUuid(input.idempotencyKey));
    expect((await state()).paymentRequests.filter((request) => request.id === retried.providerReference)).toHaveLength(1);
  });

  it('succeeds: the callback is only a hint, and retrieving shows the payment succeeded', async () => {
    const created = await client.createPayment(paymentRequest());
    const succeeded = await control<PaymentRequest>('POST', `/payments/${created.providerReference}/succeed`, { payerAlias: '46709998877' });
    expect(succeeded.body).toMatchObject({ status: 'PAID', payerAlias: '46709998877', paymentReference: expect.stringMatching(/^[0-9A-F]{32}$/) });
    await flush();

    const [callback] = receiver.about(created.providerReference);
    expect(callback?.body.status).toBe('PAID');
    expect(callback?.events).toEqual([
      expect.objectContaining({ eventId: `${created.providerReference}:PAID`, delivery: 'hint', providerReference: created.providerReference }),
    ]);
    expect(callback?.events?.[0]?.observation).toBeUndefined();

    const snapshot = await client.getPayment(created.providerReference);
    expect(snapshot).toMatchObject({ status: 'succeeded', providerStatus: 'PAID', amountCaptured: 10_000, amountRefunded: 0 });
    expect(snapshot.nextAction).toBeUndefined();
    // A second attempt to act as the payer is refused.
    expect((await control('POST', `/payments/${created.providerReference}/succeed`)).status).toBe(409);
  });

  it('declines', async () => {
    const created = await client.createPayment(paymentRequest());
    await control('POST', `/payments/${created.providerReference}/fail`);
    await flush();
    expect(receiver.about(created.providerReference).map((entry) => entry.body.status)).toEqual(['DECLINED']);
    expect(await client.getPayment(created.providerReference)).toMatchObject({ status: 'failed', providerStatus: 'DECLINED' });
  });

  it('fails with the error Swish reports (BankID cancelled)', async () => {
    const created = await client.createPayment(paymentRequest());
    await control('POST', `/payments/${created.providerReference}/fail`, { errorCode: 'BANKIDCL' });
    const snapshot = await client.getPayment(created.providerReference);
    expect(snapshot).toMatchObject({ status: 'failed', providerStatus: 'ERROR' });
    expect(snapshot.failureReason).toMatch(/^BANKIDCL: /);
  });

  it('simulates an outcome from an error code in the message, like the Merchant Swish Simulator', async () => {
    const created = await client.createPayment(paymentRequest({ description: 'RF07' }));
    await vi.waitFor(async () => expect((await client.getPayment(created.providerReference)).status).toBe('failed'), { timeout: 5_000, interval: 20 });
    expect((await client.getPayment(created.providerReference)).failureReason).toMatch(/^RF07: Transaction declined/);
  });

  it('expires: abandon answers ERROR TM01 at once, which is `expired`', async () => {
    const created = await client.createPayment(paymentRequest());
    const abandoned = await control<PaymentRequest>('POST', `/payments/${created.providerReference}/abandon`);
    expect(abandoned.body).toMatchObject({ status: 'ERROR', errorCode: 'TM01' });
    await flush();
    expect(receiver.about(created.providerReference)[0]?.events?.[0]).toMatchObject({ eventId: `${created.providerReference}:ERROR` });
    expect(await client.getPayment(created.providerReference)).toMatchObject({ status: 'expired', providerStatus: 'ERROR' });
  });

  it('expires on its own after the session timeout', async () => {
    const quick = await startSwishSandbox({ expiryMs: 80, api: { certs } });
    const quickClient = newClient({ apiBase: quick.apiBase });
    try {
      const created = await quickClient.createPayment(paymentRequest());
      await vi.waitFor(async () => expect((await quickClient.getPayment(created.providerReference)).status).toBe('expired'), {
        timeout: 5_000,
        interval: 25,
      });
      expect(quick.sandbox.state().paymentRequests[0]).toMatchObject({ status: 'ERROR', errorCode: 'TM01' });
    } finally {
      await quickClient.close();
      await quick.close();
    }
  });

  it('cancels with a JSON patch while CREATED; later the current state is the answer', async () => {
    const created = await client.createPayment(paymentRequest());
    const canceled = await client.cancelPayment({ providerReference: created.providerReference, idempotencyKey: 'k', reason: 'requested' });
    expect(canceled).toMatchObject({ status: 'canceled', providerStatus: 'CANCELLED' });
    // Again: Swish refuses (RP07), the client answers with the current state.
    expect(await client.cancelPayment({ providerReference: created.providerReference, idempotencyKey: 'k', reason: 'requested' })).toMatchObject({
      status: 'canceled',
    });
    await flush();
    expect(receiver.about(created.providerReference).map((entry) => entry.body.status)).toEqual(['CANCELLED']);

    const { id } = await paidPayment();
    expect(await client.cancelPayment({ providerReference: id, idempotencyKey: 'k', reason: 'expired' })).toMatchObject({ status: 'succeeded' });
    expect(await failure(client.cancelPayment({ providerReference: instructionUuid('missing'), idempotencyKey: 'k', reason: 'requested' }))).toMatchObject({
      kind: 'not_found',
    });
  });

  it('refuses what Swish refuses, with its codes', async () => {
    expect(await failure(client.createPayment(paymentRequest({ description: 'ACMT03' })))).toMatchObject({
      kind: 'validation',
      retryable: false,
      details: { httpStatus: 422, code: 'ACMT03' },
    });
    expect(await failure(client.createPayment(paymentRequest({ payer: { alias: '46700000000' } })))).toMatchObject({ details: { code: 'ACMT03' } });
    expect(await failure(client.createPayment(paymentRequest({ payer: { alias: '12' } })))).toMatchObject({ kind: 'validation', details: { code: 'BE18' } });
    // Only one active e-commerce request per payer.
    await client.createPayment(paymentRequest({ payer: { alias: '46705550000' } }));
    expect(await failure(client.createPayment(paymentRequest({ payer: { alias: '46705550000' } })))).toMatchObject({
      kind: 'conflict',
      details: { code: 'RP06' },
    });
    expect(await failure(client.createPayment(paymentRequest({ amount: { value: 100, currency: 'EUR' } })))).toMatchObject({ kind: 'validation' });
    expect(await failure(client.createPayment(paymentRequest({ captureMethod: 'manual' })))).toMatchObject({ kind: 'unsupported' });
    expect(await failure(client.getPayment(instructionUuid('never-made')))).toMatchObject({ kind: 'not_found', retryable: false });
  });

  it('classifies 429 and 5xx as retryable', async () => {
    const { id } = await paidPayment();
    await control('POST', '/faults', { rateLimitRate: 1, retryAfterSeconds: 2 });
    expect(await failure(client.getPayment(id))).toMatchObject({ kind: 'rate_limited', retryable: true, details: { httpStatus: 429, retryAfterMs: 2_000 } });
    await control('POST', '/faults', { errorRate: 1 });
    expect(await failure(client.getPayment(id))).toMatchObject({ kind: 'unavailable', retryable: true, details: { httpStatus: 500 } });
    await control('DELETE', '/faults');
    expect((await client.getPayment(id)).status).toBe('succeeded');
    const counts = (await state()).counts as { faultsInjected: { rateLimit: number; error: number } };
    expect(counts.faultsInjected.rateLimit).toBeGreaterThanOrEqual(1);
    expect(counts.faultsInjected.error).toBeGreaterThanOrEqual(1);
  });
});

describe('refunds', () => {
  it('refunds partially, then fully, through CREATED → VALIDATED → DEBITED → PAID', async () => {
    const { id, paymentId } = await paidPayment(10_000);
    const first = await client.refundPayment({
      providerReference: id,
      amount: 3_000,
      currency: 'SEK',
      idempotencyKey: providerIdempotencyKey.refund(paymentId, 1),
      reason: 'Early departure',
    });
    expect(first).toEqual({ refundId: refundInstructionUuid(id, 1), amount: 3_000, status: 'succeeded' });
    expect(await client.getPayment(id)).toMatchObject({ status: 'succeeded', amountCaptured: 10_000, amountRefunded: 3_000 });

    const second = await client.refundPayment({
      providerReference: id,
      amount: 7_000,
      currency: 'SEK',
      idempotencyKey: providerIdempotencyKey.refund(paymentId, 2),
    });
    expect(second).toMatchObject({ refundId: refundInstructionUuid(id, 2), status: 'succeeded' });
    const snapshot = await client.getPayment(id);
    expect(snapshot).toMatchObject({ amountRefunded: 10_000 });
    expect(snapshot.refunds.map((refund) => refund.status)).toEqual(['succeeded', 'succeeded']);

    // A process that never made these refunds finds them too (Swish cannot list them).
    expect(await newClient().getPayment(id)).toMatchObject({ amountRefunded: 10_000 });

    // Nothing is left: Swish refuses with RF08.
    expect(
      await failure(client.refundPayment({ providerReference: id, amount: 1, currency: 'SEK', idempotencyKey: providerIdempotencyKey.refund(paymentId, 3) })),
    ).toMatchObject({ kind: 'validation', details: { code: 'RF08' } });

    await flush();
    const refundCallbacks = receiver.about(first.refundId);
    expect(refundCallbacks.map((entry) => entry.body.status)).toEqual(['DEBITED', 'PAID']);
    for (const entry of refundCallbacks) {
      expect(entry.url).toContain(`payment=${id}`);
      expect(entry.events?.[0]).toMatchObject({ delivery: 'hint', providerReference: id, eventId: `${first.refundId}:${entry.body.status}` });
    }
  });

  it('is idempotent: the same refund key makes one refund', async () => {
    const { id, paymentId } = await paidPayment(5_000);
    const key = providerIdempotencyKey.refund(paymentId, 1);
    const first = await client.refundPayment({ providerReference: id, amount: 1_000, currency: 'SEK', idempotencyKey: key });
    const again = await newClient().refundPayment({ providerReference: id, amount: 1_000, currency: 'SEK', idempotencyKey: key });
    expect(again).toEqual(first);
    expect((await state()).refunds.filter((refund) => refund.id === first.refundId)).toHaveLength(1);
    expect(await failure(client.refundPayment({ providerReference: id, amount: 2_000, currency: 'SEK', idempotencyKey: key }))).toMatchObject({
      kind: 'conflict',
    });
  });

  it('answers pending while a refund has not settled, and finds it settled later', async () => {
    const { id, paymentId } = await paidPayment(5_000);
    await control('POST', '/faults', { holdRefunds: true });
    const impatient = newClient({ refundSettleWaitMs: 100 });
    const pending = await impatient.refundPayment({
      providerReference: id,
      amount: 2_000,
      currency: 'SEK',
      idempotencyKey: providerIdempotencyKey.refund(paymentId, 1),
    });
    expect(pending.status).toBe('pending');
    expect(await client.getPayment(id)).toMatchObject({ amountRefunded: 0, refunds: [{ refundId: pending.refundId, status: 'pending' }] });
    expect((await control('POST', `/refunds/${pending.refundId}/settle`)).status).toBe(200);
    expect(await client.getPayment(id)).toMatchObject({ amountRefunded: 2_000, refunds: [{ status: 'succeeded' }] });
  });

  it('reports a refund that ends in ERROR as failed, and its amount can be refunded again', async () => {
    const { id, paymentId } = await paidPayment(5_000);
    await control('POST', '/faults', { refundFailureRate: 1 });
    const failed = await client.refundPayment({ providerReference: id, amount: 5_000, currency: 'SEK', idempotencyKey: providerIdempotencyKey.refund(paymentId, 1) });
    expect(failed.status).toBe('failed');
    await control('DELETE', '/faults');
    const retried = await client.refundPayment({ providerReference: id, amount: 5_000, currency: 'SEK', idempotencyKey: providerIdempotencyKey.refund(paymentId, 2) });
    expect(retried.status).toBe('succeeded');
    expect(await client.getPayment(id)).toMatchObject({ amountRefunded: 5_000 });
  });

  it('refuses to refund a payment that is not paid', async () => {
    const created = await client.createPayment(paymentRequest());
    expect(
      await failure(client.refundPayment({ providerReference: created.providerReference, amount: 100, currency: 'SEK', idempotencyKey: 'skerry-x-refund-1' })),
    ).toMatchObject({ kind: 'conflict' });
  });
});

describe('controls', () => {
  it('answers 404 and 409 for payments it cannot act on, 400 for bad bodies', async () => {
    expect((await control('POST', `/payments/${instructionUuid('nope')}/succeed`)).status).toBe(404);
    const { id } = await paidPayment();
    expect((await control('POST', `/payments/${id}/abandon`)).status).toBe(409);
    expect((await control('POST', `/payments/${id}/fail`, { errorCode: 'lowercase' })).status).toBe(400);
    expect((await control('POST', '/faults', { errorRate: 2 })).status).toBe(400);
  });

  it('exposes the TLS files and resets', async () => {
    const tls = await control<{ apiBase: string; caPath: string }>('GET', '/tls');
    expect(tls.body).toMatchObject({ apiBase: api.apiBase, caPath: certs.paths.ca });
    await control('POST', '/reset');
    const after = await state();
    expect(after.paymentRequests).toEqual([]);
    expect(after.refunds).toEqual([]);
  });
});
