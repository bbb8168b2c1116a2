// The limits Skerry keeps in Postgres hold across the cluster's two worker processes: Stripe's rate
// at the sandbox, one circuit breaker for both, one OAuth refresh when both need Airbnb's token, and
// Channex's 10 + 10 requests per window per property while both push Channex edits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { busiestSecond, eventually } from '../support/harness';
import { sandboxHandles } from '../../sandbox/server';
import { channelAccounts } from '../../db/schema';
import type { LoggedRequest } from '../../sandbox/shared/faults';
import { startClusterStack, type ClusterStack } from './cluster-stack';
import { busiestWindow, channexRequestLog, createChannexProperty, type ChannexProperty } from '../support/channex';
import { addDays } from '../../domain/dates';

const RATE = 4;
// Channex's window, shortened on both sides (Skerry's pacer and the sandbox) so the test spans several.
const CHANNEX_WINDOW_SECONDS = 15;
const CHANNEX_LIMIT = 10;
const MAX_OPEN_MS = 3_000;
const resilienceEnv = {
  STRIPE_RATE_LIMIT_PER_SECOND: String(RATE),
  CIRCUIT_BREAKER_MIN_CALLS: '4',
  CIRCUIT_BREAKER_FAILURE_RATE: '0.5',
  CIRCUIT_BREAKER_WINDOW_MS: '30000',
  CIRCUIT_BREAKER_OPEN_MS: '2000',
  CIRCUIT_BREAKER_MAX_OPEN_MS: String(MAX_OPEN_MS),
  CIRCUIT_BREAKER_PROBE_LEASE_MS: '5000',
  PROVIDER_QUOTA_WINDOW_SECONDS: '3600',
};

let cluster: ClusterStack;
beforeAll(async () => {
  cluster = await startClusterStack({
    env: {
      ...resilienceEnv,
      LOG_LEVEL: 'info',
      API_CREATE_WAIT_MS: '100',
      PAYMENT_CONFIRM_WINDOW_MS: '120000',
      CHANNEL_SYNC_QUIET_MS: '150',
      CHANNEL_SYNC_MAX_DELAY_MS: '1000',
      // The sync's own limit lifted: only the shared pacer may hold Channex's line.
      CHANNEL_SYNC_MAX_PUSHES_PER_MINUTE: '600',
      CHANNEX_RATE_WINDOW_SECONDS: String(CHANNEX_WINDOW_SECONDS),
      CHANNEX_POLL_INTERVAL_MS: '120000',
    },
  });
});
afterAll(async () => cluster?.close());

const requestLog = async () => ((await (await fetch(`${cluster.sandboxUrl}/stripe/_control/request-log`)).json()) as { requests: LoggedRequest[] }).requests;
const clearRequestLog = () => fetch(`${cluster.sandboxUrl}/stripe/_control/request-log`, { method: 'DELETE' });
type ProvidersView = Awaited<ReturnType<typeof import('../../api/routes/providers').providersView>>;
/** Asked of each API process in turn: both read the one breaker and quota in Postgres. */
const stripeView = async () => ((await cluster.http('GET', '/providers')).body as ProvidersView).providers.find((provider) => provider.provider === 'stripe')!;
const workerLogs = () => Promise.all(cluster.apps.workers.map((worker) => cluster.logOf(worker.name)));

let n = 0;
async function startPayments(count: number, label: string) {
  const started = await Promise.all(
    Array.from({ length: count }, () => cluster.http('POST', '/payments', { provider: 'stripe', amount: { value: 10_000, currency: 'SEK' }, reference: `${label}-${Date.now()}-${++n}` })),
  );
  for (const response of started) expect(response.status, JSON.stringify(response.body)).toBe(201);
  return started.map((response) => response.body.paymentId as string);
}
const created = (paymentIds: string[], timeoutMs: number) =>
  eventually(async () => {
    const states = await Promise.all(paymentIds.map(async (id) => (await cluster.http('GET', `/payments/${id}`)).body));
    return states.every((state) => state.providerReference) ? states : undefined;
  }, { timeoutMs, everyMs: 250, what: 'every payment created at Stripe' });


describe('shared limits across two worker processes on the cluster', () => {
  it("never exceeds Stripe's configured rate, with both workers calling", async () => {
    await clearRequestLog();
    const burst = await startPayments(24, 'cluster-rate');
    await created(burst, 90_000);
    const creates = (await requestLog()).filter((request) => request.method === 'POST' && request.path.endsWith('/v1/payment_intents'));
    expect(creates.length).toBeGreaterThanOrEqual(24);
    const most = busiestSecond(creates.map((request) => request.at));
    const at = creates.map((request) => request.at).sort((a, b) => a - b);
    console.log(`[cluster rate] ${creates.length} creates by two workers; busiest second: ${most} (limit ${RATE}/s); gaps ms: ${at.slice(1).map((t, i) => t - at[i]!).join(' ')}`);
    expect(most).toBeLessThanOrEqual(RATE);
    for (const log of await workerLogs()) expect(log).toContain('"operation":"createPayment"');
  });

  it('opens one breaker for both workers when Stripe fails, and closes it when Stripe recovers', async () => {
    await clearRequestLog();
    await cluster.control('/stripe/_control/faults', { errorRate: 1, storeInjectedErrors: false });
    const before = (await workerLogs()).map((log) => log.length);
    const failing = await startPayments(6, 'cluster-breaker');
    const open = await eventually(async () => {
      const view = await stripeView();
      return view.circuitBreaker.state === 'open' ? view : undefined;
    }, { timeoutMs: 30_000, what: 'the breaker to open' });
    expect(open.circuitBreaker.recentTransitions[0]).toMatchObject({ from: 'closed', to: 'open' });
    // Both processes fail calls fast (no request to Stripe) on the one breaker.
    const fast = await eventually(async () => {
      const perWorker = (await workerLogs()).map((log, index) => log.slice(before[index]).split('\n').filter((line) => line.includes('"outcome":"circuit_open"')));
      return perWorker.every((lines) => lines.length > 0) ? perWorker.flat().map((line) => JSON.parse(line) as { retryAfterMs: number }) : undefined;
    }, { timeoutMs: 30_000, what: 'both workers failing fast' });
    for (const line of fast) expect(line.retryAfterMs).toBeLessThanOrEqual(MAX_OPEN_MS);

    await fetch(`${cluster.sandboxUrl}/stripe/_control/faults`, { method: 'DELETE' });
    await eventually(async () => {
      const view = await stripeView();
      return view.circuitBreaker.state === 'closed' && view.circuitBreaker.recentTransitions[0]?.to === 'closed';
    }, { timeoutMs: 30_000, what: 'the breaker to close' });
    await created(failing, 60_000);
  });

  it('refreshes an expired Airbnb token exactly once while both workers push calendars', async () => {
    const airbnb = sandboxHandles(cluster.sandboxes.app).airbnb;
    const hostId = `host${Date.now()}`;
    const start = await fetch(`http://127.0.0.1:${cluster.apis[0]!.admin}/channels/airbnb/connect?hostHint=${hostId}`, { redirect: 'manual', headers: { authorization: `Bearer ${cluster.apiKey}` } });
    const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    expect((await fetch(consent.headers.get('location')!)).status).toBe(200);
    const property = (await cluster.http('POST', '/properties', { name: `Refresh camp ${hostId}`, currency: 'SEK' })).body;
    const units: string[] = [];
    for (let i = 0; i < 8; i++) {
      const unit = (await cluster.http('POST', `/properties/${property.id}/units`, { name: `Cabin ${i}`, count: 1 })).body;
      expect((await cluster.http('POST', `/units/${unit.id}/mappings`, { channel: 'airbnb', externalAccountId: hostId, externalListingId: `${hostId}-l${i}` })).status).toBe(201);
      units.push(unit.id);
    }
    // Skerry's copy of the token expires: every push now needs a refresh first.
    await cluster.database.db.update(channelAccounts).set({ accessTokenExpiresAt: sql`now() - interval '1 minute'` }).where(eq(channelAccounts.externalAccountId, hostId));
    const refreshesBefore = airbnb.counts.refreshes;
    const reuseBefore = airbnb.counts.refreshReuse;
    const before = (await workerLogs()).map((log) => log.length);
    await Promise.all(units.map((unitId) => cluster.http('PUT', `/units/${unitId}/calendar`, { ranges: [{ from: '2027-08-01', to: '2027-08-03', available: 1, price: { value: 90_000, currency: 'SEK' }, minNights: 1 }] })));
    await eventually(() => units.every((_, i) => airbnb.calendar(`${hostId}-l${i}`, '2027-08-01', '2027-08-03').filter((day) => day.available_count === 1).length === 3), { timeoutMs: 90_000, what: 'every calendar pushed to Airbnb' });
    const pushed = (await workerLogs()).map((log, index) => log.slice(before[index]).split('\n').filter((line) => line.includes('"operation":"pushCalendar"')).length);
    console.log(`[cluster oauth] pushCalendar log lines per worker: ${pushed.join(', ')}; refreshes: ${airbnb.counts.refreshes - refreshesBefore}`);
    expect(pushed.every((count) => count > 0)).toBe(true);
    expect(airbnb.counts.refreshes - refreshesBefore).toBe(1);
    expect(airbnb.counts.refreshReuse - reuseBefore).toBe(0);
  });

  it('holds the Channex pacers per property while both workers push Channex edits', async () => {
    await cluster.control('/channex/_control/rate-window', { seconds: CHANNEX_WINDOW_SECONDS });
    const from = addDays('2029-03-01', Math.floor(Math.random() * 300));
    const units: Array<{ unitId: string; channex: ChannexProperty }> = [];
    for (let index = 0; index < 3; index++) {
      const channex = await createChannexProperty(cluster.sandboxUrl, { title: `Cluster pacer ${index}`, rooms: 2 });
      const property = (await cluster.http('POST', '/properties', { name: `Cluster pacer ${index} ${Date.now()}`, currency: 'SEK' })).body;
      for (const room of channex.rooms) {
        const unit = (await cluster.http('POST', `/properties/${property.id}/units`, { name: 'Cabin', count: 3 })).body;
        const mapped = await cluster.http('POST', `/units/${unit.id}/mappings`, { channel: 'channex', externalAccountId: channex.propertyId, externalListingId: room.roomTypeId, externalRateId: room.ratePlanId });
        expect(mapped.status, JSON.stringify(mapped.body)).toBe(201);
        units.push({ unitId: unit.id, channex });
      }
    }
    const before = (await workerLogs()).map((log) => log.length);
    const startedAt = Date.now();
    // Edits for three windows, a few a second: unpaced, each property's sync would push about once a second.
    let index = 0;
    while (Date.now() - startedAt < 3 * CHANNEX_WINDOW_SECONDS * 1_000) {
      const unit = units[index % units.length]!;
      const night = addDays(from, index % 10);
      const response = await cluster.http('PUT', `/units/${unit.unitId}/calendar`, { ranges: [{ from: night, to: night, available: (index % 3) + 1, price: { value: 50_000 + index * 100, currency: 'SEK' } }] });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      index++;
    }
    const to = addDays(from, 9);
    await eventually(async () => {
      for (const unit of units) {
        const calendar = (await cluster.http('GET', `/units/${unit.unitId}/calendar?from=${from}&to=${to}`)).body;
        if (!calendar.days.every((day: { channels: Record<string, { inSync?: boolean }> }) => day.channels.channex === undefined || day.channels.channex.inSync)) return false;
      }
      return true;
    }, { timeoutMs: 180_000, everyMs: 1_000, what: 'every edit on Channex' });

    const propertyIds = [...new Set(units.map((unit) => unit.channex.propertyId))];
    const log = (await channexRequestLog(cluster.sandboxUrl, startedAt)).filter((request) => request.kind && request.propertyIds.some((id) => propertyIds.includes(id)));
    expect(log.filter((request) => request.status === 429)).toEqual([]);
    const busiest: string[] = [];
    for (const propertyId of propertyIds) {
      for (const kind of ['availability', 'restrictions'] as const) {
        const mine = log.filter((request) => request.kind === kind && request.propertyIds.includes(propertyId));
        const most = busiestWindow(mine, CHANNEX_WINDOW_SECONDS);
        busiest.push(`${kind} ${most}/${mine.length}`);
        expect(most, `${kind} requests of ${propertyId} in one ${CHANNEX_WINDOW_SECONDS} s window`).toBeLessThanOrEqual(CHANNEX_LIMIT);
      }
    }
    // Both worker processes pushed to Channex.
    const pushed = (await workerLogs()).map((log, i) => log.slice(before[i]).split('\n').filter((line) => line.includes('"operation":"pushCalendar"') && line.includes('channex')).length);
    console.log(`[cluster channex] ${index} edits → ${log.length} ARI requests; busiest ${CHANNEX_WINDOW_SECONDS} s window per property and kind (most/total): ${busiest.join(', ')}; pushCalendar log lines per worker: ${pushed.join(', ')}`);
    expect(pushed.every((count) => count > 0)).toBe(true);
  });
});
