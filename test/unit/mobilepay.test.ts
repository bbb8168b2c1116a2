// The Vipps MobilePay adapter without a network: webhook HMAC verification (checked against the
// example in the Webhooks API documentation), event and state mapping, error classification, the
// access token cache, references and configuration.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config';
import { AccessTokenCache } from '../../providers/mobilepay/api';
import { classifyMobilePayResponse, paymentIdFromReference, referenceForPayment, snapshotFromPayment, toMsisdn, wireIdempotencyKey, type EPaymentView } from '../../providers/mobilepay/wire';
import { cachedWebhookSecrets } from '../../store/provider-webhooks';
import { contentHash, createMobilePayWebhookVerifier, normalizeEPaymentEvent, signatureFor, type EPaymentWebhookEvent } from '../../providers/mobilepay/webhooks';
import { ProviderError } from '../../providers/errors';
import { WebhookVerificationError, type IncomingWebhook } from '../../providers/types';
import { webhookHeaders } from '../../sandbox/mobilepay/signing';

const OLD = 'old-registration-secret';
const NEW = 'new-registration-secret';
const HOST = 'skerry.example:3000';
const PATH = '/webhooks/mobilepay';

const event = (overrides: Partial<EPaymentWebhookEvent> = {}): EPaymentWebhookEvent => ({
  msn: '123456',
  reference: 'pay-0123456789abcdef01234567',
  pspReference: 'psp-1',
  name: 'AUTHORIZED',
  amount: { currency: 'NOK', value: 49_900 },
  timestamp: '2025-01-02T10:00:00.000Z',
  idempotencyKey: null,
  success: true,
  ...overrides,
});

/** A request as Vipps MobilePay sends it, signed (independently of the verifier) by the sandbox's signer. */
function signed(body: string, secret: string, date = new Date()): IncomingWebhook {
  return { rawBody: Buffer.from(body), headers: { ...webhookHeaders(`http://${HOST}${PATH}`, body, secret, date), host: HOST }, url: PATH };
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('MobilePay webhook authentication', () => {
  const verifier = createMobilePayWebhookVerifier({ secrets: () => [NEW], toleranceSeconds: 300 });

  it('computes the documented example exactly', () => {
    // developer.vippsmobilepay.com/docs/APIs/webhooks-api/request-authentication
    const secret = 'A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==';
    const body = JSON.stringify({ 'some-unique-content': 'ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world' });
    const date = 'Thu, 30 Mar 2023 08:38:32 GMT';
    const hash = contentHash(body);
    expect(hash).toBe('lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=');
    expect(signatureFor(secret, '/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63', date, 'webhook.site', hash)).toBe('agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=');
    // The sandbox's signer produces the same headers for the same request.
    expect(webhookHeaders('https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63', body, secret, new Date(date))).toMatchObject({
      'x-ms-date': date,
      'x-ms-content-sha256': hash,
      authorization: 'HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=',
    });
  });

  it('accepts a correctly signed event and normalizes it', async () => {
    const [verified] = await verifier.verify(signed(JSON.stringify(event()), NEW));
    expect(verified).toMatchObject({
      provider: 'mobilepay',
      eventId: 'pay-0123456789abcdef01234567:AUTHORIZED:psp-1',
      eventType: 'epayments.payment.authorized.v1',
      paymentId: 'pay_0123456789abcdef01234567',
      providerReference: 'pay-0123456789abcdef01234567',
      delivery: 'observation',
      observation: { status: 'requires_capture', amountAuthorized: 49_900, source: 'webhook', occurredAt: '2025-01-02T10:00:00.000Z' },
    });
    expect(verified!.adopt).toBeUndefined();
  });

  it('refuses a tampered body, a wrong secret and a signature for another path or host', async () => {
    const good = signed(JSON.stringify(event()), NEW);
    const tampered = { ...good, rawBody: Buffer.from(JSON.stringify(event({ amount: { currency: 'NOK', value: 1 } }))) };
    expect(await outcome(verifier.verify(tampered))).toBe('bad_signature');
    // Body and content hash replaced together: the HMAC no longer matches.
    const rehashed = { ...tampered, headers: { ...tampered.headers, 'x-ms-content-sha256': contentHash(tampered.rawBody) } };
    expect(await outcome(verifier.verify(rehashed))).toBe('bad_signature');
    expect(await outcome(verifier.verify(signed(JSON.stringify(event()), 'someone-else')))).toBe('bad_signature');
    expect(await outcome(verifier.verify({ ...good, url: '/webhooks/stripe' }))).toBe('bad_signature');
    expect(await outcome(verifier.verify({ ...good, headers: { ...good.headers, host: 'evil.example' } }))).toBe('bad_signature');
  });

  it('refuses missing and malformed headers', async () => {
    const good = signed(JSON.stringify(event()), NEW);
    for (const name of ['authorization', 'x-ms-date', 'x-ms-content-sha256']) {
      const headers = { ...good.headers };
      delete headers[name];
      expect(await outcome(verifier.verify({ ...good, headers })), name).toBe('missing_signature');
    }
    const headers = { ...good.headers };
    delete headers.host;
    expect(await outcome(verifier.verify({ ...good, headers }))).toBe('unverifiable');
    expect(await outcome(verifier.verify({ ...good, headers: { ...good.headers, authorization: 'Bearer abc' } }))).toBe('malformed');
    expect(await outcome(verifier.verify({ ...good, headers: { ...good.headers, 'x-ms-date': 'yesterday' } }))).toBe('malformed');
  });

  it('refuses a stale or future-dated request, within the tolerance accepts it', async () => {
    const body = JSON.stringify(event());
    const now = new Date('2025-01-02T10:00:00Z');
    const at = (offsetSeconds: number) => ({ ...signed(body, NEW, new Date(now.getTime() + offsetSeconds * 1000)), now });
    expect(await outcome(verifier.verify(at(-301)))).toBe('stale');
    expect(await outcome(verifier.verify(at(301)))).toBe('stale');
    expect(await outcome(verifier.verify(at(-299)))).toBe('accepted');
  });

  it('accepts both secrets during a rotation, and only the configured ones', async () => {
    let secrets: string[] = [OLD];
    const rotating = createMobilePayWebhookVerifier({ secrets: () => secrets, toleranceSeconds: 300 });
    const body = JSON.stringify(event());
    expect(await outcome(rotating.verify(signed(body, OLD)))).toBe('accepted');
    expect(await outcome(rotating.verify(signed(body, NEW)))).toBe('bad_signature');
    secrets = [OLD, NEW];
    expect(await outcome(rotating.verify(signed(body, OLD)))).toBe('accepted');
    expect(await outcome(rotating.verify(signed(body, NEW)))).toBe('accepted');
    secrets = [NEW];
    expect(await outcome(rotating.verify(signed(body, OLD)))).toBe('bad_signature');
  });

  it('accepts the secrets of stored registrations, reading them again (at most once a second) when none matched', async () => {
    let stored: string[] = [];
    let loads = 0;
    let clock = 0;
    const storedSecrets = cachedWebhookSecrets(
      async () => {
        loads += 1;
        return stored;
      },
      { ttlMs: 30_000, minRefreshMs: 1_000, now: () => clock },
    );
    const registered = createMobilePayWebhookVerifier({ secrets: () => [], toleranceSeconds: 300, storedSecrets });
    const body = JSON.stringify(event());
    expect(await outcome(registered.verify(signed(body, NEW)))).toBe('bad_signature');
    expect(loads).toBe(1);
    // A registration made now: within the refresh floor a forged or unknown signature costs no query.
    stored = [NEW];
    expect(await outcome(registered.verify(signed(body, NEW)))).toBe('bad_signature');
    expect(loads).toBe(1);
    clock = 1_000;
    expect(await outcome(registered.verify(signed(body, NEW)))).toBe('accepted');
    expect(loads).toBe(2);
    // Both registrations of a rotation verify; the cached answer serves until its time is up.
    stored = [NEW, OLD];
    clock = 31_001;
    expect(await outcome(registered.verify(signed(body, OLD)))).toBe('accepted');
    expect(await outcome(registered.verify(signed(body, NEW)))).toBe('accepted');
    expect(loads).toBe(3);
  });

  it('honours a configured host when a proxy rewrites Host', async () => {
    const proxied = createMobilePayWebhookVerifier({ secrets: () => [NEW], toleranceSeconds: 300, host: HOST });
    const request = signed(JSON.stringify(event()), NEW);
    expect(await outcome(proxied.verify({ ...request, headers: { ...request.headers, host: 'internal:8080' } }))).toBe('accepted');
  });

  it('refuses a signed body that is not an ePayment event', async () => {
    expect(await outcome(verifier.verify(signed('{"hello":"world"}', NEW)))).toBe('malformed');
    expect(await outcome(verifier.verify(signed('not json', NEW)))).toBe('malformed');
  });
});

describe('MobilePay event mapping', () => {
  it('turns lifecycle events into observations', () => {
    expect(normalizeEPaymentEvent(event({ name: 'CREATED' })).observation).toMatchObject({ status: 'created' });
    expect(normalizeEPaymentEvent(event({ name: 'ABORTED' })).observation).toMatchObject({ status: 'failed', failureReason: 'aborted by user' });
    expect(normalizeEPaymentEvent(event({ name: 'EXPIRED' })).observation).toMatchObject({ status: 'expired' });
    expect(normalizeEPaymentEvent(event({ name: 'TERMINATED' })).observation).toMatchObject({ status: 'canceled' });
  });

  it('sends captures and cancellations as hints: their amount is one modification, not the total', () => {
    expect(normalizeEPaymentEvent(event({ name: 'CAPTURED', amount: { currency: 'NOK', value: 100 } }))).toEqual({ delivery: 'hint' });
    expect(normalizeEPaymentEvent(event({ name: 'CANCELLED' }))).toEqual({ delivery: 'hint' });
    expect(normalizeEPaymentEvent(event({ name: 'AUTHORIZED', success: false }))).toEqual({ delivery: 'hint' });
    expect(normalizeEPaymentEvent(event({ name: 'SOMETHING_NEW' }))).toEqual({ delivery: 'none' });
  });

  it('names a refund by the Idempotency-Key of its request, as the adapter does', () => {
    const refunded = normalizeEPaymentEvent(event({ name: 'REFUNDED', amount: { currency: 'NOK', value: 500 }, idempotencyKey: 'skerry-pay_x-refund-1' }));
    expect(refunded.observation?.refund).toEqual({ refundId: 'skerry-pay_x-refund-1', amount: 500, status: 'succeeded' });
    const external = normalizeEPaymentEvent(event({ name: 'REFUNDED', pspReference: 'p9', idempotencyKey: null }));
    expect(external.observation?.refund?.refundId).toBe('psp-p9');
  });
});

describe('MobilePay payment mapping', () => {
  const nok = (value: number) => ({ currency: 'NOK' as const, value });
  const payment = (state: EPaymentView['state'], authorized = 0, captured = 0, cancelled = 0, refunded = 0, redirectUrl?: string): EPaymentView => ({
    reference: 'pay-abcdefabcdef',
    state,
    amount: nok(1000),
    redirectUrl,
    aggregate: { authorizedAmount: nok(authorized), capturedAmount: nok(captured), cancelledAmount: nok(cancelled), refundedAmount: nok(refunded) },
  });

  it('maps states and the aggregate to Skerry statuses', () => {
    expect(snapshotFromPayment(payment('CREATED', 0, 0, 0, 0, 'https://landing'))).toMatchObject({
      status: 'created',
      providerStatus: 'CREATED',
      nextAction: { type: 'redirect', url: 'https://landing' },
    });
    expect(snapshotFromPayment(payment('AUTHORIZED', 1000))).toMatchObject({ status: 'requires_capture', amountAuthorized: 1000, amountCaptured: 0 });
    expect(snapshotFromPayment(payment('AUTHORIZED', 1000, 400))).toMatchObject({ status: 'succeeded', amountCaptured: 400, nextAction: undefined });
    expect(snapshotFromPayment(payment('AUTHORIZED', 1000, 400, 600))).toMatchObject({ status: 'succeeded' });
    expect(snapshotFromPayment(payment('AUTHORIZED', 1000, 1000, 0, 300))).toMatchObject({ status: 'succeeded', amountRefunded: 300 });
    expect(snapshotFromPayment(payment('AUTHORIZED', 1000, 0, 1000))).toMatchObject({ status: 'canceled' });
    expect(snapshotFromPayment(payment('ABORTED'))).toMatchObject({ status: 'failed', failureReason: 'aborted by user' });
    expect(snapshotFromPayment(payment('EXPIRED'))).toMatchObject({ status: 'expired' });
    expect(snapshotFromPayment(payment('TERMINATED', 0, 0, 1000))).toMatchObject({ status: 'canceled' });
  });

  it('derives the reference from the payment id and back', () => {
    expect(referenceForPayment('pay_0123456789abcdef01234567')).toBe('pay-0123456789abcdef01234567');
    expect(paymentIdFromReference('pay-0123456789abcdef01234567')).toBe('pay_0123456789abcdef01234567');
    expect(paymentIdFromReference('acme-shop-123-order123abc')).toBeUndefined();
    expect(() => referenceForPayment('pay_x')).toThrow(ProviderError);
  });

  it('keeps short idempotency keys and hashes long ones stably', () => {
    expect(wireIdempotencyKey('skerry-pay_0123456789abcdef01234567-capture-1')).toBe('skerry-pay_0123456789abcdef01234567-capture-1');
    const long = `skerry-pay_${'a'.repeat(40)}-refund-12`;
    expect(wireIdempotencyKey(long)).toBe(wireIdempotencyKey(long));
    expect(wireIdempotencyKey(long)).toMatch(/^skerry-[0-9a-f]{40}$/);
  });
});

describe('MobilePay phone numbers', () => {
  it('sends the MSISDN ePayment wants: country code and number, digits only', () => {
    expect(toMsisdn('+47 123 45 678')).toBe('4712345678');
    expect(toMsisdn('0045 12 34 56 78')).toBe('4512345678');
    expect(toMsisdn('4712345678')).toBe('4712345678');
    expect(toMsisdn('+358 40 1234567')).toBe('358401234567');
    expect(toMsisdn('+46 70-123 45 67')).toBe('46701234567');
  });

  it('refuses what is not one, an invalid Norwegian number with its rule', () => {
    expect(() => toMsisdn('12345678')).toThrow(/"12345678" is not an MSISDN of 9 to 15 digits.*4712345678/);
    expect(() => toMsisdn('47123456789')).toThrow(/not a valid Norwegian number \(47 followed by 8 digits\)/);
    expect(() => toMsisdn('451234567')).toThrow(/not a valid Danish number/);
    expect(() => toMsisdn('47 abc 45 678')).toThrow(ProviderError);
    const refusal = (() => {
      try {
        return toMsisdn('47123');
      } catch (err) {
        return err;
      }
    })();
    expect(refusal).toMatchObject({ provider: 'mobilepay', kind: 'validation', retryable: false });
  });
});

describe('MobilePay error classification', () => {
  const problem = (status: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ type: `https://example/errors#e${status}`, title: 'T', detail: 'D', status, traceId: 'trace-1', ...extra });

  it('classifies problem JSON by status and keeps the type as the code', () => {
    const cases: [number, string, boolean][] = [
      [400, 'validation', false],
      [401, 'authentication', false],
      [403, 'authentication', false],
      [404, 'not_found', false],
      [409, 'conflict', false],
      [423, 'unavailable', true],
      [429, 'rate_limited', true],
      [500, 'unavailable', true],
      [503, 'unavailable', true],
    ];
    for (const [status, kind, retryable] of cases) {
      const error = classifyMobilePayResponse('capture_payment', status, {}, problem(status));
      expect(error, String(status)).toMatchObject({ provider: 'mobilepay', operation: 'capture_payment', kind, retryable, details: { httpStatus: status, code: `https://example/errors#e${status}` } });
    }
  });

  it('names the fields and the trace, reads Retry-After, and copes with non-problem bodies', () => {
    const error = classifyMobilePayResponse('create_payment', 400, {}, problem(400, { extraDetails: [{ name: 'amount.value', reason: 'too small' }] }));
    expect(error.message).toBe('T: D (amount.value: too small) [trace trace-1]');
    expect(classifyMobilePayResponse('get_payment', 429, { 'retry-after': '7' }, problem(429)).details.retryAfterMs).toBe(7_000);
    expect(classifyMobilePayResponse('get_payment', 401, {}, '{"statusCode":401,"message":"Access token expired"}').message).toBe('Access token expired');
    expect(classifyMobilePayResponse('access_token', 401, {}, '{"error":"unauthorized_client","error_description":"bad"}').message).toBe('unauthorized_client: bad');
    expect(classifyMobilePayResponse('get_payment', 502, {}, '<html>bad gateway</html>')).toMatchObject({ kind: 'unavailable', message: '<html>bad gateway</html>' });
  });
});

describe('MobilePay access token cache', () => {
  it('fetches once for concurrent callers, refreshes ahead of expiry, keeps a valid token when a refresh fails', async () => {
    let now = 1_000_000;
    let fetches = 0;
    let fail = false;
    let release: () => void = () => undefined;
    const cache = new AccessTokenCache(
      async () => {
        fetches += 1;
        const n = fetches;
        await new Promise<void>((resolve) => (release = resolve));
        if (fail) throw new Error('token endpoint down');
        return { value: `token-${n}`, expiresInMs: 3_600_000, fetchedAt: now };
      },
      () => now,
      300_000,
    );
    const waiting = Array.from({ length: 20 }, () => cache.get());
    release();
    expect(new Set(await Promise.all(waiting))).toEqual(new Set(['token-1']));
    expect(fetches).toBe(1);

    now += 3_600_000 - 300_000 - 1;
    expect(await cache.get()).toBe('token-1');
    now += 2;
    const refreshed = cache.get();
    release();
    expect(await refreshed).toBe('token-2');
    expect(fetches).toBe(2);

    now += 3_600_000 - 300_000 + 1;
    fail = true;
    const fallback = cache.get();
    release();
    expect(await fallback).toBe('token-2');
    now += 300_000;
    const expired = cache.get();
    release();
    await expect(expired).rejects.toThrow('token endpoint down');

    fail = false;
    const fresh = cache.get();
    release();
    expect(await fresh).toBe('token-5');
    cache.invalidate('not-the-token');
    expect(await cache.get()).toBe('token-5');
    cache.invalidate('token-5');
    const again = cache.get();
    release();
    expect(await again).toBe('token-6');
  });
});

describe('MobilePay configuration', () => {
  const production = {
    APP_ENV: 'production',
    TEMPORAL_ADDRESS: 'temporal:7233',
    DATABASE_URL: 'postgres://u@db:5432/skerry',
    STRIPE_SECRET_KEY: 'sk_live_abc',
    STRIPE_WEBHOOK_SECRET: 'whsec_live',
    MOBILEPAY_CLIENT_ID: 'client',
    MOBILEPAY_CLIENT_SECRET: 'secret',
    MOBILEPAY_SUBSCRIPTION_KEY: 'sub',
    MOBILEPAY_MSN: '654321',
    MOBILEPAY_WEBHOOK_SECRET: 'hook-old, hook-new',
    MOBILEPAY_RETURN_URL: 'https://shop.example/return?payment={paymentId}',
    // Real MobilePay tokens are sealed with a key of this deployment's own, never the published one.
    TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32),
  };

  it('runs development on the sandbox with the well-known test values', () => {
    const config = loadConfig({});
    expect(config.mobilepay).toMatchObject({
      sandboxed: true,
      apiBase: 'http://127.0.0.1:4010/mobilepay',
      merchantSerialNumber: '123456',
      returnUrl: 'http://127.0.0.1:3001/payments/{paymentId}/return',
      webhookToleranceSeconds: 300,
    });
    expect(config.mobilepay.webhookSecrets).toHaveLength(1);
  });

  /** The MobilePay variable a production configuration is refused for, or 'ok' when it loads. */
  const verdict = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
      return 'ok';
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return /\b(MOBILEPAY_[A-Z_]+)/.exec(err.message)?.[1] ?? err.message;
    }
  };

  it('requires the complete MobilePay settings outside development once MobilePay is configured', () => {
    expect(verdict(production)).toBe('ok');
    expect(loadConfig(production).mobilepay).toMatchObject({ enabled: true, sandboxed: false });
    // Without a client id MobilePay is simply not offered.
    expect(loadConfig({ ...production, MOBILEPAY_CLIENT_ID: '' }).mobilepay).toMatchObject({ enabled: false, sandboxed: false });
    for (const name of ['MOBILEPAY_CLIENT_SECRET', 'MOBILEPAY_RETURN_URL'] as const) {
      expect(verdict({ ...production, [name]: '' }), name).toBe(name);
    }
    // The webhook secret may come from `skerry mobilepay webhooks register` instead; the published
    // sandbox secret never stands in for a real API.
    expect(loadConfig({ ...production, MOBILEPAY_WEBHOOK_SECRET: '' }).mobilepay.webhookSecrets).toEqual([]);
    expect(verdict({ ...production, MOBILEPAY_API_BASE: 'https://apitest.vipps.no' })).toBe('MOBILEPAY_API_BASE');
  });

  it('uses real keys in development when given: the test environment, a secret rotation, the return URL', () => {
    const { APP_ENV: _env, TEMPORAL_ADDRESS: _t, DATABASE_URL: _d, STRIPE_SECRET_KEY: _s, STRIPE_WEBHOOK_SECRET: _w, ...keys } = production;
    const config = loadConfig(keys);
    expect(config.mobilepay).toMatchObject({ sandboxed: false, apiBase: 'https://apitest.vipps.no', clientId: 'client', merchantSerialNumber: '654321' });
    expect(config.mobilepay.returnUrl).toBe('https://shop.example/return?payment={paymentId}');
    expect(config.mobilepay.webhookSecrets).toEqual(['hook-old', 'hook-new']);
    expect(loadConfig({ ...keys, MOBILEPAY_API_BASE: 'https://api.vipps.no' }).mobilepay.apiBase).toBe('https://api.vipps.no');
  });

  it('stops when the real API is configured with an http return URL, naming MOBILEPAY_RETURN_URL', () => {
    const { APP_ENV: _env, TEMPORAL_ADDRESS: _t, DATABASE_URL: _d, STRIPE_SECRET_KEY: _s, STRIPE_WEBHOOK_SECRET: _w, ...keys } = production;
    expect(verdict({ ...production, MOBILEPAY_RETURN_URL: 'http://shop.example/return' })).toBe('MOBILEPAY_RETURN_URL');
    expect(verdict({ ...keys, MOBILEPAY_RETURN_URL: '' })).toBe('MOBILEPAY_RETURN_URL');
    expect(() => loadConfig({ ...keys, MOBILEPAY_RETURN_URL: '', PUBLIC_URL: 'http://shop.example' })).toThrow(/MOBILEPAY_RETURN_URL: must be https .*\(from PUBLIC_URL\)/);
    expect(loadConfig({ ...keys, MOBILEPAY_RETURN_URL: '', PUBLIC_URL: 'https://shop.example' }).mobilepay.returnUrl).toBe('https://shop.example/payments/{paymentId}/return');
    expect(verdict({ ...keys, MOBILEPAY_RETURN_URL: 'skerryapp://payments/{paymentId}' })).toBe('ok');
    // The sandbox lets loopback http through, as npm start uses it.
    expect(verdict({ ...keys, MOBILEPAY_RETURN_URL: '', MOBILEPAY_API_BASE: 'http://127.0.0.1:4010/mobilepay' })).toBe('ok');
  });

  it('names the variable that is invalid or missing', () => {
    expect(() => loadConfig({ MOBILEPAY_MSN: 'abc' })).toThrow(/MOBILEPAY_MSN/);
    expect(() => loadConfig({ MOBILEPAY_CLIENT_ID: 'client' })).toThrow(ConfigError);
    expect(() => loadConfig({ MOBILEPAY_CLIENT_ID: 'client', MOBILEPAY_CLIENT_SECRET: 's', MOBILEPAY_SUBSCRIPTION_KEY: 'k' })).toThrow(/MOBILEPAY_MSN/);
  });
});

