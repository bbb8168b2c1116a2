// A person's heal and ignore of one reconciliation discrepancy (#19), end to end: the production
// wiring (API, worker, sandboxes) with a run that left its discrepancies for a person (heal: false).
// The heal goes through the same heal a run makes (the provider read, the payment's workflow told),
// the ignore records who, when and why; every refusal says why, and a read key is refused.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { runSkerry, stackCliEnv } from '../support/cli';

let stack: Stack;
let readKey: string;

beforeAll(async () => {
  stack = await startStack({
    env: {
      // A lost webhook stays lost until someone heals it: the payment does not ask Stripe itself.
      PAYMENT_CONFIRM_WINDOW_MS: '3600000',
      RECONCILIATION_SCHEDULE_HOUR: 'off',
    },
  });
  const created = await stack.http('POST', '/api-keys', { name: 'reconciliation reader', scopes: ['read'] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  readKey = created.body.key;
});
afterAll(async () => stack?.close());

interface Discrepancy {
  id: number;
  kind: string;
  paymentId: string | null;
  healable: boolean;
  healed: boolean;
  healResult: string | null;
  resolution: string;
  resolvedBy: string | null;
  resolvedAt: string | null;
  resolutionNote: string | null;
}

async function payment(value: number) {
  const created = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value, currency: 'SEK' }, reference: `actions-${randomUUID().slice(0, 8)}` });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { paymentId: string; providerReference: string };
}

/** The ops CLI as an operator runs it: a child process, its stdin not a terminal. */
const skerry = (args: string[]) => runSkerry(args, stackCliEnv(stack));

const post = (path: string, body: unknown, headers: Record<string, string> = {}) => stack.http('POST', path, body, headers);

describe('heal and ignore one discrepancy', () => {
  it('heals a lost webhook through its payment, ignores an amount mismatch with who/when/why, and refuses what is not allowed', { timeout: 180_000 }, async () => {
    // A: Stripe captured it, the webhook is lost (healable). B: paid, then Stripe's books say another amount (for a person).
    const lost = await payment(41_000);
    expect((await stack.control('/stripe/_control/drift', { kind: 'lost_webhook', paymentIntent: lost.providerReference })).status).toBe(200);
    const mismatched = await payment(52_000);
    expect((await stack.control(`/stripe/_control/payments/${mismatched.providerReference}/succeed`)).status).toBe(200);
    await eventually(async () => ((await stack.http('GET', `/payments/${mismatched.paymentId}`)).body.status === 'succeeded') || undefined, { what: 'B succeeded' });
    expect((await stack.control('/stripe/_control/drift', { kind: 'amount_mismatch', paymentIntent: mismatched.providerReference, amount: 50_000 })).status).toBe(200);

    const today = new Date().toISOString().slice(0, 10);
    const started = await post('/reconciliations', { provider: 'stripe', from: today, heal: false, checkBookings: false });
    expect(started.status).toBe(202);
    const runId = started.body.id as string;
    // Heal and ignore wait for the run to finish: the run's own healing is never raced.
    const state = await stack.api.reconciliation.result(runId);
    expect(state.status).toBe('completed');

    const report = async () => (await stack.http('GET', `/reconciliations/${runId}/report`)).body as { summary: Record<string, number>; discrepancies: Discrepancy[] };
    const mine = async (paymentId: string) => (await report()).discrepancies.find((d) => d.paymentId === paymentId);
    const a = (await mine(lost.paymentId))!;
    const b = (await mine(mismatched.paymentId))!;
    expect(a).toMatchObject({ kind: 'status_mismatch', healable: true, healed: false, healResult: null, resolution: 'for_a_person' });
    expect(b).toMatchObject({ kind: 'amount_mismatch', healable: false, resolution: 'for_a_person' });
    const heal = (id: number) => `/reconciliations/${runId}/discrepancies/${id}/heal`;
    const ignore = (id: number) => `/reconciliations/${runId}/discrepancies/${id}/ignore`;

    // Refusals before anything changes: a read key, no Idempotency-Key, a discrepancy that cannot heal, one that does not exist.
    const reader = { authorization: `Bearer ${readKey}` };
    expect((await post(heal(a.id), {}, reader)).status).toBe(403);
    expect((await post(ignore(b.id), { reason: 'a reader may not decide' }, reader)).status).toBe(403);
    const noKey = await fetch(`${stack.apiUrl}${heal(a.id)}`, { method: 'POST', headers: { ...stack.authHeaders, 'content-type': 'application/json' }, body: '{}' });
    expect(noKey.status).toBe(400);
    const notHealable = await post(heal(b.id), {});
    expect(notHealable.status).toBe(409);
    expect(notHealable.body).toMatchObject({ error: 'conflict', reason: 'not_healable' });
    expect((await post(heal(999_999_999), {})).status).toBe(404);
    expect((await post(ignore(b.id), { reason: '' })).status).toBe(400);
    expect((await mine(lost.paymentId))).toMatchObject({ resolution: 'for_a_person', healResult: null });

    // The heal: the payment's workflow is told what Stripe says, and the ledger follows.
    const healKey = randomUUID();
    const healed = await post(heal(a.id), {}, { 'idempotency-key': healKey });
    expect(healed.status, JSON.stringify(healed.body)).toBe(200);
    expect(healed.body).toMatchObject({ id: a.id, healable: true, resolvedBy: expect.stringContaining('e2e') });
    expect(['healed', 'healing']).toContain(healed.body.resolution);
    await eventually(async () => (await mine(lost.paymentId))?.resolution === 'healed' || undefined, { what: 'A healed in the report', timeoutMs: 30_000 });
    expect((await stack.http('GET', `/payments/${lost.paymentId}`)).body).toMatchObject({ status: 'succeeded', amountCaptured: 41_000 });
    // The same request again is answered as the first time, and nothing runs twice.
    const replayed = await post(heal(a.id), {}, { 'idempotency-key': healKey });
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual(healed.body);
    // Settled now: another heal or an ignore is refused, saying why.
    expect((await post(heal(a.id), {})).body).toMatchObject({ error: 'conflict', reason: 'healed' });
    expect((await post(ignore(a.id), { reason: 'too late' })).body).toMatchObject({ error: 'conflict', reason: 'healed' });

    // The ignore: who, when and why, and out of the open count.
    const before = Date.now();
    const ignored = await post(ignore(b.id), { reason: 'Stripe fee adjustment, agreed with finance' });
    expect(ignored.status, JSON.stringify(ignored.body)).toBe(200);
    expect(ignored.body).toMatchObject({ id: b.id, resolution: 'ignored', resolutionNote: 'Stripe fee adjustment, agreed with finance', resolvedBy: expect.stringContaining('e2e') });
    expect(Date.parse(ignored.body.resolvedAt)).toBeGreaterThanOrEqual(before - 5_000);
    const again = await post(ignore(b.id), { reason: 'twice' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: 'ignored' });
    expect((await post(heal(b.id), {})).body).toMatchObject({ reason: 'ignored' });

    const finalReport = await report();
    const run = (await stack.http('GET', `/reconciliations/${runId}`)).body as { counts: { discrepancies: number; healed: number; ignored: number; open: number } };
    expect(run.counts.ignored).toBe(finalReport.discrepancies.filter((d) => d.resolution === 'ignored').length);
    expect(run.counts.ignored).toBeGreaterThanOrEqual(1);
    expect(run.counts.open).toBe(run.counts.discrepancies - run.counts.healed - run.counts.ignored);
    expect(finalReport.summary.ignored).toBe(run.counts.ignored);
    // The CSV download carries the resolution and the decision.
    const csv = await (await fetch(`${stack.apiUrl}/reconciliations/${runId}/report?format=csv`, { headers: stack.authHeaders })).text();
    const [header, ...lines] = csv.trim().split('\r\n');
    expect(header!.split(',')).toEqual(expect.arrayContaining(['resolution', 'resolved_by', 'resolved_at', 'resolution_note']));
    const bLine = lines.find((line) => line.startsWith(`${b.id},`))!;
    expect(bLine).toContain(',ignored,');
    expect(bLine).toContain('Stripe fee adjustment, agreed with finance');
    expect(lines.find((line) => line.startsWith(`${a.id},`))).toContain(',healed,');
  });

  it('the CLI ignores one only when confirmed, and says why a heal is refused', { timeout: 180_000 }, async () => {
    const mismatched = await payment(63_000);
    expect((await stack.control(`/stripe/_control/payments/${mismatched.providerReference}/succeed`)).status).toBe(200);
    await eventually(async () => ((await stack.http('GET', `/payments/${mismatched.paymentId}`)).body.status === 'succeeded') || undefined, { what: 'C succeeded' });
    expect((await stack.control('/stripe/_control/drift', { kind: 'amount_mismatch', paymentIntent: mismatched.providerReference, amount: 60_000 })).status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    const started = await post('/reconciliations', { provider: 'stripe', from: today, heal: false, checkBookings: false });
    const runId = started.body.id as string;
    expect((await stack.api.reconciliation.result(runId)).status).toBe('completed');
    const find = async () =>
      ((await stack.http('GET', `/reconciliations/${runId}/report`)).body as { discrepancies: Discrepancy[] }).discrepancies.find((d) => d.paymentId === mismatched.paymentId && d.kind === 'amount_mismatch')!;
    const c = await find();
    expect(c.resolution).toBe('for_a_person');

    // No terminal to ask and no --yes: refused, nothing changed.
    const unconfirmed = await skerry(['reconciliation', 'ignore', runId, String(c.id), '--reason', 'agreed with finance']);
    expect(unconfirmed.code, unconfirmed.stderr).toBe(1);
    expect(unconfirmed.stderr).toMatch(/not confirmed: pass --yes/);
    expect((await find()).resolution).toBe('for_a_person');

    const ignored = await skerry(['reconciliation', 'ignore', runId, String(c.id), '--reason', 'agreed with finance', '--yes', '--json']);
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(JSON.parse(ignored.stdout)).toMatchObject({ id: c.id, resolution: 'ignored', resolutionNote: 'agreed with finance' });
    expect(await find()).toMatchObject({ resolution: 'ignored', resolutionNote: 'agreed with finance' });

    // A heal of it is refused with the reason (409: exit 3).
    const heal = await skerry(['reconciliation', 'heal', runId, String(c.id), '--yes']);
    expect(heal.code).toBe(3);
    expect(heal.stderr).toMatch(/already ignored/);
  });
});
