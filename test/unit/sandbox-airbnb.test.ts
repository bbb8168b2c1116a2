// The Airbnb sandbox signs its webhooks itself (sandbox/airbnb/signing.ts): the signature must be the
// HMAC-SHA256 the scheme defines, computed here independently, and Skerry's verifier must accept what
// the sandbox sends over the wire — the sandbox shares no signing code with the product.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, webhookSignature } from '../../sandbox/airbnb/signing';
import { AIRBNB_DEVELOPMENT_APP, AirbnbSandbox } from '../../sandbox/airbnb/sandbox';
import { createAirbnbWebhookVerifier } from '../../providers/airbnb/webhooks';
import { CHANNEL_SANDBOX_DEFAULTS } from '../../config';

const secret = 'whsec_airbnb_unit';
const body = '{"event_id":"evt_1","event_type":"reservation.confirmed"}';
const at = 1_767_225_600; // 2026-01-01T00:00:00Z
const hmac = (key: string, message: string) => createHmac('sha256', key).update(message).digest('hex');

describe('Airbnb sandbox webhook signing', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 of the endpoint secret, as t=…,v1=<hex>', () => {
    expect(webhookSignature(secret, body, at)).toBe(`t=${at},v1=${hmac(secret, `${at}.${body}`)}`);
  });

  it('carries one v1 per secret while a secret is rolled', () => {
    expect(webhookSignature(['old-secret', 'new-secret'], body, at)).toBe(`t=${at},v1=${hmac('old-secret', `${at}.${body}`)},v1=${hmac('new-secret', `${at}.${body}`)}`);
  });

  it('signs the bytes: a body with non-ASCII text is signed as UTF-8', () => {
    const guest = '{"guest":"Åsa Öberg"}';
    expect(webhookSignature(secret, guest, at)).toBe(`t=${at},v1=${createHmac('sha256', secret).update(Buffer.from(`${at}.${guest}`, 'utf8')).digest('hex')}`);
  });

  it("is accepted by Skerry's verifier, and refused with another secret or a changed body", async () => {
    const verifier = createAirbnbWebhookVerifier({ secrets: () => [secret], toleranceSeconds: 300 });
    const now = new Date(at * 1000);
    const header = webhookSignature(secret, body, at);
    const events = await verifier.verify({ rawBody: Buffer.from(body), headers: { [SIGNATURE_HEADER]: header }, url: '/webhooks/airbnb', now });
    expect(events[0]).toMatchObject({ provider: 'airbnb', eventId: 'evt_1' });
    await expect(
      verifier.verify({ rawBody: Buffer.from(body), headers: { [SIGNATURE_HEADER]: webhookSignature('other', body, at) }, url: '/webhooks/airbnb', now }),
    ).rejects.toThrow(/no signature matches/);
    await expect(verifier.verify({ rawBody: Buffer.from(`${body} `), headers: { [SIGNATURE_HEADER]: header }, url: '/webhooks/airbnb', now })).rejects.toThrow(/no signature matches/);
  });

  it('knows the app and webhook secret of Skerry\'s development configuration', () => {
    expect(AIRBNB_DEVELOPMENT_APP).toEqual({
      clientId: CHANNEL_SANDBOX_DEFAULTS.airbnbClientId,
      clientSecret: CHANNEL_SANDBOX_DEFAULTS.airbnbClientSecret,
      webhookSecret: CHANNEL_SANDBOX_DEFAULTS.airbnbWebhookSecret,
    });
  });
});

describe('Airbnb sandbox webhooks on the wire', () => {
  const received: Array<{ headers: IncomingMessage['headers']; body: Buffer }> = [];
  let server: Server;
  let sandbox: AirbnbSandbox;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks) });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    sandbox = new AirbnbSandbox({ ...AIRBNB_DEVELOPMENT_APP, webhookSecret: secret, webhookUrl: `http://127.0.0.1:${port}/webhooks/airbnb` });
  });
  afterAll(async () => {
    sandbox?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("sends a booking signed so that Skerry's verifier accepts it", async () => {
    const { hostId } = sandbox.authorize({ clientId: AIRBNB_DEVELOPMENT_APP.clientId, redirectUri: 'http://127.0.0.1/callback', hostId: '4711' });
    sandbox.updateCalendar(hostId, 'listing-1', [{ dates: ['2027-07-01:2027-07-03'], availability: 'available', available_count: 1, daily_price: 1200, currency: 'SEK' }]);
    const guest = sandbox.book({ listingId: 'listing-1', checkIn: '2027-07-01', checkOut: '2027-07-03', guestName: 'Åsa Öberg' });
    expect(await sandbox.webhooks.flush({ timeoutMs: 5_000 })).toBe(true);

    expect(received).toHaveLength(1);
    const [delivery] = received;
    const verifier = createAirbnbWebhookVerifier({ secrets: () => [secret], toleranceSeconds: 300 });
    const [event] = await verifier.verify({ rawBody: delivery!.body, headers: delivery!.headers, url: '/webhooks/airbnb' });
    expect(event).toMatchObject({ eventType: 'reservation.confirmed', providerReference: guest.confirmation_code });
    expect(event!.reservation).toMatchObject({ checkIn: '2027-07-01', checkOut: '2027-07-03', rooms: 1, guest: { name: 'Åsa Öberg' }, total: { value: 240_000, currency: 'SEK' } });
  });
});
