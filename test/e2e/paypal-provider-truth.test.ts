// PayPal as the payer and the merchant meet it, through the whole stack: an order carries the public
// door's return page as its return_url/cancel_url (derived from PUBLIC_URL), and a refund webhook is
// applied only to the payment that owns the refunded capture's order — a refund whose inherited
// custom_id names a Skerry payment on an order Skerry never made is recorded and refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEFAULTS } from '../../config';
import { eventually } from '../support/harness';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

async function succeededPayment(): Promise<{ paymentId: string; orderId: string }> {
  const created = await stack.http('POST', '/payments', { provider: 'paypal', amount: { value: 30_000, currency: 'EUR' }, reference: `truth-${Date.now()}`, captureMethod: 'automatic' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const paymentId = created.body.paymentId as string;
  const orderId = (
    await eventually(async () => {
      const read = await stack.http('GET', `/payments/${paymentId}`);
      return read.body.providerReference ? read.body : undefined;
    }, { what: 'the order to exist' })
  ).providerReference as string;
  expect((await stack.control(`/paypal/_control/payments/${orderId}/succeed`)).status).toBe(200);
  await eventually(async () => (await stack.http('GET', `/payments/${paymentId}`)).body.status === 'succeeded', { what: 'succeeded' });
  return { paymentId, orderId };
}

describe('PayPal provider truth', () => {
  it("orders bring the payer back to the public door's return page for the payment", async () => {
    const created = await stack.http('POST', '/payments', { provider: 'paypal', amount: { value: 12_000, currency: 'EUR' }, reference: 'truth-return', captureMethod: 'automatic' });
    expect(created.status).toBe(201);
    const paymentId = created.body.paymentId as string;
    const payment = await eventually(async () => {
      const read = await stack.http('GET', `/payments/${paymentId}`);
      return read.body.providerReference ? read.body : undefined;
    }, { what: 'the order to exist' });
    const order = stack.sandboxes.handles.paypal.store.getOrder(payment.providerReference);
    expect(order.status).toBe('PAYER_ACTION_REQUIRED');
    expect(order.experience).toMatchObject({
      returnUrl: `${stack.publicUrl}/payments/${paymentId}/return`,
      cancelUrl: `${stack.publicUrl}/payments/${paymentId}/return?cancelled=true`,
      userAction: 'PAY_NOW',
    });
    // The payer's next action is PayPal's page for the order; coming back, the return page answers.
    expect(payment.nextAction).toMatchObject({ type: 'redirect', url: expect.stringContaining(`token=${payment.providerReference}`) });
    const back = await fetch(`${order.experience!.returnUrl}?token=${payment.providerReference}&PayerID=PAYER1`);
    expect(back.status).toBe(200);
    // PAYER_ACTION_REQUIRED until the payer approves: as a CREATED order, it waits for the payer.
    expect(payment.status).toBe('created');
    expect(await back.text()).toContain('We are waiting for your payment.');
  });

  it("applies the payment's own refund and refuses a refund whose custom_id names it on another order", async () => {
    const { paymentId, orderId } = await succeededPayment();

    // An order Skerry never made (another shop on the same PayPal account), carrying the payment's id
    // as custom_id, captured and then refunded at PayPal.
    const seeded = await stack.control('/paypal/_control/history', { payments: [{ amount: 4_000, currency: 'EUR', createdMs: Date.now(), customId: paymentId, invoiceId: `elsewhere-${paymentId}` }] });
    expect(seeded.status).toBe(200);
    const foreign = (seeded.body as { orders: { id: string; capture: string }[] }).orders[0]!;
    const token = await fetch(`${stack.sandboxUrl}/paypal/v1/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${SANDBOX_DEFAULTS.paypalClientId}:${SANDBOX_DEFAULTS.paypalClientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    }).then((response) => response.json() as Promise<{ access_token: string }>);
    const refunded = await fetch(`${stack.sandboxUrl}/paypal/v2/payments/captures/${foreign.capture}/refund`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json', 'paypal-request-id': `foreign-${paymentId}` },
      body: JSON.stringify({ amount: { value: '40.00', currency_code: 'EUR' } }),
    });
    expect(refunded.status).toBe(201);

    const refusedRow = await eventually(async () => {
      const inbox = await stack.http('GET', '/webhooks?provider=paypal&status=unmatched&limit=100');
      return (inbox.body.items as { eventType: string; paymentId: string | null; lastError: string | null; providerReference: string | null }[]).find(
        (item) => item.eventType === 'PAYMENT.CAPTURE.REFUNDED' && item.paymentId === paymentId,
      );
    }, { what: 'the foreign refund recorded and refused' });
    expect(refusedRow.providerReference).toBe(foreign.id);
    expect(refusedRow.lastError).toBe(`refund names payment ${paymentId}, but paypal ${foreign.id} is not that payment's: not applied`);
    expect((await stack.http('GET', `/payments/${paymentId}`)).body).toMatchObject({ status: 'succeeded', amountRefunded: 0 });

    // The payment's own refund, whose webhook names the same custom_id on its own order, is applied.
    const own = await stack.http('POST', `/payments/${paymentId}/refunds`, { amount: 10_000 });
    expect(own.status, JSON.stringify(own.body)).toBeLessThan(300);
    await eventually(async () => {
      const inbox = await stack.http('GET', '/webhooks?provider=paypal&status=delivered&limit=100');
      return (inbox.body.items as { eventType: string; providerReference: string | null }[]).some(
        (item) => item.eventType === 'PAYMENT.CAPTURE.REFUNDED' && item.providerReference === orderId,
      );
    }, { what: "the payment's own refund webhook delivered" });
    expect((await stack.http('GET', `/payments/${paymentId}`)).body).toMatchObject({ status: 'partially_refunded', amountRefunded: 10_000 });
  });
});
