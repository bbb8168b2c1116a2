// The sandboxes remember, as the providers do: a sandbox rebuilt on the same data directory still
// knows every earlier payment (the restart of `npm start` that used to turn them all into
// `missing_at_provider`). Driven through the production clients, over HTTP and mutual TLS.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { ensureSwishSandboxCerts, type SwishSandboxCerts } from '../../sandbox/swish/certs';
import { startSwishApiServer } from '../../sandbox/swish/server';
import { SandboxPersistence } from '../../sandbox/shared/persistence';
import { createMobilePayClient } from '../../providers/mobilepay/client';
import { createSwishClient } from '../../providers/swish/client';

const MOBILEPAY = { clientId: 'persist-client', clientSecret: 'persist-secret', subscriptionKey: 'persist-sub', merchantSerialNumber: '223355' };
const PAYEE_ALIAS = '1234679304';

let root: string;
let certs: SwishSandboxCerts;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'skerry-sandbox-persistence-'));
  certs = await ensureSwishSandboxCerts(join(root, 'swish-sandbox'), { payeeAlias: PAYEE_ALIAS });
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** A sandbox on `dataDir`, listening, with its Swish API; `stop` closes both as npm start's exit does. */
async function startOn(dataDir: string) {
  const app = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, mobilepay: { credentials: [MOBILEPAY] }, dataDir });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const swishApi = await startSwishApiServer(sandboxHandles(app).swish, { certDir: join(root, 'swish-sandbox') });
  return { app, base, swishApi, stop: () => app.close() };
}

describe('sandboxes remember across restarts', () => {
  it('a MobilePay and a Swish sandbox restarted on the same data directory still know their payments', async () => {
    const dataDir = join(root, 'sandboxes');
    const first = await startOn(dataDir);
    const mobilepay = createMobilePayClient({ ...MOBILEPAY, apiBase: `${first.base}/mobilepay`, returnUrl: 'https://shop.example/r/{paymentId}' });
    const mp = await mobilepay.createPayment({
      paymentId: 'pay_persist0001',
      amount: { value: 2_500, currency: 'NOK' },
      reference: 'booking-1',
      captureMethod: 'manual',
      idempotencyKey: 'persist-mp-create',
    });
    expect((await fetch(`${first.base}/mobilepay/_control/payments/${mp.providerReference}/succeed`, { method: 'POST' })).status).toBe(200);

    const swishOptions = { payeeAlias: PAYEE_ALIAS, cert: certs.paths.clientCert, key: certs.paths.clientKey, ca: certs.caCert, callbackUrl: 'http://127.0.0.1:9/webhooks/swish' };
    const swishBefore = createSwishClient({ ...swishOptions, apiBase: first.swishApi.apiBase });
    const sw = await swishBefore.createPayment({ paymentId: 'pay_persist0002', amount: { value: 10_000, currency: 'SEK' }, reference: 'booking-2', captureMethod: 'automatic', idempotencyKey: 'persist-sw-create' });
    expect((await fetch(`${first.base}/swish/_control/payments/${sw.providerReference}/succeed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    await swishBefore.close();
    await first.stop();

    // Written atomically: the snapshots and no temporary file left behind.
    const files = await readdir(dataDir);
    expect(files).toEqual(expect.arrayContaining(['mobilepay.json', 'swish.json']));
    expect(files.filter((file) => !file.endsWith('.json'))).toEqual([]);

    const second = await startOn(dataDir);
    try {
      const mobilepayAfter = createMobilePayClient({ ...MOBILEPAY, apiBase: `${second.base}/mobilepay`, returnUrl: 'https://shop.example/r/{paymentId}' });
      expect(await mobilepayAfter.getPayment(mp.providerReference)).toMatchObject({ status: 'requires_capture', amountAuthorized: 2_500 });
      // It goes on where it stopped: the authorization is captured after the restart.
      expect(await mobilepayAfter.capturePayment({ providerReference: mp.providerReference, amount: 2_500, idempotencyKey: 'persist-mp-capture' })).toMatchObject({ status: 'succeeded', amountCaptured: 2_500 });

      const swishAfter = createSwishClient({ ...swishOptions, apiBase: second.swishApi.apiBase });
      expect(await swishAfter.getPayment(sw.providerReference)).toMatchObject({ status: 'succeeded', amountCaptured: 10_000 });
      await swishAfter.close();
    } finally {
      await second.stop();
    }
  });

  it('writes a changed snapshot by renaming a complete temporary file, and restores it', async () => {
    const dir = join(root, 'unit');
    const state = { value: { n: 1 } as { n: number } };
    const persistence = new SandboxPersistence({ dir, intervalMs: 60_000 });
    persistence.attach('thing', { snapshot: () => state.value, restore: (saved) => (state.value = saved as { n: number }) });
    persistence.flush();
    expect(JSON.parse(await readFile(join(dir, 'thing.json'), 'utf8'))).toEqual({ n: 1 });
    state.value = { n: 2 };
    persistence.close();
    expect(await readdir(dir)).toEqual(['thing.json']);

    const restored = { value: { n: 0 } };
    const again = new SandboxPersistence({ dir });
    again.attach('thing', { snapshot: () => restored.value, restore: (saved) => (restored.value = saved as { n: number }) });
    again.close();
    expect(restored.value).toEqual({ n: 2 });
  });
});

describe('the persistence timer and a large state', () => {
  it('looks at a state that is slow to serialize far less often than every interval, and still writes its last change on close', async () => {
    const dir = join(root, 'backoff');
    const persistence = new SandboxPersistence({ dir, intervalMs: 10 });
    let looks = 0;
    let version = 0;
    persistence.attach('slow', {
      snapshot() {
        looks += 1;
        // A serialization that takes 20 ms, as a state of tens of thousands of objects does.
        const until = performance.now() + 20;
        while (performance.now() < until);
        return { version };
      },
      restore() {},
    });
    const startedAt = performance.now();
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        version += 1;
        if (performance.now() - startedAt >= 1_000) {
          clearInterval(tick);
          resolve();
        }
      }, 10);
    });
    // Every 10 ms the timer would look about 35 times in a second (each look 20 ms); with each look
    // followed by a wait 20 times its own length, a handful.
    expect(looks).toBeLessThanOrEqual(6);
    persistence.close();
    expect(JSON.parse(await readFile(join(dir, 'slow.json'), 'utf8'))).toEqual({ version });
  });
});
