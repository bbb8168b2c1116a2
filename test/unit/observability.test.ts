// Metrics registry and log redaction, without a server: the observers feed the registry, GET /metrics
// serves it, and no secret, card number or e-mail address reaches a log line.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../observability/metrics';
import { createLogger, scrubString } from '../../observability/logger';
import { buildAdminApp } from '../../api/app';
import { startTestAccess } from '../support/access';
import type { WebhookInbox } from '../../store/webhook-inbox';
import type { WebhookDelivery } from '../../api/webhooks/delivery';
import type { PaymentsClient } from '../../client/payments';
import { initialPaymentState } from '../../workflows/payments/state';

const sample = (text: string, name: string, labels: Record<string, string> = {}) => {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `) ? wanted.every((w) => l.includes(w)) : false);
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('metrics registry', () => {
  it('counts provider calls, retries, webhooks and delivery lag from the observer hooks', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.providerCallObserver.onCall?.('stripe', 'createPayment', 'ok', 0.12);
    metrics.providerCallObserver.onCall?.('stripe', 'createPayment', 'unavailable', 2);
    metrics.providerCallObserver.onRetry?.('stripe', 'createPayment', 2);
    metrics.webhookObserver.onReceived?.('stripe', 'accepted');
    metrics.webhookObserver.onReceived?.('stripe', 'duplicate');
    metrics.webhookObserver.onReceived?.('paypal', 'rejected');
    metrics.deliveryObserver.onDelivered?.('stripe', 'delivered', 0.04);
    metrics.deliveryObserver.onFailed?.('stripe');
    const text = await metrics.text();
    expect(sample(text, 'skerry_provider_calls_total', { provider: 'stripe', operation: 'createPayment', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'skerry_provider_calls_total', { outcome: 'unavailable' })).toBe(1);
    expect(sample(text, 'skerry_provider_call_duration_seconds_count', { provider: 'stripe', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'skerry_provider_call_duration_seconds_bucket', { outcome: 'ok', le: '0.25' })).toBe(1);
    expect(sample(text, 'skerry_provider_call_retries_total', { provider: 'stripe' })).toBe(1);
    expect(sample(text, 'skerry_webhooks_received_total', { provider: 'stripe', outcome: 'duplicate' })).toBe(1);
    expect(sample(text, 'skerry_webhooks_received_total', { provider: 'paypal', outcome: 'rejected' })).toBe(1);
    expect(sample(text, 'skerry_webhook_delivery_lag_seconds_count', { provider: 'stripe', outcome: 'delivered' })).toBe(1);
    expect(sample(text, 'skerry_webhook_delivery_failures_total', { provider: 'stripe' })).toBe(1);
  });

  it('reads registered gauges at scrape time, and shows nothing (and counts an error) when the source fails', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let state = 0;
    let broken = false;
    metrics.registerGauge({
      name: 'skerry_circuit_breaker_state',
      help: '0 closed, 1 half-open, 2 open',
      labelNames: ['provider'],
      collect: () => {
        if (broken) throw new Error('breaker registry gone');
        return [{ labels: { provider: 'stripe' }, value: state }];
      },
    });
    expect(sample(await metrics.text(), 'skerry_circuit_breaker_state', { provider: 'stripe' })).toBe(0);
    state = 2;
    expect(sample(await metrics.text(), 'skerry_circuit_breaker_state', { provider: 'stripe' })).toBe(2);
    broken = true;
    const text = await metrics.text();
    expect(sample(text, 'skerry_circuit_breaker_state', { provider: 'stripe' })).toBeUndefined();
    expect(sample(text, 'skerry_metrics_collect_errors_total', { metric: 'skerry_circuit_breaker_state' })).toBe(1);
  });

  it('is served by GET /metrics on the API in the Prometheus text format', async () => {
    const metrics = createMetrics();
    metrics.webhookObserver.onReceived?.('stripe', 'unavailable');
    const testAccess = await startTestAccess({ scopes: ['read'] });
    const app = await buildAdminApp({
      payments: {} as PaymentsClient,
      inbox: {} as WebhookInbox,
      delivery: {} as WebhookDelivery,
      access: testAccess.access,
      metrics,
    });
    const response = await app.inject({ method: 'GET', url: '/metrics', headers: testAccess.headers });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain; version=0.0.4');
    expect(sample(response.body, 'skerry_webhooks_received_total', { provider: 'stripe', outcome: 'unavailable' })).toBe(1);
    expect(response.body).toContain('process_cpu_user_seconds_total');
    await app.close();
    await testAccess.close();
  });
});

describe('log redaction', () => {
  const SECRET = 'sk_live_51Hx9QzLs8Yc3RkT0Pq';
  const CARD = '4242 4242 4242 4242';
  const EMAIL = 'guest.person@example.se';

  function capture(level = 'debug') {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    return { logger: createLogger({ level, destination }), lines };
  }

  it('never writes a secret key, a card number or an e-mail address, wherever they are in the line', () => {
    const { logger, lines } = capture();
    const body = {
      amount: 125_000,
      reference: 'booking-4711',
      payer: { email: EMAIL, name: 'Guest Person', phone: '+46701234567' },
      payment_method_data: { card: { number: CARD.replaceAll(' ', ''), cvc: '123' } },
      headers: { Authorization: `Bearer ${SECRET}` },
      nested: { deeper: { evenDeeper: { note: `call me at ${EMAIL}, card ${CARD}`, stripeKey: SECRET } } },
    };
    logger.child({ paymentId: 'pay_abc123', workflowId: 'payment-pay_abc123' }).debug({ request: body, response: { client_secret: 'pi_1_secret_2' } }, 'provider request body');
    logger.info({ err: new Error(`declined for ${EMAIL} with key ${SECRET}`) }, 'provider call failed');
    logger.warn({ reason: `card ${CARD} refused` }, 'plain string');
    const output = lines.join('');
    expect(lines).toHaveLength(3);
    for (const forbidden of [SECRET, CARD, CARD.replaceAll(' ', ''), EMAIL, '+46701234567', 'Guest Person', 'pi_1_secret_2', '"123"']) {
      expect(output, forbidden).not.toContain(forbidden);
    }
    // What is not sensitive stays readable, and the correlation fields are intact.
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ paymentId: 'pay_abc123', workflowId: 'payment-pay_abc123', request: { amount: 125_000, reference: 'booking-4711' } });
    expect(first.request.payer.email).toBe('[redacted]');
    expect(JSON.parse(lines[1]!).err.message).toContain('declined for [email]');
  });

  it('masks only Luhn-valid card numbers, so ids and amounts stay readable', () => {
    expect(scrubString('card 4000056655665556 ok')).toBe('card [card] ok');
    expect(scrubString('order 1234567890123456')).toBe('order 1234567890123456');
    expect(scrubString('whsec_abcDEF123 and rk_test_xyz')).toBe('[redacted] and [redacted]');
  });
});

describe('API request logs', () => {
  it('log one line per request, correlated with the payment and its workflow, and bodies only at debug, scrubbed', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const state = initialPaymentState(
      { paymentId: 'pay_abcdef123456', provider: 'swish', amount: { value: 500, currency: 'SEK' }, reference: 'booking-1', captureMethod: 'automatic', payer: { alias: '46701234567' } },
      new Date().toISOString(),
    );
    const payments = { startPayment: async () => state, getPayment: async () => state } as unknown as PaymentsClient;
    const testAccess = await startTestAccess();
    const app = await buildAdminApp({
      payments,
      inbox: {} as WebhookInbox,
      delivery: {} as WebhookDelivery,
      access: testAccess.access,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: 'debug', destination }),
    });
    const created = await app.inject({
      method: 'POST',
      url: '/payments',
      headers: { ...testAccess.headers, 'idempotency-key': `booking-1-${Date.now()}` },
      payload: { provider: 'swish', amount: { value: 500, currency: 'SEK' }, reference: 'booking-1', payer: { alias: '46701234567' }, description: 'for guest@example.se' },
    });
    expect(created.statusCode).toBe(201);
    expect((await app.inject({ method: 'GET', url: '/payments/pay_abcdef123456', headers: testAccess.headers })).statusCode).toBe(200);
    await app.close();
    await testAccess.close();

    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = records.filter((record) => record.msg === 'request');
    expect(requests).toEqual([
      expect.objectContaining({ method: 'POST', route: '/payments', statusCode: 201, paymentId: 'pay_abcdef123456', workflowId: 'payment-pay_abcdef123456' }),
      expect.objectContaining({ method: 'GET', route: '/payments/:id', statusCode: 200, paymentId: 'pay_abcdef123456', workflowId: 'payment-pay_abcdef123456' }),
    ]);
    expect(requests.every((record) => typeof record.latencyMs === 'number')).toBe(true);
    expect(records.some((record) => record.msg === 'request body')).toBe(true);
    expect(records.some((record) => record.msg === 'response body')).toBe(true);
    const output = lines.join('');
    expect(output).not.toContain('46701234567');
    expect(output).not.toContain('guest@example.se');
  });
});
