// The PayPal adapter's pure parts: amounts, the order → snapshot mapping, webhook normalization,
// error classification, and the verifier's handling of what it sends to and gets from PayPal.
import { ApiError, CheckoutPaymentIntent } from '@paypal/paypal-server-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmountError, fromPayPalValue, PAYPAL_CURRENCY_DECIMALS, toPayPalValue } from '../../providers/paypal/amounts';
import { buildOrderRequest, invoiceIdFor } from '../../providers/paypal/client';
import { loadConfig } from '../../config';
import type { PayPalConnection } from '../../providers/paypal/connection';
import { classifyPayPalError, providerErrorFromResponse } from '../../providers/paypal/errors';
import {
  capturableAuthorization,
  refundObservation,
  snapshotFromOrder,
  type PayPalCapture,
  type PayPalOrder,
  type PayPalRefund,
} from '../../providers/paypal/resources';
import { createPayPalWebhookVerifier, normalizePayPalEvent } from '../../providers/paypal/webhooks';
import { ProviderError } from '../../providers/errors';
import { WebhookVerificationError } from '../../providers/types';

const API = 'https://api-m.sandbox.paypal.com';
const money = (value: string, currency_code = 'SEK') => ({ currency_code, value });

const order = (overrides: Partial<PayPalOrder> = {}, payments?: NonNullable<PayPalOrder['purchase_units']>[number]['payments']): PayPalOrder => ({
  id: '5O190127TN364715T',
  intent: 'CAPTURE',
  status: 'CREATED',
  purchase_units: [{ reference_id: 'booking-4711', amount: money('1250.00'), custom_id: 'pay_abc', invoice_id: 'booking-4711/pay_abc', ...(payments ? { payments } : {}) }],
  links: [
    { href: `${API}/v2/checkout/orders/5O190127TN364715T`, rel: 'self', method: 'GET' },
    { href: 'https://www.sandbox.paypal.com/checkoutnow?token=5O190127TN364715T', rel: 'approve', method: 'GET' },
  ],
  ...overrides,
});

const capture = (status: string, value = '1250.00', extra: Partial<PayPalCapture> = {}): PayPalCapture => ({
  id: '3C679366HH908993F',
  status,
  amount: money(value),
  custom_id: 'pay_abc',
  supplementary_data: { related_ids: { order_id: '5O190127TN364715T' } },
  links: [{ href: `${API}/v2/checkout/orders/5O190127TN364715T`, rel: 'up', method: 'GET' }],
  ...extra,
});

const refund = (status: string, value: string, total?: string): PayPalRefund => ({
  id: '1JU08902781691411',
  status,
  amount: money(value),
  custom_id: 'pay_abc',
  seller_payable_breakdown: total ? { total_refunded_amount: money(total) } : undefined,
  links: [{ href: `${API}/v2/payments/captures/3C679366HH908993F`, rel: 'up', method: 'GET' }],
});

describe('PayPal amounts', () => {
  it('writes minor units as PayPal decimal strings, by currency', () => {
    expect(toPayPalValue(125_000, 'SEK')).toBe('1250.00');
    expect(toPayPalValue(1_999, 'usd')).toBe('19.99');
    expect(toPayPalValue(5, 'EUR')).toBe('0.05');
    expect(toPayPalValue(0, 'EUR')).toBe('0.00');
    expect(toPayPalValue(500, 'JPY')).toBe('500');
    expect(toPayPalValue(1_000, 'HUF')).toBe('1000');
    expect(() => toPayPalValue(100, 'XTS')).toThrow(AmountError);
    expect(() => toPayPalValue(1.5, 'SEK')).toThrow(AmountError);
    expect(() => toPayPalValue(-1, 'SEK')).toThrow(AmountError);
  });

  it('reads PayPal decimal strings exactly', () => {
    expect(fromPayPalValue('1250.00', 'SEK')).toBe(125_000);
    expect(fromPayPalValue('1250.5', 'SEK')).toBe(125_050);
    expect(fromPayPalValue('0.07', 'USD')).toBe(7);
    expect(fromPayPalValue('19.99', 'USD')).toBe(1_999);
    expect(fromPayPalValue('500', 'JPY')).toBe(500);
    expect(fromPayPalValue('500.00', 'JPY')).toBe(500);
    expect(() => fromPayPalValue('500.5', 'JPY')).toThrow(AmountError);
    expect(() => fromPayPalValue('0.001', 'USD')).toThrow(AmountError);
    expect(() => fromPayPalValue('1e3', 'USD')).toThrow(AmountError);
  });

  it('round-trips every amount in every PayPal currency', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(PAYPAL_CURRENCY_DECIMALS)), fc.integer({ min: 0, max: 10 ** 12 }), (currency, minor) => {
        expect(fromPayPalValue(toPayPalValue(minor, currency), currency)).toBe(minor);
      }),
    );
  });
});

describe('PayPal order request', () => {
  const request = {
    paymentId: 'pay_abc',
    amount: { value: 125_000, currency: 'sek' },
    reference: 'booking-4711',
    description: 'x'.repeat(200),
    captureMethod: 'automatic' as const,
    idempotencyKey: 'skerry-pay_abc-create',
  };

  it('builds a CAPTURE or AUTHORIZE order with the payment id and a unique invoice id', () => {
    const built = buildOrderRequest(request);
    expect(built.intent).toBe(CheckoutPaymentIntent.Capture);
    expect(built.paymentSource).toBeUndefined();
    expect(built.purchaseUnits[0]).toMatchObject({
      referenceId: 'booking-4711',
      amount: { currencyCode: 'SEK', value: '1250.00' },
      customId: 'pay_abc',
      invoiceId: 'booking-4711/pay_abc',
    });
    expect(built.purchaseUnits[0]!.description).toHaveLength(127);
    expect(buildOrderRequest({ ...request, captureMethod: 'manual' }).intent).toBe(CheckoutPaymentIntent.Authorize);
    expect(invoiceIdFor('r'.repeat(200), 'pay_abc')).toBe('pay_abc');
  });

  it('asks for the PayPal wallet experience when return URLs are configured', () => {
    const built = buildOrderRequest(request, { returnUrl: 'https://skerry.example/return', cancelUrl: 'https://skerry.example/cancel' });
    expect(built.paymentSource?.paypal?.experienceContext).toMatchObject({
      returnUrl: 'https://skerry.example/return',
      cancelUrl: 'https://skerry.example/cancel',
      userAction: 'PAY_NOW',
      shippingPreference: 'NO_SHIPPING',
    });
  });

  it("fills the payment id into the public door's return page, as config derives it from PUBLIC_URL", () => {
    const config = loadConfig({ APP_ENV: 'development', PUBLIC_URL: 'https://book.skerry.example/' });
    const built = buildOrderRequest(request, { returnUrl: config.paypal.returnUrl, cancelUrl: config.paypal.cancelUrl });
    expect(built.paymentSource?.paypal?.experienceContext).toMatchObject({
      returnUrl: 'https://book.skerry.example/payments/pay_abc/return',
      cancelUrl: 'https://book.skerry.example/payments/pay_abc/return?cancelled=true',
    });
  });

  it('refuses amounts PayPal cannot take', () => {
    expect(() => buildOrderRequest({ ...request, amount: { value: 100, currency: 'XTS' } })).toThrow(AmountError);
  });
});

describe('PayPal order → snapshot', () => {
  it('maps the payer phases, with the approval link as next action', () => {
    expect(snapshotFromOrder(order())).toMatchObject({
      providerReference: '5O190127TN364715T',
      status: 'created',
      providerStatus: 'CREATED',
      amountCaptured: 0,
      amountRefunded: 0,
      nextAction: { type: 'redirect', url: 'https://www.sandbox.paypal.com/checkoutnow?token=5O190127TN364715T' },
    });
    expect(snapshotFromOrder(order({ status: 'SAVED' })).status).toBe('created');
    // Created with experience_context, an order awaits the payer's approval at its payer-action link.
    const awaitingApproval = order({ status: 'PAYER_ACTION_REQUIRED', links: [{ href: 'https://paypal.example/pay', rel: 'payer-action' }] });
    expect(snapshotFromOrder(awaitingApproval)).toMatchObject({ status: 'created', nextAction: { type: 'redirect', url: 'https://paypal.example/pay' } });
    // Once approved, it means another step for the payer.
    const payerAction = order({ status: 'PAYER_ACTION_REQUIRED', payer: { payer_id: 'PAYER1' }, links: [{ href: 'https://paypal.example/pay', rel: 'payer-action' }] });
    expect(snapshotFromOrder(payerAction)).toMatchObject({ status: 'requires_action', nextAction: { type: 'redirect', url: 'https://paypal.example/pay' } });
    // Approved is not paid: the merchant's capture comes next.
    const approved = snapshotFromOrder(order({ status: 'APPROVED' }));
    expect(approved).toMatchObject({ status: 'processing', amountCaptured: 0 });
    expect(approved.nextAction).toBeUndefined();
    expect(snapshotFromOrder(order({ status: 'VOIDED' })).status).toBe('canceled');
  });

  it('reads COMPLETED through its captures: completed, pending, declined', () => {
    expect(snapshotFromOrder(order({ status: 'COMPLETED' }, { captures: [capture('COMPLETED')] }))).toMatchObject({
      status: 'succeeded',
      amountCaptured: 125_000,
      amountAuthorized: 125_000,
    });
    expect(snapshotFromOrder(order({ status: 'COMPLETED' }, { captures: [capture('PENDING')] }))).toMatchObject({ status: 'processing', amountCaptured: 0 });
    const declined = snapshotFromOrder(order({ status: 'COMPLETED' }, { captures: [capture('DECLINED', '1250.00', { status_details: { reason: 'DECLINED_BY_RISK_FRAUD_FILTERS' } })] }));
    expect(declined).toMatchObject({ status: 'failed', providerStatus: 'COMPLETED', amountCaptured: 0, failureReason: 'capture DECLINED: DECLINED_BY_RISK_FRAUD_FILTERS' });
    expect(snapshotFromOrder(order({ status: 'COMPLETED' })).status).toBe('processing');
  });

  it('reads authorizations: held, partially captured, voided, denied', () => {
    const authorization = { id: '0VF52814937998046', status: 'CREATED', amount: money('100.00') };
    const held = order({ intent: 'AUTHORIZE', status: 'COMPLETED' }, { authorizations: [authorization] });
    expect(snapshotFromOrder(held)).toMatchObject({ status: 'requires_capture', amountAuthorized: 10_000, amountCaptured: 0 });
    expect(capturableAuthorization(held)?.id).toBe('0VF52814937998046');
    const captured = order({ intent: 'AUTHORIZE', status: 'COMPLETED' }, { authorizations: [{ ...authorization, status: 'CAPTURED' }], captures: [capture('COMPLETED', '60.00')] });
    expect(snapshotFromOrder(captured)).toMatchObject({ status: 'succeeded', amountAuthorized: 10_000, amountCaptured: 6_000 });
    expect(capturableAuthorization(captured)).toBeUndefined();
    expect(snapshotFromOrder(order({ intent: 'AUTHORIZE', status: 'COMPLETED' }, { authorizations: [{ ...authorization, status: 'VOIDED' }] })).status).toBe('canceled');
    expect(snapshotFromOrder(order({ intent: 'AUTHORIZE', status: 'COMPLETED' }, { authorizations: [{ ...authorization, status: 'DENIED' }] }))).toMatchObject({
      status: 'failed',
      failureReason: 'authorization DENIED',
    });
  });

  it('sums completed refunds only', () => {
    const refunded = order({ status: 'COMPLETED' }, { captures: [capture('PARTIALLY_REFUNDED')], refunds: [refund('COMPLETED', '250.00'), refund('PENDING', '100.00'), refund('FAILED', '50.00')] });
    expect(snapshotFromOrder(refunded)).toMatchObject({ status: 'succeeded', amountCaptured: 125_000, amountRefunded: 25_000 });
    expect(snapshotFromOrder(order({ status: 'COMPLETED' }, { captures: [capture('REFUNDED')], refunds: [refund('COMPLETED', '1250.00')] }))).toMatchObject({
      amountCaptured: 125_000,
      amountRefunded: 125_000,
    });
  });

  it('maps refund statuses', () => {
    expect(refundObservation(refund('COMPLETED', '10.00'))).toEqual({ refundId: '1JU08902781691411', amount: 1_000, status: 'succeeded' });
    expect(refundObservation(refund('PENDING', '10.00')).status).toBe('pending');
    expect(refundObservation(refund('FAILED', '10.00')).status).toBe('failed');
    expect(refundObservation(refund('CANCELLED', '10.00')).status).toBe('failed');
  });
});

describe('PayPal webhook events → inbox', () => {
  const event = (event_type: string, resource: unknown) => ({ id: `WH-${event_type}`, event_type, create_time: '2030-01-01T10:00:00Z', resource });

  it('turns CHECKOUT.ORDER.APPROVED into a hint with what adoption needs', () => {
    expect(normalizePayPalEvent(event('CHECKOUT.ORDER.APPROVED', order({ status: 'APPROVED', intent: 'AUTHORIZE' })))).toEqual({
      delivery: 'hint',
      paymentId: 'pay_abc',
      providerReference: '5O190127TN364715T',
      adopt: { amount: { value: 125_000, currency: 'SEK' }, reference: 'booking-4711', captureMethod: 'manual' },
    });
  });

  it('turns payment events into observations on the order', () => {
    const completed = normalizePayPalEvent(event('PAYMENT.CAPTURE.COMPLETED', capture('COMPLETED')));
    expect(completed).toMatchObject({ delivery: 'observation', paymentId: 'pay_abc', providerReference: '5O190127TN364715T' });
    expect(completed.observation).toEqual({
      eventId: 'WH-PAYMENT.CAPTURE.COMPLETED',
      source: 'webhook',
      providerEventType: 'PAYMENT.CAPTURE.COMPLETED',
      occurredAt: '2030-01-01T10:00:00.000Z',
      providerReference: '5O190127TN364715T',
      status: 'succeeded',
      amountCaptured: 125_000,
    });
    expect(normalizePayPalEvent(event('PAYMENT.CAPTURE.DENIED', capture('DECLINED'))).observation).toMatchObject({ status: 'failed', failureReason: 'capture DECLINED' });
    expect(normalizePayPalEvent(event('PAYMENT.CAPTURE.PENDING', capture('PENDING'))).observation).toMatchObject({ status: 'processing' });

    const refunded = normalizePayPalEvent(event('PAYMENT.CAPTURE.REFUNDED', refund('COMPLETED', '250.00', '400.00')));
    expect(refunded).toMatchObject({ delivery: 'observation', paymentId: 'pay_abc' });
    expect(refunded.observation).toMatchObject({ refund: { refundId: '1JU08902781691411', amount: 25_000, status: 'succeeded' }, amountRefunded: 40_000 });

    const authorization = { id: '0VF52814937998046', status: 'CREATED', amount: money('100.00'), custom_id: 'pay_abc', supplementary_data: { related_ids: { order_id: '5O190127TN364715T' } } };
    expect(normalizePayPalEvent(event('PAYMENT.AUTHORIZATION.CREATED', authorization))).toMatchObject({
      providerReference: '5O190127TN364715T',
      observation: { status: 'requires_capture', amountAuthorized: 10_000 },
    });
    expect(normalizePayPalEvent(event('PAYMENT.AUTHORIZATION.VOIDED', { ...authorization, status: 'VOIDED' })).observation).toMatchObject({ status: 'canceled' });
    expect(normalizePayPalEvent(event('CHECKOUT.ORDER.VOIDED', order({ status: 'VOIDED' }))).observation).toMatchObject({ status: 'canceled' });
  });

  it('finds the order of a capture by its up link when related ids are missing', () => {
    const bare = capture('COMPLETED', '10.00', { supplementary_data: undefined });
    expect(normalizePayPalEvent(event('PAYMENT.CAPTURE.COMPLETED', bare)).providerReference).toBe('5O190127TN364715T');
  });

  it('stores other events without delivering them', () => {
    expect(normalizePayPalEvent(event('CUSTOMER.DISPUTE.CREATED', { id: 'PP-D-1' }))).toEqual({ delivery: 'none' });
    expect(normalizePayPalEvent(event('PAYMENT.CAPTURE.COMPLETED', null))).toEqual({ delivery: 'none' });
  });
});

describe('PayPal error classification', () => {
  const body = (status: number, name: string, issue?: string) =>
    providerErrorFromResponse('op', status, JSON.stringify({ name, message: 'm', debug_id: 'f00ba4', details: issue ? [{ issue, description: 'd' }] : undefined }));

  it('classifies by HTTP status and refines by issue', () => {
    expect(body(422, 'UNPROCESSABLE_ENTITY', 'INSTRUMENT_DECLINED')).toMatchObject({ kind: 'decline', retryable: false, details: { httpStatus: 422, code: 'INSTRUMENT_DECLINED' } });
    expect(body(422, 'UNPROCESSABLE_ENTITY', 'ORDER_NOT_APPROVED')).toMatchObject({ kind: 'conflict', retryable: false });
    expect(body(422, 'UNPROCESSABLE_ENTITY', 'ORDER_ALREADY_CAPTURED').kind).toBe('conflict');
    expect(body(422, 'UNPROCESSABLE_ENTITY', 'DECIMAL_PRECISION').kind).toBe('validation');
    expect(body(400, 'INVALID_REQUEST', 'MISSING_REQUIRED_PARAMETER').kind).toBe('validation');
    expect(body(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID').kind).toBe('not_found');
    expect(body(409, 'RESOURCE_CONFLICT', 'PREVIOUS_REQUEST_IN_PROGRESS')).toMatchObject({ kind: 'unavailable', retryable: true });
    expect(body(500, 'INTERNAL_SERVER_ERROR')).toMatchObject({ kind: 'unavailable', retryable: true });
    expect(body(503, 'SERVICE_UNAVAILABLE').kind).toBe('unavailable');
    expect(body(403, 'NOT_AUTHORIZED').kind).toBe('authentication');
    const oauth = providerErrorFromResponse('op', 401, { error: 'invalid_token', error_description: 'Token signature verification failed' });
    expect(oauth).toMatchObject({ kind: 'authentication', details: { code: 'invalid_token' } });
    expect(oauth.message).toBe('invalid_token: Token signature verification failed');
    expect(body(422, 'UNPROCESSABLE_ENTITY', 'INSTRUMENT_DECLINED').message).toBe('UNPROCESSABLE_ENTITY: INSTRUMENT_DECLINED (d) [debug_id f00ba4]');
  });

  it('reads Retry-After on 429', () => {
    const limited = providerErrorFromResponse('op', 429, '{"name":"RATE_LIMIT_REACHED","message":"Too many requests"}', { 'Retry-After': '7' });
    expect(limited).toMatchObject({ kind: 'rate_limited', retryable: true, details: { retryAfterMs: 7_000, code: 'RATE_LIMIT_REACHED' } });
    expect(providerErrorFromResponse('op', 429, '').details.retryAfterMs).toBeUndefined();
  });

  it('classifies SDK errors, amount errors and transport failures', () => {
    const sdkError = new ApiError(
      {
        request: { method: 'POST', url: `${API}/v2/checkout/orders/X/capture` },
        response: { statusCode: 422, headers: {}, body: '{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"INSTRUMENT_DECLINED"}]}' },
      },
      'failed',
    );
    expect(classifyPayPalError('capture_order', sdkError)).toMatchObject({ kind: 'decline', operation: 'capture_order', provider: 'paypal' });
    expect(classifyPayPalError('create_order', new AmountError('bad'))).toMatchObject({ kind: 'validation' });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyPayPalError('get_order', refused)).toMatchObject({ kind: 'network', retryable: true });
    expect(classifyPayPalError('get_order', new Error('timeout of 20000ms exceeded')).kind).toBe('timeout');
    const same = new ProviderError('paypal', 'x', 'conflict', 'kept');
    expect(classifyPayPalError('y', same)).toBe(same);
  });
});

describe('PayPal webhook verifier', () => {
  const HEADERS = {
    'paypal-transmission-id': '69cd13f0-d67a-11e5-baa3-778b53f4ae55',
    'paypal-transmission-time': '2030-01-01T10:00:00Z',
    'paypal-transmission-sig': 'c2lnbmF0dXJl',
    'paypal-cert-url': `${API}/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270`,
    'paypal-auth-algo': 'SHA256withRSA',
  };
  // Spacing and key order as PayPal sent them: the verifier must pass these bytes on unchanged.
  const RAW = '{"id":"WH-1",  "event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"3C679366HH908993F","status":"COMPLETED","amount":{"value":"10.00","currency_code":"SEK"},"custom_id":"pay_abc","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}}},"create_time":"2030-01-01T10:00:00Z"}';

  function fakeConnection(answer: () => Promise<unknown>): { connection: PayPalConnection; sent: string[] } {
    const sent: string[] = [];
    const connection = {
      postJson: async (_operation: string, path: string, text: string) => {
        expect(path).toBe('/v1/notifications/verify-webhook-signature');
        sent.push(text);
        return { statusCode: 200, headers: {}, body: await answer() };
      },
    } as unknown as PayPalConnection;
    return { connection, sent };
  }

  const verify = (connection: PayPalConnection, headers: Record<string, string> = HEADERS, raw = RAW, webhookId = 'WEBHOOK1') =>
    createPayPalWebhookVerifier({ webhookId, connection }).verify({ rawBody: Buffer.from(raw), headers, url: '/webhooks/paypal' });

  async function rejection(promise: Promise<unknown>): Promise<WebhookVerificationError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return error as WebhookVerificationError;
  }

  it('asks PayPal with the transmission headers, the webhook id and the event bytes as received', async () => {
    const { connection, sent } = fakeConnection(async () => ({ verification_status: 'SUCCESS' }));
    const [event] = await verify(connection);
    expect(event).toMatchObject({ provider: 'paypal', eventId: 'WH-1', eventType: 'PAYMENT.CAPTURE.COMPLETED', delivery: 'observation', paymentId: 'pay_abc', providerReference: '5O190127TN364715T' });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.endsWith(`"webhook_event":${RAW}}`)).toBe(true);
    expect(JSON.parse(sent[0]!)).toMatchObject({
      auth_algo: 'SHA256withRSA',
      cert_url: HEADERS['paypal-cert-url'],
      transmission_id: HEADERS['paypal-transmission-id'],
      transmission_sig: HEADERS['paypal-transmission-sig'],
      transmission_time: HEADERS['paypal-transmission-time'],
      webhook_id: 'WEBHOOK1',
    });
  });

  it("names a refund's payment by the order PayPal says the refunded capture belongs to, not by its inherited custom_id alone", async () => {
    const refundRaw = JSON.stringify({
      id: 'WH-2',
      event_type: 'PAYMENT.CAPTURE.REFUNDED',
      create_time: '2030-01-01T10:00:00Z',
      resource: {
        id: '1JU08902781691411',
        status: 'COMPLETED',
        amount: { value: '5.00', currency_code: 'SEK' },
        custom_id: 'pay_abc',
        links: [{ href: `${API}/v2/payments/captures/3C679366HH908993F`, rel: 'up', method: 'GET' }],
      },
    });
    const captures: string[] = [];
    const connection = (order: () => Promise<unknown>) =>
      ({
        postJson: async () => ({ statusCode: 200, headers: {}, body: { verification_status: 'SUCCESS' } }),
        payments: { getCapturedPayment: ({ captureId }: { captureId: string }) => (captures.push(captureId), order()) },
        call: async (_operation: string, fn: () => Promise<unknown>) => ({ statusCode: 200, headers: {}, body: await fn() }),
      }) as unknown as PayPalConnection;
    const [event] = await verify(connection(async () => ({ id: '3C679366HH908993F', supplementary_data: { related_ids: { order_id: '9XOTHER00ORDER' } } })), HEADERS, refundRaw);
    expect(captures).toEqual(['3C679366HH908993F']);
    expect(event).toMatchObject({ delivery: 'observation', paymentId: 'pay_abc', providerReference: '9XOTHER00ORDER', observation: { providerReference: '9XOTHER00ORDER' } });
    // PayPal knows no such capture: no provider reference, which delivery refuses.
    const missing = await verify(connection(async () => Promise.reject(new ProviderError('paypal', 'get_capture', 'not_found', 'RESOURCE_NOT_FOUND'))), HEADERS, refundRaw);
    expect(missing[0]!.providerReference).toBeUndefined();
    // PayPal unavailable is not a verdict: thrown, so the webhook is answered 5xx and delivered again.
    await expect(verify(connection(async () => Promise.reject(new ProviderError('paypal', 'get_capture', 'unavailable', '503'))), HEADERS, refundRaw)).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('rejects FAILURE, missing headers, malformed bodies and a missing webhook id', async () => {
    const failing = fakeConnection(async () => ({ verification_status: 'FAILURE' }));
    expect((await rejection(verify(failing.connection))).reason).toBe('bad_signature');
    const { connection, sent } = fakeConnection(async () => ({ verification_status: 'SUCCESS' }));
    const { 'paypal-cert-url': _cert, ...withoutCert } = HEADERS;
    expect((await rejection(verify(connection, withoutCert))).reason).toBe('missing_signature');
    expect((await rejection(verify(connection, HEADERS, '{"nope":true}'))).reason).toBe('malformed');
    expect((await rejection(verify(connection, HEADERS, RAW, ''))).reason).toBe('unverifiable');
    expect(sent).toHaveLength(0);
  });

  it('answers an unavailable PayPal with a retryable error, not a verdict; a refused request is malformed', async () => {
    const down = fakeConnection(async () => {
      throw new ProviderError('paypal', 'verify_webhook_signature', 'unavailable', 'down');
    });
    const error = await verify(down.connection).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
    const refused = fakeConnection(async () => {
      throw providerErrorFromResponse('verify_webhook_signature', 400, { name: 'VALIDATION_ERROR', details: [{ issue: 'INVALID_PARAMETER_SYNTAX' }] });
    });
    expect((await rejection(verify(refused.connection))).reason).toBe('malformed');
  });
});
