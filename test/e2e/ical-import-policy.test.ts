// The iCal import's URL policy through the real admin door, worker and configuration: with the
// sandbox's host and port on ICAL_IMPORT_ALLOWED_HOSTS (as `npm start` sets it), an Airbnb listing's
// export on that sandbox is imported, while the admin door itself on another loopback port, the
// cloud metadata address and a private network are refused with a 400 — and an iCal channel mapping
// is refused, pointing to the iCal routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/harness';
import { addDays } from '../../domain/dates';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: (ports) => ({ ICAL_IMPORT_ALLOWED_HOSTS: `127.0.0.1:${ports.sandbox}` }) });
});
afterAll(async () => stack?.close());

async function unit() {
  const property = await stack.http('POST', '/properties', { name: `iCal policy ${Date.now()}`, currency: 'SEK' });
  expect(property.status).toBe(201);
  const created = await stack.http('POST', `/properties/${property.body.id}/units`, { name: 'Cabin', count: 1 });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

describe('the iCal import URL policy through the API', () => {
  it('refuses inside addresses that are not allow-listed with a 400, and imports from the allow-listed sandbox', async () => {
    const unitId = await unit();
    const apiPort = new URL(stack.apiUrl).port;
    const refused: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${apiPort}/units`, new RegExp(`127\\.0\\.0\\.1:${apiPort} is a loopback address`)],
      ['http://169.254.169.254/latest/meta-data/iam/', /link-local \(cloud metadata\)/],
      ['https://192.168.0.10/calendar.ics', /private \(RFC 1918\)/],
      ['https://localhost/calendar.ics', /loopback name/],
    ];
    for (const [url, reason] of refused) {
      const response = await stack.http('POST', `/units/${unitId}/ical/imports`, { channel: 'airbnb', url });
      expect(response.status, url).toBe(400);
      expect(response.body.message, url).toMatch(reason);
    }
    const listed = await stack.http('GET', `/units/${unitId}/ical/imports`);
    expect(listed.body.imports).toEqual([]);

    // The sandbox's Airbnb listing exports its calendar on the allow-listed host and port.
    const listingId = `policy${Date.now()}`;
    const from = addDays(new Date().toISOString().slice(0, 10), 30);
    const listing = await fetch(`${stack.sandboxUrl}/airbnb/_control/listings/${listingId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hostId: 'policy-host', from, to: addDays(from, 9), availableCount: 1 }),
    });
    expect(listing.status).toBe(201);
    const { exportUrl } = (await listing.json()) as { exportUrl: string };
    const feed = await stack.http('POST', `/units/${unitId}/ical/imports`, { channel: 'airbnb', url: exportUrl });
    expect(feed.status, JSON.stringify(feed.body)).toBe(201);
    const imported = await eventually(
      async () => {
        const health = await stack.http('GET', '/channels/ical/health');
        const entry = health.body.imports.find((item: { id: string }) => item.id === feed.body.id);
        return entry?.state === 'ok' ? entry : undefined;
      },
      { what: 'the sandbox feed imported', timeoutMs: 60_000 },
    );
    expect(imported).toMatchObject({ origin: stack.sandboxUrl, breaker: 'closed', lastError: null });
  });

  it('refuses an iCal channel mapping with a 400 naming the iCal routes', async () => {
    const unitId = await unit();
    const response = await stack.http('POST', `/units/${unitId}/mappings`, { channel: 'ical', externalAccountId: 'airbnb', externalListingId: '1' });
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/\/units\/:id\/ical\/imports/);
    expect((await stack.http('GET', `/units/${unitId}/mappings`)).body.mappings).toEqual([]);
  });
});
