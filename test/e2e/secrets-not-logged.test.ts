// Secrets never reach the logs. The whole stack (API, worker, sandboxes) runs with distinctive
// secrets for every provider, logging at trace level into a captured stream, through the README's
// walkthrough: payments with webhooks on all four providers (a Swish payer alias and a MobilePay
// phone number among them), an OAuth token revoked mid-way, a refund, a forged webhook, an Airbnb
// host connected over OAuth, a Booking.com guest's reservation and a direct booking with the guest's
// e-mail. Then no configured secret, no token or code issued during the run, no client secret, and
// no e-mail address or phone number the run used is in the output.
import { Writable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { createLogger } from '../../observability/logger';
import { channelAccounts, oauthTokens, reservations } from '../../db/schema';
import { createTokenCipher } from '../../store/channel-accounts';
import { channelAccountTokenContext } from '../../store/sealed-tokens';
import { addDays } from '../../domain/dates';

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
      BOOKING_COM_POLL_INTERVAL_MS: '300',
      CHANNEL_SYNC_QUIET_MS: '150',
      CHANNEL_SYNC_MAX_DELAY_MS: '1000',
    }),
  });
});
afterAll(async () => stack?.close());

// Personal data the run hands to Skerry: none of it may be logged, in any spelling.
const GUEST = { name: 'Ingrid Probequist', email: 'ingrid.probequist@example.se' };
const BOOKING_COM_GUEST = 'Sigrid Probeberg';
const SWISH_PAYER = '46701234567';
const MOBILEPAY_PHONE = '4540123456';

let n = 0;
async function pay(provider: 'stripe' | 'paypal' | 'swish' | 'mobilepay', options: { payer?: string; payerAlias?: string } = {}) {
  const created = await stack.http('POST', '/payments', {
    provider,
    amount: { value: 30_000, currency: provider === 'mobilepay' ? 'DKK' : provider === 'swish' ? 'SEK' : 'EUR' },
    reference: `secrets-${provider}-${Date.now()}-${++n}`,
    ...(options.payer ? { payer: { alias: options.payer } } : {}),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const succeed = await stack.control(
    `/${provider}/_control/payments/${encodeURIComponent(created.body.providerReference)}/succeed`,
    options.payerAlias ? { payerAlias: options.payerAlias } : {},
  );
  expect(succeed.status, JSON.stringify(succeed.body)).toBe(200);
  await eventually(async () => (await stack.http('GET', `/payments/${created.body.paymentId}`)).body.status === 'succeeded', {
    timeoutMs: 30_000,
    what: `${provider} payment to succeed`,
  });
  return created.body as { paymentId: string; nextAction: Record<string, unknown> };
}

async function ok(method: string, path: string, body?: unknown, status = 200) {
  const response = await stack.http(method, path, body);
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
  return response.body;
}

/** Connects a sandbox Airbnb host as a browser would; answers the OAuth `code` the callback carried. */
async function connectAirbnbHost(hostId: string) {
  const start = await fetch(`${stack.apiUrl}/channels/airbnb/connect?hostHint=${hostId}`, { redirect: 'manual', headers: stack.authHeaders });
  expect(start.status).toBe(302);
  const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const callback = new URL(consent.headers.get('location')!);
  const code = callback.searchParams.get('code');
  expect(code).toBeTruthy();
  const connected = await fetch(`${stack.publicUrl}${callback.pathname}${callback.search}`);
  expect(connected.status).toBe(200);
  expect(await connected.json()).toMatchObject({ connected: true });
  return code!;
}

describe('secrets in logs', () => {
  it('never logs a configured secret or an issued access token', async () => {
    // The configuration really is the distinctive one (not the sandbox defaults).
    expect(stack.config.stripe.secretKey).toBe(SECRETS.STRIPE_SECRET_KEY);
    expect(stack.config.mobilepay.subscriptionKey).toBe(SECRETS.MOBILEPAY_SUBSCRIPTION_KEY);
    expect(stack.config.stripe.sandboxed).toBe(true);

    const stripe = await pay('stripe');
    const stripeClientSecret = (stripe.nextAction as { clientSecret?: string }).clientSecret;
    expect(stripeClientSecret).toMatch(/_secret_/);
    await pay('paypal');
    // Swish's e-commerce flow: the payer's number is given up front and the payer pays from it.
    const swish = await pay('swish', { payer: SWISH_PAYER, payerAlias: SWISH_PAYER });
    expect(swish.nextAction).toMatchObject({ type: 'swish_payer_alias', payerAlias: SWISH_PAYER });
    await pay('mobilepay', { payer: MOBILEPAY_PHONE });
    const mobilepay = (await pay('mobilepay')).paymentId;
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

    // The reservation side: an Airbnb host connected over OAuth, a unit on both channels, a
    // Booking.com guest's reservation and a direct booking paid with Stripe.
    const hostId = `hostprobe${Date.now()}`;
    const oauthCode = await connectAirbnbHost(hostId);
    const property = await ok('POST', '/properties', { name: 'Probe Archipelago', currency: 'SEK' }, 201);
    const unit = await ok('POST', `/properties/${property.id}/units`, { name: 'Sea cabin', count: 2 }, 201);
    const hotelId = String(3_000_000 + (Date.now() % 1_000_000));
    await ok('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: `${hotelId}01`, externalRateId: `${hotelId}9` }, 201);
    await ok('POST', `/units/${unit.id}/mappings`, { channel: 'airbnb', externalAccountId: hostId, externalListingId: `listingprobe${Date.now()}` }, 201);
    const from = '2027-06-01';
    await ok('PUT', `/units/${unit.id}/calendar`, { ranges: [{ from, to: addDays(from, 9), available: 2, price: { value: 120_000, currency: 'SEK' }, minNights: 1 }] });
    // The guest can book once the availability has reached Booking.com.
    const bookingCom = await eventually(async () => {
      const booked = await stack.control('/booking-com/_control/reservations', {
        hotelId,
        roomId: `${hotelId}01`,
        rateId: `${hotelId}9`,
        checkIn: addDays(from, 1),
        checkOut: addDays(from, 3),
        guestName: BOOKING_COM_GUEST,
      });
      return booked.status === 201 ? (booked.body as { resId: string }) : undefined;
    }, { timeoutMs: 30_000, what: 'the Booking.com guest booked' });
    await eventually(
      async () =>
        (await stack.database.db.select().from(reservations).where(and(eq(reservations.channel, 'booking_com'), eq(reservations.channelReservationId, bookingCom.resId)))).length > 0,
      { timeoutMs: 30_000, what: 'the Booking.com reservation taken in' },
    );
    const direct = await ok('POST', '/bookings', { unitId: unit.id, checkIn: addDays(from, 5), checkOut: addDays(from, 7), guest: GUEST, payment: { provider: 'stripe' } }, 201);
    const directClientSecret = direct.payment.nextAction.clientSecret as string;
    expect(directClientSecret).toMatch(/_secret_/);
    await stack.control(`/stripe/_control/payments/${direct.payment.providerReference}/succeed`);
    await eventually(async () => (await ok('GET', `/bookings/${direct.bookingId}`)).status === 'confirmed', { timeoutMs: 30_000, what: 'the direct booking confirmed' });
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
    // The Airbnb host's tokens and the one-time code they were exchanged for.
    const [account] = await stack.database.db
      .select()
      .from(channelAccounts)
      .where(and(eq(channelAccounts.channel, 'airbnb'), eq(channelAccounts.externalAccountId, hostId)));
    const airbnbAccess = cipher.decrypt(account!.accessTokenEnc, channelAccountTokenContext('airbnb', hostId, 'access'));
    const airbnbRefresh = cipher.decrypt(account!.refreshTokenEnc, channelAccountTokenContext('airbnb', hostId, 'refresh'));
    const issued = { 'the Airbnb access token': airbnbAccess, 'the Airbnb refresh token': airbnbRefresh, 'the Airbnb OAuth code': oauthCode };
    for (const [what, value] of Object.entries(issued)) {
      expect(value.length, what).toBeGreaterThan(10);
      expect(text.includes(value), `${what} appears in the logs`).toBe(false);
    }
    // What the payer's browser gets, what the stack authenticates with, and personal data.
    const exposed = {
      "the Stripe payment's client_secret": stripeClientSecret!,
      "the direct booking's client_secret": directClientSecret,
      'the API key': stack.apiKey,
      "the guest's e-mail": GUEST.email,
      "the Booking.com guest's name": BOOKING_COM_GUEST,
      "the direct guest's name": GUEST.name,
    };
    for (const [what, value] of Object.entries(exposed)) expect(text.includes(value), `${what} appears in the logs`).toBe(false);
    // Phone numbers however they are spaced (+46 70 123 45 67, 4540-123456).
    const unspaced = text.replace(/[ -]/g, '');
    for (const phone of [SWISH_PAYER, MOBILEPAY_PHONE]) expect(unspaced.includes(phone), `the phone number ${phone} appears in the logs`).toBe(false);
    expect(text).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/);
    expect(text).not.toMatch(/\b4242[ -]?4242[ -]?4242[ -]?4242\b/);
    expect(text).not.toMatch(/Bearer [A-Za-z0-9]/);
    expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8}/);
  });
});
