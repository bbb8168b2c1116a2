// F12: outages answer, they do not hang. With Temporal stopped, creating a payment and refunding
// one answer 503 with Retry-After within their deadlines and /ready names Temporal; with Postgres
// stopped, the inventory routes do the same and /ready names Postgres. Once the dependency is
// back, the same requests (same Idempotency-Keys) go through and nothing is lost.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { ensureBinary } from '../../stack/binaries';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporal-dev-server';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../stack/embedded-postgres';
import { freePort } from '../../stack/ports';
import { migrateDatabase } from '../../db/migrate';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { DEFAULT_PAYMENT_DEADLINES } from '../../client/payments';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { createPayments, payAndAwait } from './load';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** Room for a loaded machine between the deadline passing and the answer arriving. */
const SLACK_MS = 10_000;

type HttpAnswer = Awaited<ReturnType<Stack['http']>>;

async function timed(call: () => Promise<HttpAnswer>) {
  const started = Date.now();
  const response = await call();
  return { ...response, elapsedMs: Date.now() - started };
}

function expectUnavailable(response: HttpAnswer, dependency: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(response.body).toMatchObject({ error: 'unavailable', dependency });
}

it('F12a: with Temporal stopped, POST /payments and POST /payments/:id/refunds answer 503 within their deadlines; after the restart both go through', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skerry-f12a-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const cliPath = await ensureBinary('temporal', { log: () => {} });
  const serverOptions = { cliPath, port: await freePort(), headless: true, dbFile: join(dir, 'temporal.db'), namespace: 'default', searchAttributes: SKERRY_SEARCH_ATTRIBUTES };
  let server: TemporalDevServer = await startTemporalDevServer(serverOptions);
  cleanups.push(() => server.stop());
  const stack: Stack = await startStack({ temporalAddress: server.address, env: { API_CREATE_WAIT_MS: '2000' } });
  cleanups.push(() => stack.close());

  const [paid] = await createPayments(stack, 1, 'f12a');
  await payAndAwait(stack, [paid!], 120_000);
  expect((await stack.http('GET', '/ready')).body).toMatchObject({ ready: true, down: [] });

  await server.stop();
  const createKey = `f12a-create-${randomUUID()}`;
  const refundKey = `f12a-refund-${randomUUID()}`;
  const newPayment = { provider: 'stripe', amount: { value: 4_200, currency: 'SEK' }, reference: `f12a-${Date.now()}` };

  const create = await timed(() => stack.http('POST', '/payments', newPayment, { 'idempotency-key': createKey }));
  expectUnavailable(create, 'temporal');
  expect(create.elapsedMs).toBeLessThan(DEFAULT_PAYMENT_DEADLINES.callMs + SLACK_MS);

  const refund = await timed(() => stack.http('POST', `/payments/${paid!.paymentId}/refunds`, {}, { 'idempotency-key': refundKey }));
  expectUnavailable(refund, 'temporal');
  expect(refund.elapsedMs).toBeLessThan(DEFAULT_PAYMENT_DEADLINES.commandMs + SLACK_MS);

  const ready = await stack.http('GET', '/ready');
  expect(ready.status).toBe(503);
  expect(ready.body.down).toEqual(['temporal']);
  expect(ready.body.checks.postgres).toBe('up');
  expect((await stack.http('GET', '/health')).status).toBe(200);

  server = await startTemporalDevServer(serverOptions);
  await eventually(async () => (await stack.http('GET', '/ready')).status === 200, { timeoutMs: 60_000, what: '/ready after the restart' });

  // The refused requests left nothing behind: the same keys now run them.
  const created = await eventually(async () => {
    const answer = await stack.http('POST', '/payments', newPayment, { 'idempotency-key': createKey });
    if (answer.status !== 201) throw new Error(`last answer ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer;
  }, { timeoutMs: 180_000, what: 'the payment to be created after the restart' });
  expect(created.body.paymentId).toMatch(/^pay_/);
  const refunded = await eventually(async () => {
    const answer = await stack.http('POST', `/payments/${paid!.paymentId}/refunds`, {}, { 'idempotency-key': refundKey });
    if (answer.status !== 200) throw new Error(`last answer ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer;
  }, { timeoutMs: 180_000, what: 'the refund after the restart' });
  expect(refunded.body.refunds.length).toBe(1);
  const after = (await stack.http('GET', `/payments/${paid!.paymentId}`)).body;
  expect(after.amountRefunded).toBe(after.amountCaptured);
}, 480_000);

it('F12b: with Postgres stopped, the inventory routes answer 503 at once and /ready names Postgres; after the restart nothing is lost', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skerry-f12b-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  let postgres: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, persistent: true });
  cleanups.push(() => postgres.stop());
  await migrateDatabase(postgres.url);
  const stack: Stack = await startStack({ databaseUrl: postgres.url });
  cleanups.push(() => stack.close());

  const before = await stack.http('POST', '/properties', { name: `F12 before ${randomUUID().slice(0, 6)}`, currency: 'SEK' });
  expect(before.status).toBe(201);

  await postgres.stop();
  const propertyKey = `f12b-${randomUUID()}`;
  const newProperty = { name: `F12 during ${randomUUID().slice(0, 6)}`, currency: 'SEK' };

  const list = await timed(() => stack.http('GET', '/properties'));
  expectUnavailable(list, 'postgres');
  expect(list.elapsedMs).toBeLessThan(SLACK_MS);
  const create = await timed(() => stack.http('POST', '/properties', newProperty, { 'idempotency-key': propertyKey }));
  expectUnavailable(create, 'postgres');
  expect(create.elapsedMs).toBeLessThan(SLACK_MS);

  const ready = await stack.http('GET', '/ready');
  expect(ready.status).toBe(503);
  expect(ready.body.down).toEqual(['postgres']);
  expect(ready.body.checks.temporal).toBe('up');

  postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, persistent: true });
  await eventually(async () => (await stack.http('GET', '/ready')).status === 200, { timeoutMs: 60_000, what: '/ready after the restart' });

  const created = await eventually(async () => {
    const answer = await stack.http('POST', '/properties', newProperty, { 'idempotency-key': propertyKey });
    return answer.status === 201 ? answer : undefined;
  }, { timeoutMs: 60_000, what: 'the property to be created after the restart' });
  const names = ((await stack.http('GET', '/properties')).body.properties as Array<{ id: string; name: string }>).map((property) => property.name);
  expect(names).toEqual(expect.arrayContaining([before.body.name, created.body.name]));
});
