// F7: forged, tampered and wrong-secret webhooks are refused with 400: no inbox row, no signal.
//     A rotated secret passes while the overlap lasts.
// F8: stale timestamps are refused.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { count, like } from 'drizzle-orm';
import Stripe from 'stripe';
import { startStack, TEST_WEBHOOK_SECRET, type Stack } from '../support/stack';
import { webhookInbox } from '../../db/schema';

const ROTATED = 'whsec_rotated_new_secret';
const sdk = new Stripe('sk_test_x');
let stack: Stack;
beforeAll(async () => {
  // During the rotation both the old (TEST_WEBHOOK_SECRET) and the new secret are configured.
  stack = await startStack({ env: { STRIPE_WEBHOOK_SECRET: `${TEST_WEBHOOK_SECRET},${ROTATED}` } });
});
afterAll(async () => stack?.close());

const event = (id: string) =>
  JSON.stringify({
    id,
    object: 'event',
    type: 'payment_intent.succeeded',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: 'pi_f7', object: 'payment_intent', amount: 1_000, amount_received: 1_000, amount_capturable: 0, currency: 'sek', status: 'succeeded', metadata: { skerry_payment_id: 'pay_f7000000000000000000000' } } },
  });

async function post(body: string, signature?: string) {
  const response = await fetch(`${stack.publicUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) },
    body,
  });
  return { status: response.status, body: (await response.json()) as { reason?: string } };
}

it('F7/F8: refuses forged, tampered, wrong-secret, unsigned and stale webhooks with 400 and records none of them', async () => {
  const prefix = `evt_f7_${Date.now()}`;
  const now = Math.floor(Date.now() / 1000);
  const payload = event(`${prefix}_a`);
  const attempts = [
    { name: 'unsigned', ...(await post(payload)) },
    { name: 'wrong secret', ...(await post(payload, sdk.webhooks.generateTestHeaderString({ payload, secret: 'whsec_someone_else' }))) },
    { name: 'forged signature', ...(await post(payload, `t=${now},v1=${'ab'.repeat(32)}`)) },
    {
      name: 'tampered body',
      ...(await post(payload.replace('1000', '999999'), sdk.webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET }))),
    },
    { name: 'malformed header', ...(await post(payload, 'v1=deadbeef')) },
    { name: 'stale (F8)', ...(await post(payload, sdk.webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET, timestamp: now - 301 }))) },
    // `now` was read before the requests above: the server's clock may be a second or two further on.
    { name: 'future (F8)', ...(await post(payload, sdk.webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET, timestamp: now + 305 }))) },
  ];
  console.log(`[F7/F8] ${JSON.stringify(attempts.map(({ name, status, body }) => ({ name, status, reason: body.reason })))}`);
  for (const attempt of attempts) expect(attempt.status, attempt.name).toBe(400);
  expect(attempts.find((attempt) => attempt.name === 'stale (F8)')?.body.reason).toBe('stale');
  const [rows] = await stack.database.db.select({ n: count() }).from(webhookInbox).where(like(webhookInbox.eventId, `${prefix}%`));
  expect(rows?.n).toBe(0);
});

it('F7: accepts both the old and the rotated secret during the overlap', async () => {
  const prefix = `evt_f7r_${Date.now()}`;
  const old = event(`${prefix}_old`);
  const rotated = event(`${prefix}_new`);
  expect((await post(old, sdk.webhooks.generateTestHeaderString({ payload: old, secret: TEST_WEBHOOK_SECRET }))).status).toBe(200);
  expect((await post(rotated, sdk.webhooks.generateTestHeaderString({ payload: rotated, secret: ROTATED }))).status).toBe(200);
  const [rows] = await stack.database.db.select({ n: count() }).from(webhookInbox).where(like(webhookInbox.eventId, `${prefix}%`));
  expect(rows?.n).toBe(2);
});
