// The Temporal Web UI as a person uses it: a dev server with its UI, a real payment through the
// stack, then headless Chromium (Debian's, driven by playwright-core) filters the workflow list by
// PaymentStatus and opens our payment, whose summary, details and activity summaries must show.
// Screenshots are kept in the test's temp dir (printed) for a person to look at.
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ensureBinary } from '../../stack/binaries';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporal-dev-server';
import { freePort } from '../../stack/ports';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';

const CHROMIUM = '/usr/bin/chromium';
// CI installs Chromium and fails without it; a developer's run without it skips and says so.
const hasChromium = process.env.CI === 'true' || existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[web-ui.test] ${CHROMIUM} is missing: the Web UI browser test is skipped (apt-get install chromium)`);

describe.skipIf(!hasChromium)('Temporal Web UI', () => {
  let server: TemporalDevServer;
  let stack: Stack;
  let browser: Browser;
  let shots: string;

  beforeAll(async () => {
    shots = await mkdtemp(join(tmpdir(), 'skerry-web-ui-'));
    const cliPath = await ensureBinary('temporal', { explicitPath: process.env.TEMPORAL_CLI_PATH, log: () => undefined });
    server = await startTemporalDevServer({
      cliPath,
      port: await freePort(),
      uiPort: await freePort(),
      headless: false,
      // Payloads are encrypted: the UI shows summaries and details through the stack's codec server.
      uiCodec: async () => stack && { url: `${stack.apiUrl}/codec`, apiKey: stack.apiKey },
      namespace: 'default',
      searchAttributes: SKERRY_SEARCH_ATTRIBUTES,
      logFile: join(shots, 'temporal.log'),
    });
    stack = await startStack({ temporalAddress: server.address });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await server?.stop();
  });

  it('finds our succeeded payment by PaymentStatus, with its summary, details and activity summaries', async () => {
    const reference = `web-ui-${Date.now()}`;
    const created = await stack.http('POST', '/payments', { provider: 'stripe', amount: { value: 125_000, currency: 'SEK' }, reference, description: 'Cabin 3, 2 nights' });
    expect(created.status).toBe(201);
    const { paymentId, workflowId } = created.body as { paymentId: string; workflowId: string };
    const providerReference = await eventually(async () => (await stack.http('GET', `/payments/${paymentId}`)).body.providerReference as string | null);
    await stack.control(`/stripe/_control/payments/${providerReference}/succeed`);
    await eventually(async () => (await stack.http('GET', `/payments/${paymentId}`)).body.status === 'succeeded', { what: 'succeeded' });
    const summary = `stripe payment 125000 SEK for ${reference} (${paymentId})`;

    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const query = `PaymentStatus="succeeded" AND PaymentReference="${reference}"`;
    const listUrl = `${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
    // Visibility is eventually consistent: reload until the list shows the workflow.
    await eventually(async () => {
      await page.goto(listUrl, { waitUntil: 'domcontentloaded' });
      await page.getByText(workflowId).first().waitFor({ timeout: 5_000 });
      return true;
    }, { timeoutMs: 45_000, everyMs: 500, what: `${workflowId} in the filtered workflow list` });
    const listShot = join(shots, 'workflows-filtered.png');
    await page.screenshot({ path: listShot, fullPage: true });
    const listText = await page.locator('body').innerText();
    expect(listText).toContain(workflowId);
    expect(listText).toContain('paymentWorkflow');

    // The same list without our payment: a query for another status must not show it.
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`PaymentStatus="failed" AND PaymentReference="${reference}"`)}`, { waitUntil: 'domcontentloaded' });
    await page.getByText(/No Workflows|no results/i).first().waitFor({ timeout: 15_000 });
    expect(await page.locator('body').innerText()).not.toContain(workflowId);

    // The list has no summary column (Temporal UI 2.42): the workflow's own page shows its static
    // summary and details, its current details, and every activity's summary.
    await page.goto(listUrl, { waitUntil: 'domcontentloaded' });
    const link = page.locator(`a[href*="/workflows/${workflowId}/"]`).first();
    await link.waitFor({ timeout: 15_000 });
    await page.goto(new URL((await link.getAttribute('href'))!, server.uiUrl).href, { waitUntil: 'domcontentloaded' });
    await page.getByText(summary).first().waitFor({ timeout: 20_000 });
    await page.getByText('stripe: create payment 125000 SEK').first().waitFor({ timeout: 20_000 });
    // The history re-renders while the workflow runs: an element may be replaced mid-scroll.
    const scrollTo = (text: string) =>
      eventually(async () => {
        await page.getByText(text).first().scrollIntoViewIfNeeded({ timeout: 5_000 });
        return true;
      }, { timeoutMs: 20_000, everyMs: 200, what: `scrolling to "${text}"` });
    const detailShot = join(shots, 'workflow-detail.png');
    await scrollTo(summary);
    await page.screenshot({ path: detailShot });
    const activityShot = join(shots, 'workflow-activity-summaries.png');
    await scrollTo('stripe: create payment 125000 SEK');
    await page.screenshot({ path: activityShot });
    const detailText = await page.locator('body').innerText();
    expect(detailText).toContain(summary);
    expect(detailText).toMatch(/succeeded/);
    expect(detailText).toContain('stripe: create payment 125000 SEK');
    console.log(`[web-ui] screenshots: ${listShot} ${detailShot} ${activityShot}`);
  }, 120_000);
});
