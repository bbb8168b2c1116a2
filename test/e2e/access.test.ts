// Who may do what (issue 15), against the real wiring: every admin route, read from the app's own
// route table, refuses a missing, unknown, revoked or wrong-scope key before anything happens — no
// row, no workflow, no provider call — and lets the right scope through. The two doors serve
// nothing of each other's; the admin door refuses a foreign Host and non-JSON writes, and refuses to
// start with a route the scope table does not know.
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import Stripe from 'stripe';
import { Client, Connection } from '@temporalio/client';
import { startStack, TEST_WEBHOOK_SECRET, type Stack } from '../support/stack';
import { startTestAccess } from '../support/access';
import { migrateDatabase } from '../../db/migrate';
import { API_SCOPES, oauthConnectStates, type ApiScope } from '../../db/schema';
import { buildAdminApp } from '../../api/app';
import { UnscopedRoutesError, type AdminRoute } from '../../api/auth/access';
import { ROUTE_SCOPES } from '../../api/auth/route-scopes';
import type { PaymentsClient } from '../../client/payments';
import type { WebhookInbox } from '../../store/webhook-inbox';
import type { WebhookDelivery } from '../../api/webhooks/delivery';

let stack: Stack;
let temporal: Client;
let connection: Connection;
let databaseUrl: string;

/** A database of this file's own, so counting every table's rows sees only this stack's writes. */
async function freshDatabase(): Promise<string> {
  const shared = inject('databaseUrl');
  const name = `access_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = postgres(shared, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(shared);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  return url.toString();
}

beforeAll(async () => {
  databaseUrl = await freshDatabase();
  stack = await startStack({
    databaseUrl,
    // Quiet in the background: no nightly schedules, no reservation polls while rows are counted.
    env: { CHANNEL_RESYNC_HOUR: 'off', RECONCILIATION_SCHEDULE_HOUR: 'off', BOOKING_COM_POLL_INTERVAL_MS: '3600000' },
  });
  connection = await Connection.connect({ address: stack.temporalAddress });
  temporal = new Client({ connection, namespace: 'default' });
});
afterAll(async () => {
  await connection?.close();
  await stack?.close();
  if (databaseUrl) {
    const admin = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${new URL(databaseUrl).pathname.slice(1)} with (force)`);
    await admin.end();
  }
});

const keyWith = async (scopes: readonly ApiScope[], name = `scoped ${scopes.join(' ')}`) => (await stack.api.keys.create({ name, scopes })).key;

/** A concrete URL for a route pattern: parameters and wildcards filled with a harmless value. */
const urlFor = (route: string) => route.replace(/:[A-Za-z]+/g, 'x1').replace(/\*\*?$/, 'x1').replace(/^\*$/, '/payments');

async function call(base: string, method: string, path: string, headers: Record<string, string> = {}) {
  const writes = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
  const response = await fetch(`${base}${path}`, {
    method,
    redirect: 'manual',
    headers: { ...(writes ? { 'content-type': 'application/json' } : {}), ...headers },
    body: writes ? '{}' : undefined,
  });
  await response.arrayBuffer();
  return response.status;
}

/** Everything a request could have left behind: every table's row count, this stack's workflows, provider writes. */
async function traces() {
  const tables = await stack.database.db.execute<{ name: string }>(sql`select table_name as name from information_schema.tables where table_schema = 'public' order by 1`);
  const rows: Record<string, number> = {};
  for (const { name } of tables) {
    // The processes' own bookkeeping, written on timers whatever requests come: quota reports, the
    // breaker row of a provider's first call and the hourly rollup of provider calls (the reservation
    // poll's calls, at start and on its schedule). A refused request's own provider calls would show
    // in providerWrites below.
    if (name === 'provider_quota_usage' || name === 'circuit_breakers' || name === 'provider_call_hours') continue;
    const [counted] = await stack.database.db.execute<{ n: string }>(sql`select count(*)::text as n from ${sql.identifier(name)}`);
    rows[name] = Number(counted!.n);
  }
  const workflows = (await temporal.workflow.count(`TaskQueue = "${stack.config.temporal.taskQueue}"`)).count;
  // Every request a provider sandbox saw that could change something there (reads are not traces).
  const providerWrites: Record<string, number> = {};
  for (const provider of ['stripe', 'paypal', 'mobilepay', 'booking-com', 'airbnb']) {
    const response = await fetch(`${stack.sandboxUrl}/${provider}/_control/request-log`);
    if (response.status !== 200) continue;
    const { requests } = (await response.json()) as { requests: Array<{ method: string }> };
    providerWrites[provider] = requests.filter((request) => request.method !== 'GET').length;
  }
  return { rows, workflows, providerWrites };
}

describe('every admin route needs a key with its scope', () => {
  it('reads the routes from the app itself, and every one of them is in the scope table', () => {
    const routes = stack.api.app.adminRoutes();
    const names = routes.map((route) => `${route.method} ${route.url}`);
    for (const expected of ['POST /payments', 'POST /payments/:id/refunds', 'GET /metrics', 'GET /providers', 'POST /webhooks/replay', 'GET /channels/airbnb/connect', 'POST /reconciliations', 'PUT /units/:id/calendar', 'POST /api-keys']) {
      expect(names).toContain(expected);
    }
    expect(routes.length).toBeGreaterThan(40);
  });

  it('answers 401 without a key, with an unknown or revoked key, and 403 with the wrong scope — and nothing happens', async () => {
    const routes = stack.api.app.adminRoutes().filter((route) => route.access.scope !== 'none');
    const revoked = await keyWith(API_SCOPES, 'revoked');
    await stack.api.keys.revoke(revoked.slice(0, 11));
    const withoutScope = new Map<ApiScope, string>();
    for (const scope of API_SCOPES) withoutScope.set(scope, await keyWith(API_SCOPES.filter((other) => other !== scope)));
    const before = await traces();

    const refusals: string[] = [];
    for (const route of routes) {
      const path = urlFor(route.url);
      const label = `${route.method} ${route.url}`;
      const expectStatus = async (status: number, headers: Record<string, string>, what: string) => {
        const got = await call(stack.apiUrl, route.method, path, headers);
        if (got !== status) refusals.push(`${label} ${what}: ${got}, expected ${status}`);
      };
      await expectStatus(401, {}, 'without a key');
      await expectStatus(401, { authorization: `Bearer sk_${'A'.repeat(43)}` }, 'with an unknown key');
      await expectStatus(401, { authorization: 'Basic dXNlcjpwYXNz' }, 'with another scheme');
      await expectStatus(401, { authorization: `Bearer ${revoked}` }, 'with a revoked key');
      await expectStatus(403, { authorization: `Bearer ${withoutScope.get(route.access.scope as ApiScope)!}`, 'idempotency-key': randomUUID() }, 'with every scope but its own');
    }
    expect(refusals).toEqual([]);

    const after = await traces();
    expect(after).toEqual(before);
  });

  it('lets the right scope through (whatever the handler then answers)', async () => {
    const routes = stack.api.app.adminRoutes();
    const keys = new Map<ApiScope, string>();
    for (const scope of API_SCOPES) keys.set(scope, await keyWith([scope]));
    const refused: string[] = [];
    for (const route of routes) {
      const headers: Record<string, string> = route.access.scope === 'none' ? {} : { authorization: `Bearer ${keys.get(route.access.scope)!}` };
      if (route.method === 'POST') headers['idempotency-key'] = randomUUID();
      const status = await call(stack.apiUrl, route.method, urlFor(route.url), headers);
      if (status === 401 || status === 403 || status === 415 || status >= 500) refused.push(`${route.method} ${route.url}: ${status}`);
    }
    expect(refused).toEqual([]);
  });

  it('needs no key for liveness and the API documentation, which names each operation’s scope', async () => {
    expect(await call(stack.apiUrl, 'GET', '/health')).toBe(200);
    const doc = (await (await fetch(`${stack.apiUrl}/docs/json`)).json()) as { paths: Record<string, Record<string, { description?: string }>>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.components.securitySchemes).toHaveProperty('apiKey');
    expect(doc.paths['/payments/{id}/refunds']!.post!.description).toContain('refunds:write');
  });
});

describe('the two doors', () => {
  it('serves no admin route on the public door', async () => {
    // Liveness and readiness are on both doors; everything that needs a key is on the admin door only.
    const routes = stack.api.app.adminRoutes().filter((route: AdminRoute) => route.access.scope !== 'none');
    const served: string[] = [];
    for (const route of routes) {
      const status = await call(stack.publicUrl, route.method, urlFor(route.url), { ...stack.authHeaders, 'idempotency-key': randomUUID() });
      if (status !== 404) served.push(`${route.method} ${route.url}: ${status}`);
    }
    expect(served).toEqual([]);
    expect(await call(stack.publicUrl, 'GET', '/docs')).toBe(404);
    expect(await call(stack.publicUrl, 'GET', '/health')).toBe(200);
  });

  it('takes a signed webhook only on the public door: the admin door answers 404', async () => {
    const payload = JSON.stringify({ id: `evt_doors_${Date.now()}`, object: 'event', type: 'customer.created', created: Math.floor(Date.now() / 1000), data: { object: { id: 'cus_x', object: 'customer' } } });
    const signature = new Stripe('sk_test_x').webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET });
    const post = (base: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature, ...headers }, body: payload });
    expect((await post(stack.apiUrl)).status).toBe(404);
    expect((await post(stack.apiUrl, stack.authHeaders)).status).toBe(404);
    expect((await post(stack.publicUrl)).status).toBe(200);
  });
});

/** A real HTTP request with a Host header of our choosing (fetch does not let a caller set it). */
function requestWithHost(url: string, host: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers: { ...headers, host } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('browser safety on the admin door', () => {
  it('answers 421 to a foreign Host (DNS rebinding), with or without a key', async () => {
    expect((await requestWithHost(`${stack.apiUrl}/payments/pay_abcdef123456`, 'attacker.example')).status).toBe(421);
    expect((await requestWithHost(`${stack.apiUrl}/payments/pay_abcdef123456`, 'attacker.example:80', 'GET', stack.authHeaders)).status).toBe(421);
    expect((await requestWithHost(`${stack.apiUrl}/health`, 'rebind.attacker.example')).status).toBe(421);
    expect((await requestWithHost(`${stack.apiUrl}/payments/pay_abcdef123456`, new URL(stack.apiUrl).host, 'GET', stack.authHeaders)).status).toBe(404);
    expect((await requestWithHost(`${stack.apiUrl}/health`, `localhost:${new URL(stack.apiUrl).port}`)).status).toBe(200);
  });

  it('sends no CORS headers unless origins are configured', async () => {
    const response = await fetch(`${stack.apiUrl}/payments/pay_abcdef123456`, { headers: { ...stack.authHeaders, origin: 'https://attacker.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${stack.apiUrl}/payments`, { method: 'OPTIONS', headers: { origin: 'https://attacker.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('takes state-changing requests only as JSON (415), an empty body included', async () => {
    const post = (headers: Record<string, string>, body?: string) =>
      fetch(`${stack.apiUrl}/payments/pay_abcdef123456/cancel`, { method: 'POST', headers: { ...stack.authHeaders, ...headers }, body });
    expect((await post({})).status).toBe(415);
    expect((await post({ 'content-type': 'text/plain' }, '{}')).status).toBe(415);
    expect((await post({ 'content-type': 'application/x-www-form-urlencoded' }, 'a=1')).status).toBe(415);
    expect((await post({ 'content-type': 'application/json' }, '{}')).status).toBe(404);
  });
});

describe('the scope table is complete', () => {
  it('refuses to build an admin app with a route the table does not name', async () => {
    const access = await startTestAccess();
    try {
      const build = (extra: string) =>
        buildAdminApp({
          payments: {} as PaymentsClient,
          inbox: {} as WebhookInbox,
          delivery: {} as WebhookDelivery,
          access: access.access,
          extend: (app) => {
            app.post(extra, async () => ({ done: true }));
          },
        });
      await expect(build('/payments/:id/sneaky-refund')).rejects.toThrow(UnscopedRoutesError);
      await expect(build('/payments/:id/sneaky-refund')).rejects.toThrow(/POST \/payments\/:id\/sneaky-refund/);
      // The same route once named in a table is served, behind its scope.
      const app = await buildAdminApp({
        payments: {} as PaymentsClient,
        inbox: {} as WebhookInbox,
        delivery: {} as WebhookDelivery,
        access: { ...access.access, routeScopes: { ...ROUTE_SCOPES, 'POST /payments/:id/sneaky-refund': { scope: 'refunds:write' } } },
        extend: (admin) => {
          admin.post('/payments/:id/sneaky-refund', async () => ({ done: true }));
        },
      });
      expect((await app.inject({ method: 'POST', url: '/payments/x/sneaky-refund', payload: {} })).statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url: '/payments/x/sneaky-refund', payload: {}, headers: access.headers })).statusCode).toBe(200);
      await app.close();
    } finally {
      await access.close();
    }
  });
});

describe('API keys', () => {
  it('are stored as a hash with a display prefix, record their use, and stop working when revoked', async () => {
    const created = await fetch(`${stack.apiUrl}/api-keys`, {
      method: 'POST',
      headers: { ...stack.authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'reader', scopes: ['read'] }),
    });
    expect(created.status).toBe(201);
    const { id, key, prefix } = (await created.json()) as { id: string; key: string; prefix: string };
    expect(key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(prefix)).toBe(true);
    const [row] = await stack.database.db.execute<Record<string, unknown>>(sql`select * from api_keys where id = ${id}`);
    expect(JSON.stringify(row)).not.toContain(key);
    expect(row!.last_used_at).toBeNull();

    expect(await call(stack.apiUrl, 'GET', '/api-keys', { authorization: `Bearer ${key}` })).toBe(403);
    expect(await call(stack.apiUrl, 'GET', '/providers', { authorization: `Bearer ${key}` })).toBe(200);
    const [used] = await stack.database.db.execute<Record<string, unknown>>(sql`select last_used_at from api_keys where id = ${id}`);
    expect(used!.last_used_at).not.toBeNull();

    expect(await call(stack.apiUrl, 'POST', `/api-keys/${id}/revoke`, stack.authHeaders)).toBe(200);
    expect(await call(stack.apiUrl, 'GET', '/providers', { authorization: `Bearer ${key}` })).toBe(401);
    const listed = (await (await fetch(`${stack.apiUrl}/api-keys`, { headers: stack.authHeaders })).json()) as { keys: Array<{ id: string; revoked: boolean }> };
    expect(listed.keys.find((entry) => entry.id === id)).toMatchObject({ revoked: true });
    expect(JSON.stringify(listed)).not.toContain(key);
  });

  it('bootstraps a key from the environment once, and never brings a revoked one back', async () => {
    const bootstrap = `sk_${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '')}`;
    const first = await stack.api.keys.ensure(bootstrap, { name: 'bootstrap', scopes: API_SCOPES });
    expect(first.created).toBe(true);
    expect((await stack.api.keys.ensure(bootstrap, { name: 'bootstrap', scopes: API_SCOPES })).created).toBe(false);
    expect(await call(stack.apiUrl, 'GET', '/providers', { authorization: `Bearer ${bootstrap}` })).toBe(200);
    await stack.api.keys.revoke(first.record.id);
    const again = await stack.api.keys.ensure(bootstrap, { name: 'bootstrap', scopes: API_SCOPES });
    expect(again).toMatchObject({ created: false, record: { revoked: true } });
    expect(await call(stack.apiUrl, 'GET', '/providers', { authorization: `Bearer ${bootstrap}` })).toBe(401);
  });
});

describe('the Airbnb connect is bound to the key that started it', () => {
  async function start(key: string) {
    const response = await fetch(`${stack.apiUrl}/channels/airbnb/connect?hostHint=host-${randomUUID().slice(0, 6)}`, { redirect: 'manual', headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(302);
    const consent = await fetch(response.headers.get('location')!, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const callback = new URL(consent.headers.get('location')!);
    expect(callback.origin).toBe(new URL(stack.publicUrl).origin);
    return `${stack.publicUrl}${callback.pathname}${callback.search}`;
  }

  it('completes once, and not after the key is revoked or the connect has expired', async () => {
    const key = await keyWith(['channels:admin']);
    const callback = await start(key);
    expect((await fetch(callback)).status).toBe(200);
    expect((await fetch(callback)).status).toBe(400);

    const revokedLater = await start(key);
    await stack.api.keys.revoke(key.slice(0, 11));
    const refused = await fetch(revokedLater);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_state');

    const other = await keyWith(['channels:admin']);
    const expiring = await start(other);
    await stack.database.db.update(oauthConnectStates).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(oauthConnectStates.apiKeyId, (await stack.api.keys.authenticate(other))!.id));
    expect((await fetch(expiring)).status).toBe(400);

    const forged = new URL(expiring);
    forged.searchParams.set('state', 'made-up-state');
    expect((await fetch(forged)).status).toBe(400);
  });

  it('gives the console the consent URL as JSON (a navigation cannot carry the key), and the host\'s browser a page at the callback', async () => {
    const key = await keyWith(['channels:admin']);
    const hostId = `host-${randomUUID().slice(0, 6)}`;
    const answer = await fetch(`${stack.apiUrl}/channels/airbnb/connect?respond=json&hostHint=${hostId}`, { redirect: 'manual', headers: { authorization: `Bearer ${key}` } });
    expect(answer.status).toBe(200);
    const { authorizeUrl, expiresAt } = (await answer.json()) as { authorizeUrl: string; expiresAt: string };
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const consent = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const callback = new URL(consent.headers.get('location')!);
    const page = await fetch(`${stack.publicUrl}${callback.pathname}${callback.search}`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain(`Airbnb host ${hostId} is connected to Skerry`);
    const hosts = await fetch(`${stack.apiUrl}/channels/airbnb/accounts`, { headers: stack.authHeaders });
    expect(((await hosts.json()) as { accounts: Array<{ externalAccountId: string }> }).accounts.map((account) => account.externalAccountId)).toContain(hostId);
  });
});
