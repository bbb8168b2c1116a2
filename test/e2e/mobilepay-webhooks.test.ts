// `npx skerry mobilepay webhooks register|list|delete` against a MobilePay sandbox that delivers only
// to registered webhooks (as Vipps does): the CLI registers the public door, stores the returned
// secret sealed, and the API verifies a payment's webhooks with it; a second registration (a
// rotation) verifies beside the first; delete removes the registration and the stored secret.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import type { MobilePaySandbox } from '../../sandbox/mobilepay/sandbox';
import { providerWebhooks } from '../../db/schema';
import { eventually } from '../support/harness';
import { startStack, type Stack } from '../support/stack';
import { runSkerry } from '../support/cli';

const MOBILEPAY = { clientId: 'hooks-client', clientSecret: 'hooks-secret', subscriptionKey: 'hooks-sub', merchantSerialNumber: '778899' };

let vipps: FastifyInstance;
let vippsUrl: string;
let vippsSandbox: MobilePaySandbox;
let stack: Stack;
let cliEnv: Record<string, string>;

beforeAll(async () => {
  // Vipps with these keys only, and no webhook but those registered through its API.
  vipps = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, mobilepay: { credentials: [MOBILEPAY] } });
  vippsUrl = await vipps.listen({ host: '127.0.0.1', port: 0 });
  vippsSandbox = sandboxHandles(vipps).mobilepay;
  const mobilepayEnv = {
    MOBILEPAY_CLIENT_ID: MOBILEPAY.clientId,
    MOBILEPAY_CLIENT_SECRET: MOBILEPAY.clientSecret,
    MOBILEPAY_SUBSCRIPTION_KEY: MOBILEPAY.subscriptionKey,
    MOBILEPAY_MSN: MOBILEPAY.merchantSerialNumber,
    MOBILEPAY_API_BASE: `${vippsUrl}/mobilepay`,
    // Outside Skerry's own sandbox address, tokens and the stored secrets need a key of their own.
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  };
  stack = await startStack({ env: mobilepayEnv });
  cliEnv = { APP_ENV: 'development', DATABASE_URL: stack.databaseUrl, PUBLIC_URL: stack.publicUrl, ...mobilepayEnv };
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await vipps?.close();
});

// Only the variables given: nothing from the shell running the tests leaks into the configuration.
const skerry = (args: string[]) => runSkerry(args, { PATH: process.env.PATH ?? '', ...cliEnv });

async function payAndAuthorize(): Promise<string> {
  const created = await stack.http('POST', '/payments', {
    provider: 'mobilepay',
    amount: { value: 12_500, currency: 'DKK' },
    reference: `hooks-${Date.now()}`,
    captureMethod: 'manual',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const payment = await eventually(async () => {
    const read = await stack.http('GET', `/payments/${created.body.paymentId}`);
    return read.body.providerReference ? read.body : undefined;
  }, { what: 'the ePayment to exist' });
  const authorized = await fetch(`${vippsUrl}/mobilepay/_control/payments/${payment.providerReference}/succeed`, { method: 'POST' });
  expect(authorized.status).toBe(200);
  return created.body.paymentId as string;
}

/** The signed deliveries the sandbox made for `reference`'s AUTHORIZED event, by registration. */
const authorizedDeliveries = (reference: string) =>
  vippsSandbox.webhooks.recentAttempts().filter((attempt) => attempt.messageId.startsWith(`${reference}:AUTHORIZED:`));

describe('skerry mobilepay webhooks', () => {
  it('registers the public door, stores the secret sealed, and the API verifies deliveries with it', async () => {
    const registered = await skerry(['mobilepay', 'webhooks', 'register', '--json']);
    expect(registered.code, registered.stderr).toBe(0);
    const record = JSON.parse(registered.stdout) as { id: string; url: string; events: string[] };
    expect(record.url).toBe(`${stack.publicUrl}/webhooks/mobilepay`);
    expect(record.events).toEqual(expect.arrayContaining(['epayments.payment.authorized.v1', 'epayments.payment.refunded.v1']));
    expect(registered.stdout).not.toContain(vippsSandbox.registrations.get(record.id)!.secret);

    // At Vipps, the registration with its secret; in Postgres, that secret sealed for its row.
    const secret = vippsSandbox.registrations.get(record.id)!.secret;
    const [row] = await stack.database.db.select().from(providerWebhooks).where(eq(providerWebhooks.id, record.id));
    expect(row).toMatchObject({ provider: 'mobilepay', account: MOBILEPAY.merchantSerialNumber, url: record.url });
    expect(row!.secretEnc).toMatch(/^v2:[^:]+:/);
    expect(row!.secretEnc).not.toContain(secret);

    // A payment's webhook, signed with the registered secret, is accepted and moves the payment.
    const paymentId = await payAndAuthorize();
    await eventually(async () => (await stack.http('GET', `/payments/${paymentId}`)).body.status === 'requires_capture', { what: 'requires_capture' });
    const reference = (await stack.http('GET', `/payments/${paymentId}`)).body.providerReference as string;
    await eventually(() => authorizedDeliveries(reference).some((attempt) => attempt.status === 200), { what: 'the AUTHORIZED webhook answered 200' });
    expect(authorizedDeliveries(reference).filter((attempt) => attempt.status === 401)).toEqual([]);

    const listed = await skerry(['mobilepay', 'webhooks', 'list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([{ id: record.id, url: record.url, events: record.events.length, secret: 'stored' }]);
  });

  it('rotates without downtime: both registrations verify until the old one is deleted, then delete is final', async () => {
    const [first] = (JSON.parse((await skerry(['mobilepay', 'webhooks', 'list', '--json'])).stdout) as { id: string }[]);
    const second = await skerry(['mobilepay', 'webhooks', 'register', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const secondId = (JSON.parse(second.stdout) as { id: string }).id;

    // Each event goes to both registrations, each signed with its own secret: both are accepted.
    const paymentId = await payAndAuthorize();
    const reference = (await stack.http('GET', `/payments/${paymentId}`)).body.providerReference as string;
    await eventually(() => {
      const ok = authorizedDeliveries(reference).filter((attempt) => attempt.status === 200);
      return new Set(ok.map((attempt) => attempt.messageId.split('@')[1])).size === 2;
    }, { what: 'the AUTHORIZED webhook accepted through both registrations' });

    const deleted = await skerry(['mobilepay', 'webhooks', 'delete', first!.id, '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toEqual({ id: first!.id, deletedAtVipps: true, secretRemoved: true });
    expect(vippsSandbox.registrations.has(first!.id)).toBe(false);
    expect(await stack.database.db.select().from(providerWebhooks).where(eq(providerWebhooks.id, first!.id))).toEqual([]);

    const listed = JSON.parse((await skerry(['mobilepay', 'webhooks', 'list', '--json'])).stdout) as { id: string }[];
    expect(listed.map((entry) => entry.id)).toEqual([secondId]);
    // The remaining registration's secret still verifies.
    const next = await payAndAuthorize();
    const nextReference = (await stack.http('GET', `/payments/${next}`)).body.providerReference as string;
    await eventually(() => authorizedDeliveries(nextReference).some((attempt) => attempt.status === 200), { what: 'delivery after the rotation' });

    const again = await skerry(['mobilepay', 'webhooks', 'delete', first!.id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`no MobilePay webhook ${first!.id}`);
    expect((await skerry(['mobilepay', 'webhooks', 'delete', secondId])).code).toBe(0);
  });
});
