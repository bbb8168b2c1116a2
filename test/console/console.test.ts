// The operator's console in a real browser against `npm start`'s real stack: the six scenarios of
// issue #19. Each page's screenshot lands in test-results/console/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { eventually } from '../support/harness';
import { shoot, signIn, startConsoleStack, type ConsoleStack } from './support';

let stack: ConsoleStack;
let readKey: string;
const today = new Date().toISOString().slice(0, 10);
const PAGES = ['overview', 'payments', 'calendar', 'channels', 'webhooks', 'reconciliation', 'providers'] as const;
const ACTIONS = /^(Capture|Cancel|Refund|Replay|Run reconciliation|Resync|Save nights|Heal|Ignore|Connect Airbnb|Create export link|New .* link)/;

beforeAll(async () => {
  stack = await startConsoleStack();
  const created = await stack.http('POST', '/api-keys', { name: 'console read-only', scopes: ['read'] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  readKey = created.body.key;
}, 300_000);
afterAll(async () => stack?.close());

async function paidPayment(value: number) {
  const created = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value, currency: 'SEK' }, reference: `console-${Date.now()}` });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const paymentId = created.body.paymentId as string;
  const providerReference = await eventually(async () => ((await stack.http('GET', `/payments/${paymentId}`)).body.providerReference as string | null) ?? undefined, { what: 'the PaymentIntent' });
  return { paymentId, providerReference };
}

async function open(page: Page, hash: string, heading: string | RegExp) {
  await page.goto(`${stack.adminUrl}/console/#${hash}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: 15_000 });
}

describe('the console', () => {
  let paymentId: string;

  it('2. with a write key: a paid payment shows as succeeded within seconds; a partial refund from the page reaches its timeline', { timeout: 120_000 }, async () => {
    const page = await signIn(stack, stack.adminKey);
    await open(page, '/payments', 'Payments');
    const payment = await paidPayment(25_000);
    paymentId = payment.paymentId;
    expect((await stack.control(`/stripe/_control/payments/${payment.providerReference}/succeed`)).status).toBe(200);
    // The list polls every 3 s: the new payment appears, succeeded, without a reload.
    const row = page.locator(`tr[data-payment="${paymentId}"]`);
    await row.getByText('succeeded').waitFor({ timeout: 15_000 });
    await shoot(page, 'console-payments');

    await row.getByRole('link', { name: paymentId }).click();
    await page.getByRole('heading', { level: 1, name: `Payment ${paymentId}` }).waitFor();
    await page.getByRole('button', { name: 'Refund' }).click();
    await page.getByLabel(/Amount to refund/).fill('50');
    await page.getByRole('button', { name: 'Confirm refund' }).click();
    await page.getByText('Refund requested.').waitFor({ timeout: 30_000 });
    await eventually(async () => (await page.getByTestId('refunded').textContent())?.replace(/\s/g, '').includes('50,00') || undefined, { what: 'refunded amount on the page' });
    await page.getByRole('table').filter({ hasText: 'Came by' }).getByRole('row').filter({ hasText: 'partially_refunded' }).first().waitFor({ timeout: 20_000 });
    const ledger = await stack.http('GET', `/payments/${paymentId}`);
    expect(ledger.body).toMatchObject({ status: 'partially_refunded', amountRefunded: 5_000 });
    await shoot(page, 'console-payment-detail');
    await page.context().close();
  });

  it('1. with a read key: every page shows, and none has an action button', { timeout: 120_000 }, async () => {
    const page = await signIn(stack, readKey);
    await expect(page.getByText('console read-only · read').count()).resolves.toBe(1);
    for (const name of PAGES) {
      await open(page, `/${name}`, new RegExp(name === 'webhooks' ? 'Webhook inbox' : name, 'i'));
      // Let each page's first answers arrive before looking for buttons.
      await page.waitForLoadState('networkidle');
      const buttons = await page.getByRole('button').allTextContents();
      expect(buttons.filter((text) => ACTIONS.test(text.trim())), name).toEqual([]);
    }
    await open(page, `/payments/${paymentId}`, `Payment ${paymentId}`);
    await page.waitForLoadState('networkidle');
    expect(await page.getByRole('heading', { name: 'Actions' }).count()).toBe(0);
    // The server refuses whatever the page shows.
    const refused = await stack.http('POST', `/payments/${paymentId}/refunds`, { amount: 100 }, readKey);
    expect(refused.status).toBe(403);
    await page.context().close();
  });

  it('3. an Airbnb guest books: the cells turn booked under a bar labelled Airbnb, Booking.com goes pending then in sync, and a refused push shows failed until one gets through', { timeout: 300_000 }, async () => {
    const property = (await stack.http('POST', '/properties', { name: 'Skärgården Camping', currency: 'SEK' })).body;
    const units = [];
    for (const name of ['Sea cabin', 'Forest cabin', 'Tent pitch']) units.push((await stack.http('POST', `/properties/${property.id}/units`, { name, count: 2 })).body);
    const unit = units[0];
    const hostId = `host${Date.now()}`;
    const listingId = `listing${Date.now()}`;
    const hotelId = String(3_000_000 + (Date.now() % 1_000_000));
    const start = await fetch(`${stack.adminUrl}/channels/airbnb/connect?hostHint=${hostId}`, { redirect: 'manual', headers: { authorization: `Bearer ${stack.adminKey}` } });
    const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const callback = new URL(consent.headers.get('location')!);
    expect((await fetch(`${stack.publicUrl}${callback.pathname}${callback.search}`)).status).toBe(200);
    expect((await stack.http('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: `${hotelId}01`, externalRateId: `${hotelId}9` })).status).toBe(201);
    expect((await stack.http('POST', `/units/${unit.id}/mappings`, { channel: 'airbnb', externalAccountId: hostId, externalListingId: listingId })).status).toBe(201);
    const monthEnd = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
    for (const each of units) {
      const put = await stack.http('PUT', `/units/${each.id}/calendar`, { ranges: [{ from: today, to: monthEnd, available: 2, price: { value: 89_500, currency: 'SEK' }, minNights: 1 }] });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
    }
    const checkOut = new Date(Date.parse(`${today}T00:00:00Z`) + 2 * 86_400_000).toISOString().slice(0, 10);
    const tonight = (page: Page) => page.locator(`tr[data-unit="${unit.id}"] td[data-date="${today}"]`);

    const page = await signIn(stack, stack.adminKey);
    await open(page, '/calendar', 'Calendar');
    await tonight(page).locator('[data-channel="booking_com"][data-state="in_sync"]').waitFor({ timeout: 30_000 });

    // Booking.com's sandbox holds every call 18 s (inside the push's 20 s heartbeat and 30 s request
    // timeouts, so the held push still succeeds): the new count cannot reach it for that long, and
    // the page must show the night pending meanwhile, whatever the machine's load.
    expect((await stack.control('/booking-com/_control/faults', { latencyMs: 18_000 })).status).toBe(200);
    const booked = await fetch(`${stack.sandboxUrl}/airbnb/_control/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ listingId, checkIn: today, checkOut, guestName: 'Astrid Lindqvist' }),
    });
    expect(booked.status).toBe(201);
    // The Airbnb stay takes a unit: one of two left, drawn as a bar; Booking.com is told the new count.
    await page.locator(`tr[data-unit="${unit.id}"] + tr.bars [data-channel="airbnb"]`).filter({ hasText: 'Airbnb · Astrid Lindqvist' }).waitFor({ timeout: 30_000 });
    await tonight(page).locator('.avail').filter({ hasText: '1/2' }).waitFor({ timeout: 30_000 });
    await tonight(page).locator('[data-channel="booking_com"][data-state="pending"]').waitFor({ timeout: 30_000 });
    await fetch(`${stack.sandboxUrl}/booking-com/_control/faults`, { method: 'DELETE' });
    await tonight(page).locator('[data-channel="booking_com"][data-state="in_sync"]').waitFor({ timeout: 60_000 });
    await shoot(page, 'console-calendar');

    // A range of cells edits the calendar through PUT /units/:id/calendar.
    const second = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    await page.locator(`tr[data-unit="${units[1].id}"] td[data-date="${today}"]`).click();
    await page.locator(`tr[data-unit="${units[1].id}"] td[data-date="${second}"]`).click({ modifiers: ['Shift'] });
    await page.getByLabel(/Price per night/).fill('1200');
    await page.getByRole('button', { name: 'Save nights' }).click();
    await page.getByText(`Saved ${today} to ${second}`).waitFor({ timeout: 15_000 });
    const edited = await stack.http('GET', `/units/${units[1].id}/calendar?from=${today}&to=${second}`);
    expect(edited.body.days.map((night: { price: { value: number } }) => night.price.value)).toEqual([120_000, 120_000]);

    // Booking.com refuses every call (500): a new price for tonight cannot be pushed, and the night
    // reads failed, not merely pending, for as long as that lasts; once it answers again, in sync.
    expect((await stack.control('/booking-com/_control/faults', { errorRate: 1 })).status).toBe(200);
    const repriced = await stack.http('PUT', `/units/${unit.id}/calendar`, { ranges: [{ from: today, to: today, price: { value: 99_000, currency: 'SEK' } }] });
    expect(repriced.status, JSON.stringify(repriced.body)).toBe(200);
    await tonight(page).locator('[data-channel="booking_com"][data-state="failed"]').waitFor({ timeout: 60_000 });
    await fetch(`${stack.sandboxUrl}/booking-com/_control/faults`, { method: 'DELETE' });
    await tonight(page).locator('[data-channel="booking_com"][data-state="in_sync"]').waitFor({ timeout: 120_000 });
    await page.context().close();
  });

  it('4. a webhook whose delivery fails (Temporal stops answering) shows as failed with its attempts and last error; once Temporal is back, a replay from the page delivers it', { timeout: 240_000 }, async () => {
    const payment = await paidPayment(27_000);
    type Row = { id: number; eventType: string; providerReference: string | null; status: string; attempts: number; lastError: string | null };
    const inboxRow = async (status: string) =>
      ((await stack.http('GET', `/webhooks?provider=stripe&status=${status}&limit=100`)).body.items as Row[]).find(
        (item) => item.providerReference === payment.providerReference && item.eventType === 'payment_intent.succeeded',
      );
    // The fault: Temporal stops answering, so every delivery of the payment's success errors at its
    // deadline; after WEBHOOK_MAX_DELIVERY_ATTEMPTS (3 here) the row is failed and no longer retried.
    stack.pauseTemporal();
    let failed: Row;
    try {
      expect((await stack.control(`/stripe/_control/payments/${payment.providerReference}/succeed`)).status).toBe(200);
      failed = await eventually(() => inboxRow('failed'), { timeoutMs: 180_000, everyMs: 1_000, what: 'the payment webhook marked failed' });
    } finally {
      stack.resumeTemporal();
    }
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toBeTruthy();

    const page = await signIn(stack, stack.adminKey);
    await open(page, '/webhooks', 'Webhook inbox');
    await page.getByLabel('Status').selectOption('failed');
    const listed = page.locator(`tr[data-inbox="${failed.id}"]`);
    await listed.getByText('failed', { exact: true }).waitFor({ timeout: 15_000 });
    await expect(listed.locator('td.num').textContent()).resolves.toBe('3');
    await expect(listed.locator('td.why').textContent()).resolves.toBe(failed.lastError);
    // The payload as kept: redacted to the provider's allowlist, the event's envelope still there.
    await listed.getByText('Payload').click();
    await expect(listed.locator('pre').textContent()).resolves.toMatch(/"object": "event"/);
    await shoot(page, 'console-webhooks');
    // Temporal is back, but a failed row waits for a person: it is still failed until replayed.
    expect((await inboxRow('failed'))?.id).toBe(failed.id);
    await listed.getByRole('button', { name: `Replay ${failed.id}` }).click();
    await listed.getByRole('button', { name: `Confirm replay ${failed.id}` }).click();
    await page.getByLabel('Status').selectOption('');
    await page.locator(`tr[data-inbox="${failed.id}"]`).getByText('delivered', { exact: true }).waitFor({ timeout: 60_000 });
    expect(await inboxRow('delivered')).toMatchObject({ id: failed.id, status: 'delivered' });
    await eventually(async () => ((await stack.http('GET', `/payments/${payment.paymentId}`)).body.status === 'succeeded') || undefined, { timeoutMs: 60_000, what: 'the payment succeeded' });
    await page.context().close();
  });

  it('5. a seeded drift: reconciliation run from the page shows the discrepancy with its evidence', { timeout: 150_000 }, async () => {
    const payment = await paidPayment(31_000);
    const drifted = await stack.control('/stripe/_control/drift', { kind: 'lost_webhook', paymentIntent: payment.providerReference });
    expect(drifted.status, JSON.stringify(drifted.body)).toBe(200);
    // A second drift no provider state explains: Stripe's books show another amount. It is for a person.
    const mismatched = await paidPayment(33_000);
    expect((await stack.control(`/stripe/_control/payments/${mismatched.providerReference}/succeed`)).status).toBe(200);
    await eventually(async () => ((await stack.http('GET', `/payments/${mismatched.paymentId}`)).body.status === 'succeeded') || undefined, { what: 'the second payment succeeded' });
    expect((await stack.control('/stripe/_control/drift', { kind: 'amount_mismatch', paymentIntent: mismatched.providerReference, amount: 30_000 })).status).toBe(200);

    const page = await signIn(stack, stack.adminKey);
    await open(page, '/reconciliation', 'Reconciliation');
    await page.getByLabel('Provider').selectOption('stripe');
    await page.getByLabel('Day (UTC)').fill(today);
    await page.getByRole('button', { name: 'Run reconciliation' }).click();
    await page.getByRole('button', { name: 'Confirm run reconciliation' }).click();
    await page.getByText(/Reconciliation started/).waitFor({ timeout: 20_000 });
    const report = page.getByRole('region', { name: /Report of/ }).or(page.locator('section').filter({ has: page.getByRole('heading', { name: /Report of/ }) }));
    const discrepancy = report.locator('tr').filter({ hasText: payment.paymentId });
    await discrepancy.getByText('status mismatch').waitFor({ timeout: 90_000 });
    await discrepancy.getByText('Evidence').click();
    // The evidence: what the ledger said against what Stripe's transactions say.
    const evidence = JSON.parse((await discrepancy.locator('pre').textContent()) ?? '{}');
    expect(evidence).toMatchObject({ reason: 'lost_payment_webhook', ledger: { status: 'created', amount: 31_000 }, provider: { latestStatus: 'succeeded', captured: 31_000 } });

    // The amount mismatch is ignored from the page, with a reason; the report then says who and why.
    const mismatch = report.locator('tr[data-discrepancy="amount_mismatch"]').filter({ hasText: mismatched.paymentId });
    await mismatch.getByText('for a person').waitFor({ timeout: 30_000 });
    await mismatch.getByRole('button', { name: 'Ignore' }).click();
    await mismatch.getByLabel('Why leave it as it is').fill('Fee adjustment agreed with Stripe');
    await mismatch.getByRole('button', { name: 'Confirm ignore' }).click();
    await mismatch.getByText('ignored', { exact: true }).waitFor({ timeout: 20_000 });
    await mismatch.getByText(/Fee adjustment agreed with Stripe/).waitFor();
    expect(await mismatch.getByRole('button', { name: 'Ignore' }).count()).toBe(0);
    const runId = /Report of (\S+)/.exec((await page.getByRole('heading', { name: /Report of/ }).textContent()) ?? '')?.[1];
    const saved = (await stack.http('GET', `/reconciliations/${runId}/report`)).body as { discrepancies: Array<{ kind: string; paymentId: string; resolution: string; resolvedBy: string; resolutionNote: string }> };
    expect(saved.discrepancies.find((d) => d.kind === 'amount_mismatch' && d.paymentId === mismatched.paymentId)).toMatchObject({
      resolution: 'ignored',
      resolutionNote: 'Fee adjustment agreed with Stripe',
      resolvedBy: expect.stringMatching(/\(key_/),
    });
    await shoot(page, 'console-reconciliation');
    await page.context().close();
  });

  it('7. Connect Airbnb opens Airbnb\'s consent page in a tab, which comes back to Skerry, and the Channels page lists the new host', { timeout: 90_000 }, async () => {
    const page = await signIn(stack, stack.adminKey);
    const visited: string[] = [];
    page.context().on('request', (request) => visited.push(request.url()));
    await open(page, '/channels', 'Channels');
    const [tab] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('button', { name: 'Connect Airbnb' }).click()]);
    await tab.getByRole('heading', { name: 'Airbnb connected' }).waitFor({ timeout: 30_000 });
    expect(visited.some((url) => url.startsWith(`${stack.sandboxUrl}/airbnb/oauth2/authorize?`))).toBe(true);
    expect(new URL(tab.url()).origin).toBe(new URL(stack.publicUrl).origin);
    const hostId = /Airbnb host (\S+) is connected/.exec(await tab.locator('p').innerText())?.[1];
    expect(hostId).toBeTruthy();
    await tab.close();
    // Back on the console's page, which polls the connected hosts.
    await page.getByTestId(`airbnb-host-${hostId}`).waitFor({ timeout: 30_000 });
    const hosts = await stack.http('GET', '/channels/airbnb/accounts');
    expect(hosts.body.accounts.map((account: { externalAccountId: string }) => account.externalAccountId)).toContain(hostId);
    await page.context().close();
  });

  it('8. an iCal export link: made on the Channels page and copied, it serves the calendar; a new link revokes the old one', { timeout: 180_000 }, async () => {
    // Another property made first, so the page opens on it and this one is chosen from the list.
    await stack.http('POST', '/properties', { name: `Opened first ${Date.now()}`, currency: 'SEK' });
    const property = (await stack.http('POST', '/properties', { name: `Export links ${Date.now()}`, currency: 'SEK' })).body;
    const unit = (await stack.http('POST', `/properties/${property.id}/units`, { name: 'Lake cabin', count: 1 })).body;
    const page = await signIn(stack, stack.adminKey);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.adminUrl });
    // A loaded API can answer the page's first units load (the property it opens on) after the load for
    // the property chosen next; the page must keep the chosen one's units. Held here so that it happens
    // every time: the other properties' units are answered only once the chosen one's are.
    let chosenAnswered!: () => void;
    const chosenUnitsAnswered = new Promise<void>((resolve) => (chosenAnswered = resolve));
    const heldUnitLoads: Promise<void>[] = [];
    await page.route(/\/properties\/[^/]+\/units$/, async (route) => {
      const response = await route.fetch();
      if (route.request().url().includes(property.id)) {
        await route.fulfill({ response });
        chosenAnswered();
      } else {
        heldUnitLoads.push(chosenUnitsAnswered.then(() => route.fulfill({ response })));
      }
    });
    const row = page.locator(`tr[data-unit="${unit.id}"]`);
    const shown = row.getByTestId('ical-url-vrbo').getByRole('textbox');
    await open(page, '/channels', 'Channels');
    await page.getByLabel('Property').selectOption(property.id);
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    expect(heldUnitLoads.length, 'the page first loaded another property\'s units').toBeGreaterThan(0);
    // The late answer for the other property is delivered now; the row must stay for what follows.
    await Promise.all(heldUnitLoads);
    await row.getByLabel('OTA for a new export link').fill('vrbo', { timeout: 10_000 });
    await row.getByRole('button', { name: 'Create export link' }).click({ timeout: 10_000 });
    await shown.waitFor({ timeout: 15_000 });
    const first = await shown.inputValue();
    await row.getByRole('button', { name: 'Copy link' }).click();
    await row.getByText('Copied.').waitFor({ timeout: 5_000 });
    // A string: the test's TypeScript has no DOM, the page has.
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(first);
    const feed = await fetch(first);
    expect(feed.status).toBe(200);
    expect(await feed.text()).toContain('BEGIN:VCALENDAR');

    await row.getByRole('button', { name: 'New vrbo link' }).click();
    await row.getByRole('button', { name: 'Confirm new vrbo link' }).click();
    await eventually(async () => ((await shown.inputValue()) !== first ? true : undefined), { what: 'the new link on the page' });
    const second = await shown.inputValue();
    expect((await fetch(second)).status).toBe(200);
    expect((await fetch(first)).status).toBe(404);
    const listed = await stack.http('GET', `/units/${unit.id}/ical/exports`);
    expect(listed.body.exports.map((feed: { revokedAt: string | null }) => feed.revokedAt === null)).toEqual([false, true]);
    await shoot(page, 'console-channels-ical');
    await page.context().close();
  });

  it('6. every page passes axe-core with no serious or critical violation, on a laptop and on a tablet', { timeout: 180_000 }, async () => {
    for (const viewport of [{ width: 1366, height: 900 }, { width: 820, height: 1180 }]) {
      const page = await signIn(stack, stack.adminKey, viewport);
      for (const name of [...PAGES, `payments/${paymentId}`]) {
        await page.goto(`${stack.adminUrl}/console/#/${name}`);
        await page.getByRole('heading', { level: 1 }).waitFor();
        await page.waitForLoadState('networkidle');
        const results = await new AxeBuilder({ page }).analyze();
        const serious = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
        expect(serious.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join(', ')}`), `${name} at ${viewport.width}px`).toEqual([]);
        if (viewport.width > 1000) await shoot(page, name === 'overview' ? 'console-overview' : `console-${name.replace('/', '-')}`);
      }
      await page.context().close();
    }
  });
});
