// Contract: every answer Skerry's PayPal sandbox gives to the calls Skerry makes conforms to the
// official SDK's own models (@paypal/paypal-server-sdk's schemas): the sandbox cannot drift from
// PayPal's API — a field of the wrong type, a field the SDK does not know, a status outside its enums —
// without this failing. The calls are Skerry's own: its PayPal client and webhook verifier run
// against the sandbox on a connection that records each raw answer, so a call Skerry starts making
// is checked without being listed here.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import type { PayPalSandbox } from '../../sandbox/paypal/sandbox';
import { createPayPalConnection, type PayPalConnection } from '../../providers/paypal/connection';
import { createPayPalClient } from '../../providers/paypal/client';
import { createPayPalWebhookVerifier } from '../../providers/paypal/webhooks';
import type { PaymentProviderClient } from '../../providers/types';
import { driftFrom, loadPayPalSdkSchemas, type PayPalSdkSchemas } from '../support/paypal-sdk-schemas';

const CLIENT = { clientId: 'contract-app', clientSecret: 'contract-secret' };
const WEBHOOK_ID = 'CONTRACTWEBHOOK1';

let app: FastifyInstance;
let base = '';
let paypalSandbox: PayPalSandbox;
let schemas: PayPalSdkSchemas;
let connection: PayPalConnection;
let client: PaymentProviderClient;
/** Every raw answer the sandbox gave Skerry's client, by operation. */
const answers: { operation: string; body: unknown }[] = [];

beforeAll(async () => {
  schemas = await loadPayPalSdkSchemas();
  app = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, paypal: { webhookId: WEBHOOK_ID, clients: [CLIENT] } });
  base = `${await app.listen({ host: '127.0.0.1', port: 0 })}/paypal`;
  paypalSandbox = sandboxHandles(app).paypal;
  const real = createPayPalConnection({ ...CLIENT, apiBase: base });
  connection = Object.assign(Object.create(real) as PayPalConnection, {
    call: async (operation: string, fn: Parameters<PayPalConnection['call']>[1]) => {
      const response = await real.call(operation, fn);
      answers.push({ operation, body: response.body });
      return response;
    },
    postJson: async (operation: string, path: string, text: string) => {
      const response = await real.postJson(operation, path, text);
      answers.push({ operation, body: response.body });
      return response;
    },
  });
  client = createPayPalClient({ ...CLIENT, apiBase: base, connection, returnUrl: 'https://shop.example/payments/{paymentId}/return', cancelUrl: 'https://shop.example/payments/{paymentId}/return?cancelled=true' });
});
afterAll(async () => {
  await app?.close();
});

const approve = async (orderId: string) => {
  const response = await fetch(`${base}/_control/payments/${orderId}/succeed`, { method: 'POST' });
  expect(response.status).toBe(200);
};

/** The SDK model each operation's answer is (verify-webhook-signature has none in the SDK: checked below). */
const MODEL: Record<string, [keyof PayPalSdkSchemas, Parameters<typeof driftFrom>[2]]> = {
  create_order: ['order', 'order'],
  get_order: ['order', 'order'],
  capture_order: ['order', 'order'],
  authorize_order: ['order', 'order'],
  capture_authorization: ['capturedPayment', 'capture'],
  void_authorization: ['paymentAuthorization', 'authorization'],
  refund_capture: ['refund', 'refund'],
  get_capture: ['capturedPayment', 'capture'],
  search_transactions: ['searchResponse', undefined],
};

describe("PayPal sandbox answers against the SDK's models", () => {
  it('the access token', async () => {
    const response = await fetch(`${base}/v1/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    // PayPal's documented token answer has app_id and nonce beside what the SDK's OAuthToken models.
    expect(driftFrom(schemas.oAuthToken, await response.json(), undefined, ['$.app_id', '$.nonce'])).toEqual([]);
  });

  it("every answer to Skerry's client and verifier in a capture, an authorize-capture, a void, a refund, a decline and a transaction search", async () => {
    const paid = await client.createPayment({ paymentId: 'pay_contract0001', amount: { value: 25_000, currency: 'EUR' }, reference: 'contract-1', captureMethod: 'automatic', idempotencyKey: 'contract-create-1' });
    await approve(paid.providerReference);
    expect(await client.getPayment(paid.providerReference)).toMatchObject({ status: 'succeeded' });
    const refund = await client.refundPayment({ providerReference: paid.providerReference, amount: 5_000, currency: 'EUR', idempotencyKey: 'contract-refund-1' });
    expect(refund.status).toBe('succeeded');

    const held = await client.createPayment({ paymentId: 'pay_contract0002', amount: { value: 8_000, currency: 'EUR' }, reference: 'contract-2', captureMethod: 'manual', idempotencyKey: 'contract-create-2' });
    await approve(held.providerReference);
    expect(await client.getPayment(held.providerReference)).toMatchObject({ status: 'requires_capture' });
    expect(await client.capturePayment({ providerReference: held.providerReference, amount: 8_000, idempotencyKey: 'contract-capture-2' })).toMatchObject({ status: 'succeeded' });

    const voided = await client.createPayment({ paymentId: 'pay_contract0003', amount: { value: 3_000, currency: 'EUR' }, reference: 'contract-3', captureMethod: 'manual', idempotencyKey: 'contract-create-3' });
    await approve(voided.providerReference);
    await client.getPayment(voided.providerReference);
    expect(await client.cancelPayment({ providerReference: voided.providerReference, idempotencyKey: 'contract-void-3', reason: 'requested' })).toMatchObject({ status: 'canceled' });

    const declined = await client.createPayment({ paymentId: 'pay_contract0004', amount: { value: 2_000, currency: 'EUR' }, reference: 'contract-4', captureMethod: 'automatic', idempotencyKey: 'contract-create-4' });
    expect((await fetch(`${base}/_control/payments/${declined.providerReference}/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    expect(await client.getPayment(declined.providerReference)).toMatchObject({ status: 'created' });

    const page = await client.listTransactions!({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
    expect(page.transactions.length).toBeGreaterThan(0);

    // The refund webhook, verified as Skerry verifies it: verify-webhook-signature, then the refunded capture.
    const refundEvent = [...paypalSandbox.store.events.values()].find((event) => event.event_type === 'PAYMENT.CAPTURE.REFUNDED')!;
    const body = JSON.stringify(refundEvent);
    const verifier = createPayPalWebhookVerifier({ webhookId: WEBHOOK_ID, connection });
    const [verified] = await verifier.verify({ rawBody: Buffer.from(body), headers: paypalSandbox.transmissionHeaders(refundEvent, body), url: '/webhooks/paypal' });
    expect(verified).toMatchObject({ providerReference: paid.providerReference });

    const operations = new Set(answers.map((answer) => answer.operation));
    expect([...operations].sort()).toEqual([...Object.keys(MODEL), 'verify_webhook_signature'].sort());
    const drift = answers.flatMap(({ operation, body: answer }) => {
      if (operation === 'verify_webhook_signature') {
        // Not modelled by the SDK; PayPal documents exactly one field, SUCCESS or FAILURE.
        const keys = Object.keys(answer as object);
        const status = (answer as { verification_status?: unknown }).verification_status;
        return keys.length === 1 && (status === 'SUCCESS' || status === 'FAILURE') ? [] : [`${operation}: ${JSON.stringify(answer)}`];
      }
      const [model, kind] = MODEL[operation]!;
      return driftFrom(schemas[model], answer, kind).map((problem) => `${operation} ${problem}`);
    });
    expect(drift).toEqual([]);
  });

  it("the webhook events' resources", () => {
    const resourceModel: Record<string, [keyof PayPalSdkSchemas, Parameters<typeof driftFrom>[2]]> = {
      'checkout-order': ['order', 'order'],
      capture: ['capturedPayment', 'capture'],
      authorization: ['paymentAuthorization', 'authorization'],
      refund: ['refund', 'refund'],
    };
    const events = [...paypalSandbox.store.events.values()];
    expect(new Set(events.map((event) => event.resource_type))).toEqual(new Set(Object.keys(resourceModel)));
    const drift = events.flatMap((event) => {
      const [model, kind] = resourceModel[event.resource_type]!;
      return driftFrom(schemas[model], event.resource, kind).map((problem) => `${event.event_type} ${problem}`);
    });
    expect(drift).toEqual([]);
  });

  it('fails on drift: a wrong type, an unknown field, a status outside the enum', async () => {
    const order = paypalSandbox.store.renderOrder([...paypalSandbox.store.orders.values()][0]!, 'representation') as Record<string, unknown> & { purchase_units: { amount: { value: unknown } }[] };
    expect(driftFrom(schemas.order, order, 'order')).toEqual([]);
    const wrongType = structuredClone(order);
    wrongType.purchase_units[0]!.amount.value = 250;
    expect(driftFrom(schemas.order, wrongType, 'order')).toEqual([expect.stringContaining('$.purchase_units.0.amount.value: 250')]);
    const { create_time: created, ...renamed } = order;
    expect(driftFrom(schemas.order, { ...renamed, created_time: created }, 'order')).toEqual(["$.created_time: not in the SDK's model"]);
    expect(driftFrom(schemas.order, { ...order, status: 'FINISHED' }, 'order')).toEqual(['$.status=FINISHED (not a order status)']);
    const capture = (order.purchase_units[0] as { payments?: { captures?: { final_capture: unknown }[] } }).payments!.captures![0]!;
    capture.final_capture = 'true';
    expect(driftFrom(schemas.order, order, 'order')).toEqual(['$.purchase_units[0].payments.captures[0].final_capture: "true" is a string where the SDK\'s model has a boolean']);
  });
});
