// Secrets never reach the logs. The whole stack (API, worker, sandboxes) runs with distinctive
// secrets for every provider, logging at trace level into a captured stream, through payments with
// webhooks (Stripe, PayPal, MobilePay), an OAuth token revoked mid-way, a refund and a forged
// webhook. Then no configured secret, and no access token issued during the run, is in the output.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { createLogger } from '../../observability/logger';
import { oauthTokens } from '../../db/schema';
import { createTokenCipher } from '../../store/channel-accounts';

const SECRETS = {
  STRIPE_SECRET_KEY: 'sk_test_PROBEstripeKey5f3kq9w2',
  STRIPE_WEBHOOK_SECRET: 'whsec_PROBEstripeWebhook8v1x',
  PAYPAL_CLIENT_SECRET: 'PROBE-paypal-client-secret-71k',
  MOBILEPAY_CLIENT_SECRET: 'PROBE-mobilepay-client-secret-3nq',
  MOBILEPAY_SUBSCRIPTION_KEY: 'PROBEmobilepaySubscription9z',
  MOBILEPAY_WEBHOOK_SECRET: 'PROBE-mobilepay-webhook-secret-x4',
  TOKEN_ENCRYPTION_KEY: '5eC2e7a1b9d04f6c8e3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e',
};

const output: string[] = [];
const logger = createLogger({
  level: 'trace',
  destination: new Writable({
    write(chunk: Buffer, _encoding, done) {
      output.push(chunk.toString());
      done();
    },
  }),
});

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    logger,
    env: (ports) => ({
      ...SECRETS,
      LOG_LEVEL: 'trace',
      STRIPE_API_BASE: `${ports.sandboxUrl}/stripe`,
      PAYPAL_CLIENT_ID: 'probe-paypal-client',
      PAYPAL_API_BASE: `${ports.sandboxUrl}/paypal`,
      MOBILEPAY_CLIENT_ID: 'probe-mobilepay-client',
      MOBILEPAY_MSN: '654321',
      MOBILEPAY_API_BASE: `${ports.sandboxUrl}/mobilepay`,
      API_CREATE_WAIT_MS: '10000',
      PAYMENT_CONFIRM_WINDOW_MS: '3000',
    }),
  });
});
afterAll(async () => stack?.close());

let n = 0;
async function pay(provider: 'stripe' | 'paypal' | 'mobilepay') {
  const created = await stack.http('POST', '/payments', {
    provider,
    amount: { value: 30_000, currency: provider === 'mobilepay' ? 'DKK' : 'EUR' },
    reference: `secrets-${provider}-${Date.now()}-${++n}`,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await stack.control(`/${provider}/_control/payments/${encodeURIComponent(created.body.providerReference)}/succeed`);
  await eventually(async () => (await stack.http('GET', `/payments/${created.body.paymentId}`)).body.status === 'succeeded', {
    timeoutMs: 30_000,
    what: `${provider} payment to succeed`,
  });
  return created.body.paymentId as string;
}

describe('secrets in logs', () => {
  it('never logs a configured secret or an issued access token', async () => {
    // The configuration really is the distinctive one (not the sandbox defaults).
    expect(stack.config.stripe.secretKey).toBe(SECRETS.STRIPE_SECRET_KEY);
    expect(stack.config.mobilepay.subscriptionKey).toBe(SECRETS.MOBILEPAY_SUBSCRIPTION_KEY);
    expect(stack.config.stripe.sandboxed).toBe(true);

    await pay('stripe');
    await pay('paypal');
    const mobilepay = await pay('mobilepay');
    // A revoked token: the next call is refused (401), a new token is fetched, the call repeated.
    await stack.control('/mobilepay/_control/tokens/revoke');
    const refund = await stack.http('POST', `/payments/${mobilepay}/refunds`, { amount: 1_000 });
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    // A forged webhook is refused (and logged as refused).
    const forged = await fetch(`${stack.publicUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
      body: '{"id":"evt_forged","object":"event"}',
    });
    expect(forged.status).toBe(400);
    await stack.control('/stripe/_control/webhooks/flush', { timeoutMs: 10_000 });

    const text = output.join('');
    expect(text.length).toBeGreaterThan(10_000);
    expect(text).toContain('provider call');
    expect(text).toContain('webhook rejected');
    for (const [name, secret] of Object.entries(SECRETS)) expect(text.includes(secret), `${name} appears in the logs`).toBe(false);
    expect(text).not.toContain(Buffer.from(SECRETS.TOKEN_ENCRYPTION_KEY, 'hex').toString('base64'));

    // Every access token the run obtained (PayPal, MobilePay, before and after the revocation).
    const cipher = createTokenCipher(stack.config.channels.tokenEncryptionKey);
    const rows = await stack.database.db.select().from(oauthTokens);
    const tokens = rows.filter((row) => row.accessTokenEnc && (row.key.includes('probe-paypal-client') || row.key.includes('probe-mobilepay-client')));
    expect(tokens.length).toBe(2);
    for (const row of tokens) {
      const token = cipher.decrypt(row.accessTokenEnc!, `oauth:${row.key}:access`);
      expect(text.includes(token), `the ${row.provider} access token appears in the logs`).toBe(false);
    }
    expect(text).not.toMatch(/Bearer [A-Za-z0-9]/);
    expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8}/);
  });
});
