// F2: the Temporal server is SIGKILLed for 30 s while customers pay → webhooks acknowledged from
//     the inbox, delivered after; every payment completes, none twice; the drain time is printed.
// F6: Postgres is stopped for 30 s under webhook load → no 2xx without a durable record, and
//     nothing is lost once it is back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { and, eq, inArray } from 'drizzle-orm';
import { ensureBinary } from '../../stack/binaries';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporal-dev-server';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../stack/embedded-postgres';
import { freePort } from '../../stack/ports';
import { migrateDatabase } from '../../db/migrate';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { DELIVERABLE_INBOX_STATUSES, webhookInbox } from '../../db/schema';
import { startStack } from '../support/stack';
import { eventually } from '../support/harness';
import { createPayments, integrity, payAndAwait, providerReferenceOf } from './load';
import { exited } from '../support/worker-process';

/** Waits until the wall clock reaches `at`: the outage's length is the point here, not a guess at readiness. */
const until = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

it('F2: customers keep paying while Temporal is SIGKILLed and down for 30 s; webhooks are acknowledged from the inbox and delivered after, none lost or doubled', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skerry-f2-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const cliPath = await ensureBinary('temporal', { log: () => {} });
  const port = await freePort();
  const serverOptions = { cliPath, port, headless: true, dbFile: join(dir, 'temporal.db'), namespace: 'default', searchAttributes: SKERRY_SEARCH_ATTRIBUTES };
  let server: TemporalDevServer = await startTemporalDevServer(serverOptions);
  cleanups.push(() => server.stop());
  const stack = await startStack({ temporalAddress: server.address, env: { API_CREATE_WAIT_MS: '2000' } });
  cleanups.push(() => stack.close());

  const created = await createPayments(stack, 20, 'f2');
  const intents = await Promise.all(created.map((payment) => providerReferenceOf(stack, payment.paymentId)));

  // SIGKILL: no polite shutdown, whatever Temporal had in flight is cut off.
  server.process.kill('SIGKILL');
  await exited(server.process);
  const downAt = Date.now();
  // The customers keep paying: every payment is approved during the outage, and new customers
  // keep trying to start payments (each with its own Idempotency-Key, retried until it is taken).
  for (const intent of intents) expect((await stack.control(`/stripe/_control/payments/${intent}/succeed`)).status).toBe(200);
  const newcomers = Array.from({ length: 5 }, (_, index) => ({ reference: `f2-during-${Date.now()}-${index}` }));
  const refusedCreates = (
    await Promise.all(newcomers.map(({ reference }) => stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 5_000, currency: 'SEK' }, reference }, { 'idempotency-key': reference })))
  ).filter((answer) => answer.status === 503).length;
  const acknowledgedDuringOutage = await eventually(() => {
    const acked = stack.stripeSandbox.webhooks.recentAttempts().filter((attempt) => attempt.status !== undefined && attempt.status < 300 && Date.parse(attempt.at) >= downAt);
    return acked.length >= intents.length ? acked : undefined;
  }, { timeoutMs: 30_000, what: 'the payment webhooks acknowledged while Temporal is down' });
  const pendingDuringOutage = await stack.database.db
    .select({ eventId: webhookInbox.eventId })
    .from(webhookInbox)
    .where(and(eq(webhookInbox.provider, 'stripe'), inArray(webhookInbox.status, [...DELIVERABLE_INBOX_STATUSES]), inArray(webhookInbox.eventId, acknowledgedDuringOutage.map((attempt) => attempt.messageId))));
  await until(downAt + 30_000);
  server = await startTemporalDevServer(serverOptions);
  const upAt = Date.now();

  const more = await Promise.all(
    newcomers.map(async ({ reference }) => {
      const answer = await eventually(async () => {
        const response = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 5_000, currency: 'SEK' }, reference }, { 'idempotency-key': reference });
        return response.status === 201 ? response : undefined;
      }, { timeoutMs: 120_000, everyMs: 500, what: `${reference} created after the outage` });
      return { paymentId: answer.body.paymentId as string, reference, provider: 'stripe' as const, amount: 5_000 };
    }),
  );
  await payAndAwait(stack, [...created, ...more], 180_000);
  const acknowledged = [...new Set(acknowledgedDuringOutage.map((attempt) => attempt.messageId))];
  await eventually(async () => {
    const rows = await stack.database.db
      .select({ status: webhookInbox.status })
      .from(webhookInbox)
      .where(and(eq(webhookInbox.provider, 'stripe'), inArray(webhookInbox.eventId, acknowledged)));
    return rows.length === acknowledged.length && rows.every((row) => row.status !== 'pending');
  }, { timeoutMs: 120_000, what: 'every webhook acknowledged during the outage delivered' });
  const drainSeconds = (Date.now() - upAt) / 1000;
  const figures = await integrity(stack, [...created, ...more]);
  console.log(
    `[F2] ${JSON.stringify({ ...figures, outageSeconds: (upAt - downAt) / 1000, acknowledgedDuringOutage: acknowledged.length, pendingInInboxDuringOutage: pendingDuringOutage.length, createsRefusedDuringOutage: refusedCreates, drainSeconds })}`,
  );
  expect(pendingDuringOutage.length).toBeGreaterThan(0);
  expect(figures).toMatchObject({ lost: 0, paymentsWithMoreThanOneIntent: 0, duplicateLedgerEvents: 0, ledgerRows: 25 });
});

it('F6: with Postgres down for 30 s under webhook load, no webhook is acknowledged without a durable record and none is lost', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skerry-f6-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  let postgres: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, persistent: true });
  cleanups.push(() => postgres.stop());
  await migrateDatabase(postgres.url);
  const stack = await startStack({ databaseUrl: postgres.url, env: { API_CREATE_WAIT_MS: '2000' } });
  cleanups.push(() => stack.close());

  const created = await createPayments(stack, 20, 'f6');
  const intents = await Promise.all(
    created.map(({ paymentId }) =>
      eventually(async () => {
        // The view answers `providerReference: null` until the PaymentIntent exists: keep waiting.
        const body = (await stack.http('GET', `/payments/${paymentId}`)).body;
        return (body?.providerReference as string | null | undefined) ?? undefined;
      }),
    ),
  );

  await postgres.stop();
  const downAt = Date.now();
  // The customers pay while the database is down: every webhook meets a 503 and is retried.
  for (const intent of intents) expect((await stack.control(`/stripe/_control/payments/${intent}/succeed`)).status).toBe(200);
  await eventually(() => stack.stripeSandbox.webhooks.recentAttempts().filter((attempt) => attempt.status === 503).length >= 20, {
    timeoutMs: 30_000,
    what: 'webhooks refused with 503 while Postgres is down',
  });
  // The outage itself: Postgres stays down for 30 s of webhook retries.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 30_000 - (Date.now() - downAt))));
  postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, persistent: true });
  const upAt = Date.now();

  await payAndAwait(stack, created, 180_000);
  await stack.control('/stripe/_control/webhooks/flush', { timeoutMs: 30_000, expedite: true });
  const attempts = stack.stripeSandbox.webhooks.recentAttempts();
  const acknowledged = [...new Set(attempts.filter((attempt) => attempt.status !== undefined && attempt.status < 300).map((attempt) => attempt.messageId))];
  const refused = attempts.filter((attempt) => attempt.status === 503).length;
  const recordedRows = () =>
    stack.database.db
      .select({ eventId: webhookInbox.eventId, status: webhookInbox.status, lastError: webhookInbox.lastError, attempts: webhookInbox.attempts })
      .from(webhookInbox)
      .where(and(eq(webhookInbox.provider, 'stripe'), inArray(webhookInbox.eventId, acknowledged)));
  const pendingAtFirst = (await recordedRows()).filter((row) => row.status === 'pending');
  // Rows whose delivery failed while the database came back are retried by the sweep.
  const recorded = await eventually(async () => {
    const rows = await recordedRows();
    return rows.every((row) => row.status !== 'pending') ? rows : undefined;
  }, { timeoutMs: 90_000, what: 'every recorded webhook to be delivered' });
  console.log(`[F6] pending right after recovery: ${JSON.stringify(pendingAtFirst)}`);
  const figures = await integrity(stack, created);
  console.log(
    `[F6] ${JSON.stringify({ ...figures, outageSeconds: (upAt - downAt) / 1000, refusedWith503: refused, acknowledged: acknowledged.length, acknowledgedAndRecorded: recorded.length, recoverySeconds: (Date.now() - upAt) / 1000 })}`,
  );
  expect(refused).toBeGreaterThan(0);
  expect(recorded.length).toBe(acknowledged.length);
  expect(recorded.filter((row) => row.status === 'pending')).toHaveLength(0);
  expect(figures).toMatchObject({ lost: 0, paymentsWithMoreThanOneIntent: 0, duplicateLedgerEvents: 0, ledgerRows: 20 });
});
