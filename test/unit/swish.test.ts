// Swish without the network: instruction UUIDs, amounts, field rules, status and error mapping, and
// the callback verifier (malformed bodies are a 400 with a reason at the webhook route).
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerWebhookRoutes } from '../../api/webhooks/routes';
import type { WebhookDelivery } from '../../api/webhooks/delivery';
import type { WebhookInbox } from '../../store/webhook-inbox';
import { classifySwishTransportError, errorFromResponse } from '../../providers/swish/transport';
import { snapshotFromPaymentRequest } from '../../providers/swish/client';
import {
  failureReasonOf,
  formatAmount,
  instructionUuid,
  kindOfSwishError,
  parseAmount,
  parseSwishErrors,
  paymentStatusOf,
  refundInstructionUuid,
  refundOrdinal,
  refundStatusOf,
  swishAppUrl,
  toPayeePaymentReference,
  toPayerAlias,
  toSwishMessage,
} from '../../providers/swish/protocol';
import { createSwishWebhookVerifier, parseSwishCallback } from '../../providers/swish/webhooks';
import { ProviderError } from '../../providers/errors';
import { WebhookVerificationError } from '../../providers/types';
import { type VerifiedWebhookEvent } from '../../domain/webhooks';
import { providerIdempotencyKey } from '../../domain/payments';

const PAYMENT_ID = '6491C950AF0D6B5D6D10E405BB224102';
const REFUND_ID = 'C6A25B23516B7438EB2AF358CCDF9AF6';

describe('instruction UUIDs', () => {
  it('are the first 32 hex digits of SHA-256 of the idempotency key, uppercased', () => {
    // Pinned: a change here would make a retried create address a new payment request.
    expect(instructionUuid('skerry-pay_123-create')).toBe(PAYMENT_ID);
    expect(instructionUuid('skerry-pay_123-create')).toMatch(/^[0-9A-F]{32}$/);
    expect(instructionUuid('skerry-pay_124-create')).not.toBe(PAYMENT_ID);
  });

  it('derive refunds from the payment and Skerry refund ordinal, so they can be found again', () => {
    expect(refundOrdinal(providerIdempotencyKey.refund('pay_123', 1))).toBe(1);
    expect(refundOrdinal(providerIdempotencyKey.refund('pay_123', 27))).toBe(27);
    expect(refundOrdinal('some-other-key')).toBeUndefined();
    expect(refundOrdinal('x-refund-0')).toBeUndefined();
    expect(refundInstructionUuid(PAYMENT_ID, 1)).toBe(REFUND_ID);
    expect(refundInstructionUuid(PAYMENT_ID, 2)).not.toBe(REFUND_ID);
    expect(refundInstructionUuid(instructionUuid('skerry-pay_999-create'), 1)).not.toBe(REFUND_ID);
  });
});

describe('amounts', () => {
  it('formats öre as Swish amount strings', () => {
    expect(formatAmount(12_550)).toBe('125.50');
    expect(formatAmount(10_000)).toBe('100.00');
    expect(formatAmount(5)).toBe('0.05');
    expect(formatAmount(0)).toBe('0.00');
    expect(formatAmount(123_456_789_01)).toBe('123456789.01');
    expect(() => formatAmount(1.5)).toThrow(RangeError);
    expect(() => formatAmount(-1)).toThrow(RangeError);
  });

  it('reads Swish amounts (numbers or strings) back to öre', () => {
    expect(parseAmount(125.5)).toBe(12_550);
    expect(parseAmount(100)).toBe(10_000);
    expect(parseAmount(0.29)).toBe(29);
    expect(parseAmount('125.50')).toBe(12_550);
    expect(parseAmount('125.5')).toBe(12_550);
    expect(parseAmount('7')).toBe(700);
    expect(parseAmount('1,00')).toBeNaN();
    expect(parseAmount(undefined)).toBeNaN();
  });
});

describe('request fields', () => {
  it('keeps references to 35 characters of [a-zA-Z0-9]', () => {
    expect(toPayeePaymentReference('booking-4711')).toBe('booking4711');
    expect(toPayeePaymentReference('x'.repeat(50))).toHaveLength(35);
    expect(toPayeePaymentReference('---')).toBeUndefined();
  });

  it('keeps messages to 50 characters Swish accepts', () => {
    expect(toSwishMessage('Cabin 3, 2 nights')).toBe('Cabin 3, 2 nights');
    expect(toSwishMessage('Stuga på Ängö <3 🏕️ #7')).toBe('Stuga på Ängö 3 7');
    expect(toSwishMessage('a'.repeat(80))).toHaveLength(50);
    expect(toSwishMessage('🏕️')).toBeUndefined();
    expect(toSwishMessage(undefined)).toBeUndefined();
  });

  it('spells messages in Swish\'s character set: accents dropped, æ/ø as ä/ö, other punctuation a space', () => {
    expect(toSwishMessage('Hyttetur – «Ærø», café & crème')).toBe('Hyttetur Ärö, cafe creme');
    expect(toSwishMessage('Stuga på Ängö: 2 nätter (frukost)!')).toBe('Stuga på Ängö: 2 nätter (frukost)!');
    expect(toSwishMessage('Bootsfahrt für 2 → Øst-Kajen')).toBe('Bootsfahrt fur 2 Öst Kajen');
    for (const text of ['Hyttetur – «Ærø», café & crème', 'Über 50 % Rabatt, Größe: L/XL', '"Kayak" tour #4 @ 10:00']) {
      expect(toSwishMessage(text), text).toMatch(/^[a-zA-ZåäöÅÄÖ0-9 :;.,?!()]{1,50}$/);
    }
  });

  it('refuses a message in a script Swish cannot spell, naming the characters', () => {
    expect(() => toSwishMessage('Экскурсия 2')).toThrow(ProviderError);
    expect(() => toSwishMessage('観光ツアー', 'refund_payment')).toThrow(/観光ツアー.*a–ö, A–Ö, 0–9, :;\.,\?!\(\) and space/);
  });

  it('normalizes payer aliases to digits with the country code', () => {
    expect(toPayerAlias('+46 70-123 45 67')).toBe('46701234567');
    expect(toPayerAlias('0046701234567')).toBe('46701234567');
  });

  it('builds the app switch link for m-commerce', () => {
    expect(swishAppUrl('tok123')).toBe('swish://paymentrequest?token=tok123');
    expect(swishAppUrl('tok123', 'https://shop.example/return?id=1')).toBe(
      'swish://paymentrequest?token=tok123&callbackurl=https%3A%2F%2Fshop.example%2Freturn%3Fid%3D1',
    );
  });
});

describe('status mapping', () => {
  it.each([
    ['CREATED', undefined, 'created'],
    ['PAID', undefined, 'succeeded'],
    ['DECLINED', undefined, 'failed'],
    ['ERROR', 'RF07', 'failed'],
    ['ERROR', 'BANKIDCL', 'failed'],
    ['ERROR', 'TM01', 'expired'],
    ['CANCELLED', undefined, 'canceled'],
    ['SOMETHING_NEW', undefined, 'processing'],
  ] as const)('%s %s → %s', (status, errorCode, expected) => {
    expect(paymentStatusOf({ status, errorCode })).toBe(expected);
  });

  it('explains failures with the error code', () => {
    expect(failureReasonOf({ status: 'ERROR', errorCode: 'RF07', errorMessage: 'Transaction declined' })).toBe('RF07: Transaction declined');
    expect(failureReasonOf({ status: 'DECLINED' })).toMatch(/declined/);
    expect(failureReasonOf({ status: 'PAID' })).toBeUndefined();
  });

  it('maps refund states: PAID succeeded, ERROR failed, the rest pending', () => {
    expect(['CREATED', 'VALIDATED', 'DEBITED', 'PAID', 'ERROR'].map((status) => refundStatusOf({ status }))).toEqual([
      'pending',
      'pending',
      'pending',
      'succeeded',
      'failed',
    ]);
  });

  it('snapshots a paid payment request with its succeeded refunds', () => {
    const snapshot = snapshotFromPaymentRequest({ id: PAYMENT_ID, status: 'PAID', amount: 100, currency: 'SEK', paymentReference: 'REF' }, [
      { refundId: 'A', amount: 3_000, status: 'succeeded' },
      { refundId: 'B', amount: 2_000, status: 'pending' },
      { refundId: 'C', amount: 1_000, status: 'failed' },
    ]);
    expect(snapshot).toMatchObject({ status: 'succeeded', providerStatus: 'PAID', amountCaptured: 10_000, amountRefunded: 3_000 });
    expect(snapshot.nextAction).toBeUndefined();
    const created = snapshotFromPaymentRequest({ id: PAYMENT_ID, status: 'CREATED', amount: '100.00', currency: 'SEK' }, [], {
      type: 'swish_payer_alias',
      payerAlias: '46701234567',
    });
    expect(created).toMatchObject({ status: 'created', amountCaptured: 0, nextAction: { type: 'swish_payer_alias' } });
  });
});

describe('error classification', () => {
  const response = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers,
    text: typeof body === 'string' ? body : JSON.stringify(body),
  });

  it('reads the 422 error array', () => {
    expect(parseSwishErrors('[{"errorCode":"RP03","errorMessage":"Callback URL is missing","additionalInformation":null}]')).toEqual([
      { errorCode: 'RP03', errorMessage: 'Callback URL is missing', additionalInformation: null },
    ]);
    expect(parseSwishErrors('')).toEqual([]);
    expect(parseSwishErrors('<html>')).toEqual([]);
  });

  it.each([
    [422, ['RP03'], 'validation'],
    [422, ['PA02'], 'validation'],
    [422, ['FF08'], 'validation'],
    [422, ['BE18'], 'validation'],
    [422, ['ACMT03'], 'validation'],
    [422, ['RF08'], 'validation'],
    [422, ['RP06'], 'conflict'],
    [422, ['RP09'], 'conflict'],
    [422, ['RF07'], 'decline'],
    [422, [], 'validation'],
    [400, [], 'validation'],
    [401, [], 'authentication'],
    [403, [], 'authentication'],
    [404, [], 'not_found'],
    [429, [], 'rate_limited'],
    [500, [], 'unavailable'],
    [503, [], 'unavailable'],
  ] as const)('%i %j → %s', (status, codes, kind) => {
    expect(kindOfSwishError(status, codes)).toBe(kind);
  });

  it('turns a refusal into a ProviderError with code, status and Retry-After', () => {
    const refusal = errorFromResponse('create_payment_request', response(422, [{ errorCode: 'ACMT03', errorMessage: 'Payer not Enrolled' }]));
    expect(refusal).toMatchObject({ provider: 'swish', kind: 'validation', retryable: false, details: { httpStatus: 422, code: 'ACMT03' } });
    expect(refusal.message).toContain('Payer not Enrolled');
    const limited = errorFromResponse('retrieve', response(429, '', { 'retry-after': '3' }));
    expect(limited).toMatchObject({ kind: 'rate_limited', retryable: true, details: { retryAfterMs: 3_000 } });
    expect(errorFromResponse('retrieve', response(502, 'bad gateway'))).toMatchObject({ kind: 'unavailable', retryable: true });
  });

  it('names the setting behind a configuration refusal: RP03 the callback URL, 403 the certificate', () => {
    const callback = errorFromResponse('create_payment_request', response(422, [{ errorCode: 'RP03', errorMessage: 'Callback URL is missing or does not use HTTPS' }]));
    expect(callback).toMatchObject({ kind: 'validation', retryable: false, details: { code: 'RP03' } });
    expect(callback.message).toBe('RP03 Callback URL is missing or does not use HTTPS (check SWISH_CALLBACK_BASE_URL (or PUBLIC_URL): Swish calls back only to an https URL)');
    expect(errorFromResponse('create_payment_request', response(422, [{ errorCode: 'ACMT07', errorMessage: 'Payee not Enrolled' }])).message).toMatch(/SWISH_PAYEE_ALIAS/);
    expect(errorFromResponse('create_payment_request', response(403, '')).message).toMatch(/SWISH_CERT and SWISH_PAYEE_ALIAS/);
    expect(errorFromResponse('create_payment_request', response(422, [{ errorCode: 'ACMT03', errorMessage: 'Payer not Enrolled' }])).message).toBe('ACMT03 Payer not Enrolled');
  });

  it('treats a refused TLS handshake as a configuration problem, a reset as the network', () => {
    const handshake = Object.assign(new Error('sslv3 alert handshake failure'), { code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
    expect(classifySwishTransportError('create', handshake)).toMatchObject({ kind: 'authentication', retryable: false });
    const nested = Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) });
    expect(classifySwishTransportError('create', nested)).toMatchObject({ kind: 'authentication' });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifySwishTransportError('create', reset)).toMatchObject({ kind: 'network', retryable: true });
    const timeout = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(classifySwishTransportError('create', timeout)).toMatchObject({ kind: 'timeout', retryable: true });
  });
});

describe('callbacks', () => {
  const verifier = createSwishWebhookVerifier();
  const paymentCallback = (status: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: PAYMENT_ID,
      payeePaymentReference: 'booking4711',
      paymentReference: '1E2FC19E5E5E4E18916609B7F8911C12',
      callbackUrl: `https://api.example/webhooks/swish?payment=${PAYMENT_ID}`,
      payerAlias: '46701234567',
      payeeAlias: '1234679304',
      amount: 100,
      currency: 'SEK',
      message: 'Cabin 3',
      status,
      dateCreated: '2026-01-01T10:00:00.000Z',
      datePaid: status === 'PAID' ? '2026-01-01T10:01:00.000Z' : null,
      errorCode: null,
      errorMessage: null,
      ...extra,
    });
  const refundCallback = (status: string) =>
    JSON.stringify({
      id: REFUND_ID,
      originalPaymentReference: '1E2FC19E5E5E4E18916609B7F8911C12',
      payerAlias: '1234679304',
      amount: 30,
      currency: 'SEK',
      status,
    });
  const webhook = (body: string, url: string) => ({ rawBody: Buffer.from(body), headers: { 'content-type': 'application/json' }, url });

  async function reason(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).reason;
  }

  it('turns a payment callback into a hint for its payment request, never an observation', async () => {
    const [event] = await verifier.verify(webhook(paymentCallback('PAID'), `/webhooks/swish?payment=${PAYMENT_ID}`));
    expect(event).toMatchObject<Partial<VerifiedWebhookEvent>>({
      provider: 'swish',
      eventId: `${PAYMENT_ID}:PAID`,
      eventType: 'swish.payment_request.paid',
      providerReference: PAYMENT_ID,
      delivery: 'hint',
    });
    expect(event!.observation).toBeUndefined();
    expect(event!.adopt).toBeUndefined();
    // The same object in another state is another event; the same state repeated is the same one.
    const [declined] = await verifier.verify(webhook(paymentCallback('DECLINED'), `/webhooks/swish?payment=${PAYMENT_ID}`));
    expect(declined!.eventId).toBe(`${PAYMENT_ID}:DECLINED`);
  });

  it('routes a payment callback by its id when the URL has no payment parameter', async () => {
    const [event] = await verifier.verify(webhook(paymentCallback('ERROR', { errorCode: 'TM01' }), '/webhooks/swish'));
    expect(event).toMatchObject({ providerReference: PAYMENT_ID, delivery: 'hint', eventType: 'swish.payment_request.error' });
  });

  it('routes a refund callback to the original payment request through its callback URL', async () => {
    const [event] = await verifier.verify(webhook(refundCallback('PAID'), `/webhooks/swish?payment=${PAYMENT_ID}&refund=${REFUND_ID}`));
    expect(event).toMatchObject({ eventId: `${REFUND_ID}:PAID`, eventType: 'swish.refund.paid', providerReference: PAYMENT_ID, delivery: 'hint' });
    const callback = parseSwishCallback(webhook(refundCallback('DEBITED'), `/webhooks/swish?payment=${PAYMENT_ID.toLowerCase()}`));
    expect(callback).toMatchObject({ kind: 'refund', paymentRequestId: PAYMENT_ID, status: 'DEBITED' });
  });

  it('keeps a refund callback it cannot route without delivering it', async () => {
    const [event] = await verifier.verify(webhook(refundCallback('PAID'), '/webhooks/swish'));
    expect(event).toMatchObject({ delivery: 'none', providerReference: undefined });
  });

  it('refuses callbacks whose ids disagree with their URL', async () => {
    const other = instructionUuid('other');
    expect(await reason(verifier.verify(webhook(paymentCallback('PAID'), `/webhooks/swish?payment=${other}`)))).toBe('unverifiable');
    expect(await reason(verifier.verify(webhook(refundCallback('PAID'), `/webhooks/swish?payment=${PAYMENT_ID}&refund=${other}`)))).toBe(
      'unverifiable',
    );
  });

  it('refuses malformed callbacks', async () => {
    const url = `/webhooks/swish?payment=${PAYMENT_ID}`;
    expect(await reason(verifier.verify(webhook('not json', url)))).toBe('malformed');
    expect(await reason(verifier.verify(webhook('[1,2]', url)))).toBe('malformed');
    expect(await reason(verifier.verify(webhook('{"status":"PAID"}', url)))).toBe('malformed');
    expect(await reason(verifier.verify(webhook(`{"id":"${PAYMENT_ID}"}`, url)))).toBe('malformed');
    expect(await reason(verifier.verify(webhook(paymentCallback('PAID'), '/webhooks/swish?payment=not-an-id')))).toBe('malformed');
  });

  it('answers a malformed callback 400 with the reason at the webhook route', async () => {
    const recorded: VerifiedWebhookEvent[][] = [];
    const inbox = { record: async (events: VerifiedWebhookEvent[]) => (recorded.push(events), { inserted: [], duplicates: 0 }) };
    const delivery = { deliverNow: () => undefined, saturated: () => false };
    const app = Fastify();
    await app.register(
      async (scope) =>
        registerWebhookRoutes(scope, {
          inbox: inbox as unknown as WebhookInbox,
          delivery: delivery as unknown as WebhookDelivery,
          verifiers: [createSwishWebhookVerifier()],
        }),
      { prefix: '/webhooks' },
    );
    try {
      const bad = await app.inject({ method: 'POST', url: `/webhooks/swish?payment=${PAYMENT_ID}`, headers: { 'content-type': 'application/json' }, payload: '{"nope":' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ error: 'invalid_webhook', reason: 'malformed' });
      const good = await app.inject({
        method: 'POST',
        url: `/webhooks/swish?payment=${PAYMENT_ID}`,
        headers: { 'content-type': 'application/json' },
        payload: paymentCallback('PAID'),
      });
      expect(good.statusCode).toBe(200);
      expect(recorded).toHaveLength(1);
      expect(recorded[0]![0]).toMatchObject({ delivery: 'hint', providerReference: PAYMENT_ID });
    } finally {
      await app.close();
    }
  });
});
