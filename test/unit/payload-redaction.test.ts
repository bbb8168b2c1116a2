// What the webhook inbox keeps of a provider's payload: ids, types, statuses, amounts, currencies,
// timestamps and references, and nothing of the payer or the client secret.
import { describe, expect, it } from 'vitest';
import { redactWebhookPayload } from '../../domain/payload-redaction';

/** A payment_intent.succeeded as Stripe sends it on API version 2020-08-27 (charges embedded, with the payer's billing details and card). */
const stripeEvent = {
  id: 'evt_3OqKx2LkdIwHu7ix0jT1Hc9L',
  object: 'event',
  api_version: '2020-08-27',
  created: 1709817600,
  data: {
    object: {
      id: 'pi_3OqKx2LkdIwHu7ix0m4Qf0a1',
      object: 'payment_intent',
      amount: 125000,
      amount_capturable: 0,
      amount_received: 125000,
      capture_method: 'automatic',
      charges: {
        object: 'list',
        data: [
          {
            id: 'ch_3OqKx2LkdIwHu7ix0eRg5sT2',
            object: 'charge',
            amount: 125000,
            billing_details: {
              address: { city: 'Tórshavn', country: 'FO', line1: 'Niels Finsens gøta 14', line2: null, postal_code: '100', state: null },
              email: 'sigrid.joensen@example.fo',
              name: 'Sigrid Joensen',
              phone: '+298 212345',
            },
            payment_method_details: { card: { brand: 'visa', exp_month: 8, exp_year: 2028, fingerprint: 'Xt5EWLLDS7FJjR1c', last4: '4242', country: 'US' }, type: 'card' },
            receipt_email: 'sigrid.joensen@example.fo',
            status: 'succeeded',
          },
        ],
        has_more: false,
        url: '/v1/charges?payment_intent=pi_3OqKx2LkdIwHu7ix0m4Qf0a1',
      },
      client_secret: 'pi_3OqKx2LkdIwHu7ix0m4Qf0a1_secret_vB2pQm8sXk4RZ0t9Yc3Lw1Nh',
      created: 1709817590,
      currency: 'dkk',
      customer: 'cus_PfG8n2yY1mW3kQ',
      description: 'Boat trip to Mykines for Sigrid Joensen',
      latest_charge: 'ch_3OqKx2LkdIwHu7ix0eRg5sT2',
      livemode: false,
      metadata: { skerry_payment_id: 'pay_01HR8Z6K3QJ9', skerry_reference: 'MYK-2027-0042', guest_email: 'sigrid.joensen@example.fo' },
      payment_method: 'pm_1OqKx1LkdIwHu7ixk2Jv8sQe',
      payment_method_types: ['card'],
      receipt_email: 'sigrid.joensen@example.fo',
      shipping: { address: { city: 'Tórshavn', country: 'FO', line1: 'Niels Finsens gøta 14', postal_code: '100' }, name: 'Sigrid Joensen', phone: '+298 212345' },
      status: 'succeeded',
    },
  },
  livemode: false,
  pending_webhooks: 1,
  request: { id: 'req_Vd3mS9kQ2LpX8a', idempotency_key: '6c7b1f2e-9a34-4e0b-8f1d-2b5e7c9a0d13' },
  type: 'payment_intent.succeeded',
};

describe('webhook payload redaction', () => {
  it('keeps the ids, type, amounts, currency, status, timestamps and Skerry references of a Stripe event', () => {
    const redacted = redactWebhookPayload('stripe', stripeEvent) as typeof stripeEvent;
    expect(redacted).toEqual({
      id: 'evt_3OqKx2LkdIwHu7ix0jT1Hc9L',
      object: 'event',
      api_version: '2020-08-27',
      created: 1709817600,
      data: {
        object: {
          id: 'pi_3OqKx2LkdIwHu7ix0m4Qf0a1',
          object: 'payment_intent',
          amount: 125000,
          amount_capturable: 0,
          amount_received: 125000,
          capture_method: 'automatic',
          created: 1709817590,
          currency: 'dkk',
          latest_charge: 'ch_3OqKx2LkdIwHu7ix0eRg5sT2',
          livemode: false,
          metadata: { skerry_payment_id: 'pay_01HR8Z6K3QJ9', skerry_reference: 'MYK-2027-0042' },
          status: 'succeeded',
        },
      },
      livemode: false,
      pending_webhooks: 1,
      request: { id: 'req_Vd3mS9kQ2LpX8a', idempotency_key: '6c7b1f2e-9a34-4e0b-8f1d-2b5e7c9a0d13' },
      type: 'payment_intent.succeeded',
    });
  });

  it('leaves no client secret, payer name, email, phone, address or card detail anywhere in the stored JSON', () => {
    const stored = JSON.stringify(redactWebhookPayload('stripe', stripeEvent));
    for (const secret of ['_secret_', 'Sigrid', 'Joensen', 'example.fo', '212345', 'Niels Finsens', 'Tórshavn', '4242', 'Xt5EWLLDS7FJjR1c', 'cus_PfG8n2yY1mW3kQ', 'pm_1OqKx1LkdIwHu7ixk2Jv8sQe']) {
      expect(stored).not.toContain(secret);
    }
  });

  it('drops a PayPal payer and shipping but keeps the capture, its amount and custom_id', () => {
    const event = {
      id: 'WH-2WR32451HC0233532-67976317FL4543714',
      event_type: 'PAYMENT.CAPTURE.COMPLETED',
      create_time: '2027-03-07T12:00:00Z',
      resource: {
        id: '5O190127TN364715T',
        status: 'COMPLETED',
        amount: { currency_code: 'EUR', value: '1250.00' },
        custom_id: 'pay_01HR8Z6K3QJ9',
        payer: { name: { given_name: 'Sigrid', surname: 'Joensen' }, email_address: 'sigrid.joensen@example.fo' },
        shipping: { address: { address_line_1: 'Niels Finsens gøta 14' } },
      },
    };
    expect(redactWebhookPayload('paypal', event)).toEqual({
      id: 'WH-2WR32451HC0233532-67976317FL4543714',
      event_type: 'PAYMENT.CAPTURE.COMPLETED',
      create_time: '2027-03-07T12:00:00Z',
      resource: { id: '5O190127TN364715T', status: 'COMPLETED', amount: { currency_code: 'EUR', value: '1250.00' }, custom_id: 'pay_01HR8Z6K3QJ9' },
    });
  });

  it('keeps only the common fields of a source it has no allowlist for', () => {
    expect(redactWebhookPayload('elsewhere', { id: 'e1', type: 't', status: 's', email: 'a@b.c', secret: 'x' })).toEqual({ id: 'e1', type: 't', status: 's' });
  });
});
