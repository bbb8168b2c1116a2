import { describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { createStripeWebhookVerifier } from '../../providers/stripe/webhooks';
import { WebhookVerificationError } from '../../providers/types';

const sdk = new Stripe('sk_test_x');
const OLD = 'whsec_old_secret_value';
const NEW = 'whsec_new_secret_value';

const intentEvent = (status: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: `evt_${status}`,
    object: 'event',
    type: `payment_intent.${status === 'succeeded' ? 'succeeded' : 'processing'}`,
    created: 1_700_000_000,
    data: {
      object: {
        id: 'pi_123',
        object: 'payment_intent',
        amount: 5_000,
        amount_capturable: 0,
        amount_received: status === 'succeeded' ? 5_000 : 0,
        currency: 'sek',
        status,
        capture_method: 'automatic',
        client_secret: 'pi_123_secret_abc',
        metadata: { skerry_payment_id: 'pay_abc', skerry_reference: 'B-7' },
        last_payment_error: null,
        ...extra,
      },
    },
  });

const signed = (payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) => ({
  rawBody: Buffer.from(payload),
  headers: { 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret, timestamp }) },
  url: '/webhooks/stripe',
});

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('Stripe webhook verification', () => {
  const verifier = createStripeWebhookVerifier({ secrets: () => [NEW], toleranceSeconds: 300 });

  it('accepts a correctly signed event and normalizes it', async () => {
    const [event] = await verifier.verify(signed(intentEvent('succeeded'), NEW));
    expect(event).toMatchObject({
      provider: 'stripe',
      eventId: 'evt_succeeded',
      paymentId: 'pay_abc',
      providerReference: 'pi_123',
      delivery: 'observation',
      observation: { status: 'succeeded', amountCaptured: 5_000, source: 'webhook' },
      adopt: { amount: { value: 5_000, currency: 'SEK' }, reference: 'B-7', captureMethod: 'automatic' },
    });
  });

  it('refuses a missing, forged, tampered or wrong-secret signature', async () => {
    const payload = intentEvent('succeeded');
    expect(await reason(verifier.verify({ rawBody: Buffer.from(payload), headers: {}, url: '/' }))).toBe('missing_signature');
    expect(await reason(verifier.verify(signed(payload, 'whsec_attacker')))).toBe('bad_signature');
    const tampered = signed(payload, NEW);
    tampered.rawBody = Buffer.from(payload.replace('5000', '1'));
    expect(await reason(verifier.verify(tampered))).toBe('bad_signature');
    const garbage = { ...signed(payload, NEW), headers: { 'stripe-signature': 'nonsense' } };
    expect(await reason(verifier.verify(garbage))).toBe('malformed');
  });

  it('refuses stale and future timestamps beyond the tolerance', async () => {
    // The verifier's clock is pinned to the test's: a second boundary between the lines changes nothing.
    const now = Math.floor(Date.now() / 1000);
    const at = (timestamp: number) => ({ ...signed(intentEvent('succeeded'), NEW, timestamp), now: new Date(now * 1000) });
    expect(await reason(verifier.verify(at(now - 301)))).toBe('stale');
    expect(await reason(verifier.verify(at(now + 301)))).toBe('stale');
    expect(await reason(verifier.verify(at(now - 299)))).toBe('accepted');
  });

  it('accepts old and new secrets during a rotation, and only the new one after it', async () => {
    let secrets = [OLD, NEW];
    const rotating = createStripeWebhookVerifier({ secrets: () => secrets, toleranceSeconds: 300 });
    expect(await reason(rotating.verify(signed(intentEvent('succeeded'), OLD)))).toBe('accepted');
    expect(await reason(rotating.verify(signed(intentEvent('succeeded'), NEW)))).toBe('accepted');
    secrets = [NEW];
    expect(await reason(rotating.verify(signed(intentEvent('succeeded'), OLD)))).toBe('bad_signature');
  });

  it('maps a decline to a failed attempt (the customer may try another card) and an abandoned cancellation to expired', async () => {
    const [declined] = await verifier.verify(
      signed(intentEvent('requires_payment_method', { last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds', message: 'declined' } }), NEW),
    );
    expect(declined?.observation?.status).toBe('created');
    expect(declined?.observation?.failureReason).toContain('insufficient_funds');
    const [expired] = await verifier.verify(signed(intentEvent('canceled', { cancellation_reason: 'abandoned' }), NEW));
    expect(expired?.observation?.status).toBe('expired');
  });

  it('stores unknown event types without delivering them', async () => {
    const payload = JSON.stringify({ id: 'evt_payout', object: 'event', type: 'payout.paid', created: 1, data: { object: { id: 'po_1', object: 'payout' } } });
    const [event] = await verifier.verify(signed(payload, NEW));
    expect(event?.delivery).toBe('none');
  });
});
