// PayPal, Swish and MobilePay end to end on the one payment workflow: HTTP API → workflow →
// production client → sandbox (OAuth, mutual TLS, HMAC webhooks) → webhook or callback → inbox →
// signal → ledger. The sandbox controls play the payer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { ledgerStatus } from '../faults/load';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { API_CREATE_WAIT_MS: '10000', PAYMENT_CONFIRM_WINDOW_MS: '3000' } });
});
afterAll(async () => stack?.close());

let n = 0;
async function create(provider: string, extra: Record<string, unknown> = {}) {
  const response = await stack.http('POST', '/payments', {
    provider,
    amount: { value: 45_000, currency: provider === 'swish' ? 'SEK' : provider === 'mobilepay' ? 'DKK' : 'EUR' },
    reference: `${provider}-${Date.now()}-${++n}`,
    description: 'Pitch 12, 3 nights',
    ...extra,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body.providerReference, JSON.stringify(response.body)).toBeTruthy();
  return response.body;
}
const payer = (provider: string, reference: string, action: string, body: unknown = {}) =>
  stack.control(`/${provider}/_control/payments/${encodeURIComponent(reference)}/${action}`, body);
const waitFor = (paymentId: string, status: string) =>
  eventually(async () => {
    const payment = (await stack.http('GET', `/payments/${paymentId}`)).body;
    return payment.status === status ? payment : undefined;
  }, { timeoutMs: 30_000, what: `${paymentId} to be ${status}` });

const nextActionType = { paypal: 'redirect', swish: 'swish_app', mobilepay: 'redirect' } as const;

describe.each(['paypal', 'swish', 'mobilepay'] as const)('%s on the payment workflow', (provider) => {
  it('completes when the payer approves, then refunds part and the rest', async () => {
    const created = await create(provider);
    expect(created.status).toBe('created');
    expect(created.nextAction.type).toBe(nextActionType[provider]);
    expect((await payer(provider, created.providerReference, 'succeed')).status).toBe(200);
    const paid = await waitFor(created.paymentId, 'succeeded');
    expect(paid.amountCaptured).toBe(45_000);
    await eventually(async () => (await ledgerStatus(stack, created.paymentId)) === 'succeeded');

    const partial = await stack.http('POST', `/payments/${created.paymentId}/refunds`, { amount: 15_000 });
    expect(partial.status, JSON.stringify(partial.body)).toBe(200);
    const afterPartial = await waitFor(created.paymentId, 'partially_refunded');
    expect(afterPartial.amountRefunded).toBe(15_000);
    const rest = await stack.http('POST', `/payments/${created.paymentId}/refunds`, {});
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    const refunded = await waitFor(created.paymentId, 'refunded');
    expect(refunded.amountRefunded).toBe(45_000);
  });

  it('fails when the payer is declined for good', async () => {
    const created = await create(provider);
    // PayPal's final decline is a denied capture; INSTRUMENT_DECLINED lets the payer try again (below).
    expect((await payer(provider, created.providerReference, 'fail', provider === 'paypal' ? { mode: 'capture_denied' } : {})).status).toBe(200);
    await waitFor(created.paymentId, 'failed');
  });

  it('applies duplicated and reordered webhooks once', async () => {
    await stack.control(`/${provider}/_control/faults`, { duplicateWebhooks: 1, reorderWebhooks: true, seed: 3 });
    try {
      const created = await create(provider);
      await payer(provider, created.providerReference, 'succeed');
      const paid = await waitFor(created.paymentId, 'succeeded');
      await stack.control(`/${provider}/_control/webhooks/flush`, { timeoutMs: 10_000, expedite: true });
      const final = (await stack.http('GET', `/payments/${paid.paymentId}`)).body;
      expect(final.status).toBe('succeeded');
      const transitions = final.events.filter((event: { statusBefore: string; statusAfter: string }) => event.statusAfter === 'succeeded' && event.statusBefore !== 'succeeded');
      expect(transitions).toHaveLength(1);
    } finally {
      await fetch(`${stack.sandboxUrl}/${provider}/_control/faults`, { method: 'DELETE' });
    }
  });
});

describe('provider differences', () => {
  it('PayPal: INSTRUMENT_DECLINED sends the payer back to approve, and another funding source pays', async () => {
    const created = await create('paypal');
    expect((await payer('paypal', created.providerReference, 'fail')).status).toBe(200);
    const declined = await eventually(async () => {
      const payment = (await stack.http('GET', `/payments/${created.paymentId}`)).body;
      return payment.failureReason ? payment : undefined;
    }, { timeoutMs: 30_000, what: `the decline of ${created.paymentId} to be observed` });
    expect(declined).toMatchObject({ status: 'created', amountCaptured: 0, nextAction: created.nextAction });
    expect(declined.failureReason).toMatch(/INSTRUMENT_DECLINED/);

    expect((await payer('paypal', created.providerReference, 'succeed')).status).toBe(200);
    const paid = await waitFor(created.paymentId, 'succeeded');
    expect(paid.amountCaptured).toBe(45_000);
    await eventually(async () => (await ledgerStatus(stack, created.paymentId)) === 'succeeded');
  });

  it('MobilePay and PayPal hold with manual capture and capture part of the hold', async () => {
    for (const provider of ['mobilepay', 'paypal'] as const) {
      const created = await create(provider, { captureMethod: 'manual' });
      await payer(provider, created.providerReference, 'succeed');
      await waitFor(created.paymentId, 'requires_capture');
      const captured = await stack.http('POST', `/payments/${created.paymentId}/capture`, { amount: 30_000 });
      expect(captured.status, JSON.stringify(captured.body)).toBe(200);
      expect(captured.body).toMatchObject({ status: 'succeeded', amountCaptured: 30_000 });
    }
  });

  it('Swish refuses manual capture with 409 and the reason', async () => {
    const response = await stack.http('POST', '/payments', { provider: 'swish', amount: { value: 1_000, currency: 'SEK' }, reference: 'manual-swish', captureMethod: 'manual' });
    expect(response.status).toBe(409);
    expect(response.body.message).toMatch(/swish does not support manual capture/);
  });

  it('MobilePay and Swish payments the payer abandons end expired', async () => {
    for (const provider of ['mobilepay', 'swish'] as const) {
      const created = await create(provider);
      expect((await payer(provider, created.providerReference, 'abandon')).status).toBe(200);
      await waitFor(created.paymentId, 'expired');
    }
  });

  it('a payment of each provider can be found by PaymentProvider and PaymentStatus', async () => {
    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const temporal = new Client({ connection, dataConverter: stack.dataConverter });
      for (const provider of ['paypal', 'swish', 'mobilepay']) {
        const found = await eventually(async () => {
          for await (const workflow of temporal.workflow.list({ query: `PaymentProvider = '${provider}' AND PaymentStatus = 'refunded'` })) return workflow;
          return undefined;
        }, { what: `a refunded ${provider} payment in visibility` });
        expect(found.type).toBe('paymentWorkflow');
      }
    } finally {
      await connection.close();
    }
  });
});
