// The overview's provider latency/error chart reads what the workers really recorded (#19): payments
// made through the production wiring, one of them against a Stripe sandbox told to fail every call,
// show up in GET /providers/calls as calls, an error and a latency, in the current hour.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ env: { RECONCILIATION_SCHEDULE_HOUR: 'off' } });
});
afterAll(async () => {
  await fetch(`${stack?.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' }).catch(() => undefined);
  await stack?.close();
});

interface Calls {
  from: string;
  to: string;
  providers: Array<{ provider: string; calls: number; errors: number; hours: Array<{ hour: string; calls: number; errors: number; errorRate: number | null; meanLatencyMs: number | null; maxLatencyMs: number | null }> }>;
}

const stripeOf = (calls: Calls) => calls.providers.find((p) => p.provider === 'stripe')!;
const read = async () => (await stack.http('GET', '/providers/calls')).body as Calls;

describe('GET /providers/calls', () => {
  it('counts the provider calls the workers made, with an injected failure as an error, per hour', { timeout: 120_000 }, async () => {
    const first = await read();
    // 24 hours, the same axis for every provider, the last one the current hour.
    expect(stripeOf(first).hours).toHaveLength(24);
    expect(Date.parse(first.to) - Date.parse(first.from)).toBe(24 * 3_600_000);
    // Stacks share the run's database: count from what is there now.
    const base = stripeOf(first);

    // A payment that goes through: at least one ok call (the create).
    const ok = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 10_000, currency: 'SEK' }, reference: `calls-${randomUUID().slice(0, 8)}` });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);

    // Stripe answers 500 to everything: the next create fails (and Temporal retries it).
    expect((await stack.control('/stripe/_control/faults', { errorRate: 1 })).status).toBe(200);
    const failing = stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 11_000, currency: 'SEK' }, reference: `calls-${randomUUID().slice(0, 8)}` });
    const withError = await eventually(
      async () => {
        const stripe = stripeOf(await read());
        return stripe.errors > base.errors ? stripe : undefined;
      },
      { what: 'the injected Stripe failure in GET /providers/calls', timeoutMs: 60_000 },
    );
    // The sandbox heals; the retried create goes through.
    expect((await fetch(`${stack.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' })).status).toBe(200);
    expect((await failing).status).toBeLessThan(300);

    const after = await eventually(
      async () => {
        const stripe = stripeOf(await read());
        // The first create and the retried one went through: two ok calls at least, beside the failures.
        return stripe.calls - stripe.errors >= base.calls - base.errors + 2 ? stripe : undefined;
      },
      { what: 'the retried create counted', timeoutMs: 60_000 },
    );
    expect(after.errors).toBeGreaterThanOrEqual(withError.errors);
    expect(after.calls).toBeGreaterThanOrEqual(base.calls + 3);
    // The figures are in an hour of the window (the current one, or the one before when the test straddles the hour).
    const busy = after.hours.filter((hour) => hour.calls > 0);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    for (const hour of busy) {
      expect(hour.errorRate).toBeCloseTo(hour.errors / hour.calls, 6);
      expect(hour.meanLatencyMs).toBeGreaterThan(0);
      expect(hour.maxLatencyMs).toBeGreaterThanOrEqual(hour.meanLatencyMs!);
    }
    expect(busy.some((hour) => hour.errors > 0)).toBe(true);
  });

  it('is read with a read key and needs one', async () => {
    const created = await stack.http('POST', '/api-keys', { name: 'calls reader', scopes: ['read'] });
    expect(created.status).toBe(201);
    expect((await stack.http('GET', '/providers/calls?hours=3', undefined, { authorization: `Bearer ${created.body.key}` })).body.providers[0].hours).toHaveLength(3);
    expect((await fetch(`${stack.apiUrl}/providers/calls`)).status).toBe(401);
    expect((await stack.http('GET', '/providers/calls?hours=0')).status).toBe(400);
  });
});
