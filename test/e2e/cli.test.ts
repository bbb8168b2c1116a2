// The ops CLI (`npx skerry`, bin/skerry.js) as an operator runs it: a child process against a real
// stack, tables by default, --json for scripts, and the documented exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { runSkerry, stackCliEnv } from '../support/cli';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.close());

const skerry = (args: string[], env: Record<string, string> = {}) => runSkerry(args, { ...stackCliEnv(stack), ...env });

async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const run = await skerry([...args, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

describe('skerry payments', () => {
  it('creates, reads, captures and refunds a payment, with exit codes for what cannot be done', async () => {
    const reference = `cli-${Date.now()}`;
    const created = await json<{ paymentId: string; status: string }>([
      'payments', 'create', '--provider', 'stripe', '--amount', '50000', '--currency', 'sek', '--reference', reference,
      '--capture-method', 'manual', '--idempotency-key', `${reference}-key`,
    ]);
    expect(created.status).toBe('created');
    const again = await json<{ paymentId: string }>([
      'payments', 'create', '--provider', 'stripe', '--amount', '50000', '--currency', 'sek', '--reference', reference,
      '--capture-method', 'manual', '--idempotency-key', `${reference}-key`,
    ]);
    expect(again.paymentId).toBe(created.paymentId);

    const withIntent = await eventually(async () => {
      const payment = await json<{ providerReference: string | null }>(['payments', 'status', created.paymentId]);
      return payment.providerReference ? payment : undefined;
    }, { what: 'the provider payment' });
    await stack.control(`/stripe/_control/payments/${withIntent.providerReference}/succeed`);
    await eventually(async () => (await json<{ status: string }>(['payments', 'status', created.paymentId])).status === 'requires_capture', {
      what: 'requires_capture',
    });

    const captured = await json<{ status: string; amountCaptured: number }>(['payments', 'capture', created.paymentId, '--amount', '30000']);
    expect(captured).toMatchObject({ status: 'succeeded', amountCaptured: 30_000 });

    // The default output is a table a person reads.
    const refund = await skerry(['payments', 'refund', created.paymentId, '--amount', '10000', '--reason', 'early checkout']);
    expect(refund.code, refund.stderr).toBe(0);
    expect(refund.stdout).toMatch(/status\s*│\s*partially_refunded/);
    expect(refund.stdout).toContain('100.00 SEK');

    const tooMuch = await skerry(['payments', 'refund', created.paymentId, '--amount', '99999']);
    expect(tooMuch.code).toBe(3);
    expect(tooMuch.stderr).toMatch(/^skerry: POST \/payments\/pay_\w+\/refunds: /);
    expect((await skerry(['payments', 'cancel', created.paymentId])).code).toBe(3);

    const status = await skerry(['payments', 'status', created.paymentId, '--events']);
    expect(status.stdout).toContain('skerry.capture');
    expect(status.stdout).toContain(`payment-${created.paymentId}`);
  });

  it('exits 2 for an unknown payment, 1 for bad usage, 3 when the API is unreachable', async () => {
    const missing = await skerry(['payments', 'status', 'pay_doesnotexist000']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not found');
    expect((await skerry(['payments', 'create', '--provider', 'stripe'])).code).toBe(1);
    expect((await skerry(['payments', 'create', '--provider', 'stripe', '--amount', '-5', '--currency', 'SEK', '--reference', 'x'])).code).toBe(1);
    expect((await skerry(['payments', 'create', '--provider', 'bitcoin', '--amount', '5', '--currency', 'SEK', '--reference', 'x'])).code).toBe(1);
    expect((await skerry(['no-such-command'])).code).toBe(1);
    const help = await skerry(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    const down = await skerry(['payments', 'status', 'pay_abcdef123'], { SKERRY_API_URL: 'http://127.0.0.1:9' });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('cannot reach the Skerry API at http://127.0.0.1:9');
  });
});

describe('skerry webhooks', () => {
  it('lists the inbox and replays one event and a range to the workflows', async () => {
    const created = await json<{ paymentId: string }>(['payments', 'create', '--provider', 'stripe', '--amount', '12000', '--currency', 'SEK', '--reference', `cli-wh-${Date.now()}`]);
    const payment = await eventually(async () => {
      const p = await json<{ providerReference: string | null }>(['payments', 'status', created.paymentId]);
      return p.providerReference ? p : undefined;
    });
    await stack.control(`/stripe/_control/payments/${payment.providerReference}/succeed`);
    const rows = await eventually(async () => {
      const items = await json<Array<{ id: number; paymentId: string | null; status: string }>>(['webhooks', 'list', '--provider', 'stripe', '--limit', '1000']);
      const mine = items.filter((row) => row.paymentId === created.paymentId);
      return mine.length > 0 && mine.every((row) => row.status === 'delivered') ? mine : undefined;
    }, { what: 'delivered webhooks of the payment' });

    const table = await skerry(['webhooks', 'list', '--status', 'delivered', '--limit', '5']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/│ id\s+│ provider\s+│ eventType/);

    const one = await skerry(['webhooks', 'replay', String(rows[0]!.id)]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/replayed 1 event\(s\): 1 delivered/);

    const ids = rows.map((row) => row.id);
    const range = await json<{ requeued: number; statuses: Record<string, number> }>([
      'webhooks', 'replay', '--from', String(Math.min(...ids)), '--to', String(Math.max(...ids)), '--provider', 'stripe',
    ]);
    expect(range.requeued).toBeGreaterThanOrEqual(ids.length);
    expect(range.statuses.pending ?? 0).toBe(0);
    expect((await json<{ status: string }>(['payments', 'status', created.paymentId])).status).toBe('succeeded');

    expect((await skerry(['webhooks', 'replay'])).code).toBe(1);
    expect((await skerry(['webhooks', 'replay', '5', '--from', '1', '--to', '9'])).code).toBe(1);
    expect((await skerry(['webhooks', 'replay', '2000000000'])).code).toBe(2);
  });
});

describe('skerry providers, channels, reconciliation', () => {
  it('reports provider status, or says it is not available (exit 3)', async () => {
    const run = await skerry(['providers', 'status', '--json']);
    if (run.code === 3) expect(run.stderr).toContain('is not available on this server');
    else {
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).providers.map((p: { provider: string }) => p.provider)).toContain('stripe');
      const human = await skerry(['providers', 'status']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/│ provider\s+│ breaker/);
      expect(human.stdout).toMatch(/│ stripe\s+│ closed/);
    }
  });

  it("shows each channel's reservation queue and starts a resync", async () => {
    const statuses = await json<Array<{ channel: string; unacked: unknown[] }>>(['channels', 'status']);
    expect(statuses.map((s) => s.channel)).toEqual(['booking_com', 'airbnb', 'channex']);
    const table = await skerry(['channels', 'status', 'booking_com']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/│ channel\s+│ unacked/);
    expect((await skerry(['channels', 'status', 'expedia'])).code).toBe(1);
    const started = await json<{ workflowId: string }>(['channels', 'resync', 'booking_com', '--horizon-days', '3']);
    expect(started.workflowId).toMatch(/^channel-resync-booking_com-/);
  });

  it('runs and reports reconciliation, or says it is not available (exit 3)', async () => {
    const run = await skerry(['reconciliation', 'report']);
    if (run.code === 3) expect(run.stderr).toContain('Reconciliation is not available on this server');
    else expect(run.code, run.stderr).toBe(0);
  });
});

describe('skerry keys', () => {
  it('creates, lists and revokes API keys against the database; a key without the scope, or none, exits 5', async () => {
    const db = { DATABASE_URL: stack.databaseUrl };
    const name = `cli reader ${Date.now()}`;
    const created = await skerry(['keys', 'create', '--name', name, '--scopes', 'read'], db);
    expect(created.code, created.stderr).toBe(0);
    const key = /^export SKERRY_API_KEY=(sk_\S+)$/m.exec(created.stdout)?.[1];
    expect(key).toBeDefined();

    const reader = { SKERRY_API_KEY: key! };
    expect((await skerry(['payments', 'status', 'pay_doesnotexist000'], reader)).code).toBe(2);
    const refused = await skerry(['payments', 'refund', 'pay_doesnotexist000', '--amount', '100'], reader);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('lacks the scope refunds:write');
    const keyless = await skerry(['payments', 'status', 'pay_doesnotexist000'], { SKERRY_API_KEY: '' });
    expect(keyless.code).toBe(5);
    expect(keyless.stderr).toContain('SKERRY_API_KEY');

    const listed = await skerry(['keys', 'list', '--json'], db);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain(key!);
    const entry = (JSON.parse(listed.stdout) as Array<{ id: string; name: string; prefix: string; scopes: string[] }>).find((candidate) => candidate.name === name);
    expect(entry).toMatchObject({ scopes: ['read'], prefix: key!.slice(0, 11) });

    const revoked = await skerry(['keys', 'revoke', entry!.prefix], db);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await skerry(['payments', 'status', 'pay_doesnotexist000'], reader)).code).toBe(5);
  });
});
