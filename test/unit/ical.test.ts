// iCal without a server: RFC 5545 dates and time zones as the import reads them, malformed feeds
// refused whole with a reason, the export's events and validators, and the size cap while streaming.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IcalFeedError, parseIcalFeed, zonedWallTimeToUtc } from '../../providers/ical/parse';
import { buildIcalFeed, feedEvents } from '../../providers/ical/feed';
import { fetchIcalFeed } from '../../providers/ical/fetch';
import { icalFeedRoutes, notModified } from '../../api/ical/feed';
import Fastify from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { staleBuffer, type IcalFeedStore, type IcalImportFeedRow } from '../../store/ical-feeds';
import { withStaleBuffer } from '../../activities/bookings/stale-buffer';
import { IcalUrlError, checkIcalUrl, checkIcalUrlSyntax, nonPublicReason, type IcalUrlPolicy, type LookupAll } from '../../providers/ical/url-policy';
import { ProviderError } from '../../providers/errors';

/** The tests' own servers listen on loopback: allowed by name, as `npm start` allows its sandbox. */
const loopbackAllowed: IcalUrlPolicy = { allowedHosts: ['127.0.0.1'], requireHttps: false };

const calendar = (...events: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Test//Test//EN', ...events, 'END:VCALENDAR', ''].join('\r\n');
const vevent = (...lines: string[]) => ['BEGIN:VEVENT', ...lines, 'END:VEVENT'].join('\r\n');
const refusal = (text: string, timeZone = 'Europe/Stockholm') => {
  try {
    parseIcalFeed(text, timeZone);
  } catch (err) {
    if (err instanceof IcalFeedError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('the feed was accepted');
};

describe('RFC 5545 dates in an imported feed', () => {
  it('reads all-day events with an exclusive DTEND, a DURATION, or neither (one day)', () => {
    const stays = parseIcalFeed(
      calendar(
        vevent('UID:a@airbnb.com', 'DTSTART;VALUE=DATE:20270710', 'DTEND;VALUE=DATE:20270713', 'SUMMARY:Reserved'),
        vevent('UID:b', 'DTSTART;VALUE=DATE:20270801', 'DURATION:P2D'),
        vevent('UID:c', 'DTSTART;VALUE=DATE:20270901'),
      ),
      'Europe/Stockholm',
    );
    expect(stays).toEqual([
      { uid: 'a@airbnb.com', checkIn: '2027-07-10', checkOut: '2027-07-13' },
      { uid: 'b', checkIn: '2027-08-01', checkOut: '2027-08-03' },
      { uid: 'c', checkIn: '2027-09-01', checkOut: '2027-09-02' },
    ]);
  });

  it('converts UTC and TZID date-times to the property’s local dates, and takes floating times as local', () => {
    const stays = parseIcalFeed(
      calendar(
        // 23:30 UTC is already the next day in Stockholm (UTC+2 in summer).
        vevent('UID:utc', 'DTSTART:20270709T233000Z', 'DTEND:20270711T220000Z'),
        // 15:00 in New York is 21:00 in Stockholm, the same day; 06:00 the next morning in New York is 12:00 Stockholm.
        vevent('UID:ny', 'DTSTART;TZID=America/New_York:20270720T150000', 'DTEND;TZID=America/New_York:20270722T060000'),
        // Floating: no conversion.
        vevent('UID:floating', 'DTSTART:20270801T230000', 'DTEND:20270803T010000'),
      ),
      'Europe/Stockholm',
    );
    expect(stays).toEqual([
      { uid: 'utc', checkIn: '2027-07-10', checkOut: '2027-07-12' },
      { uid: 'ny', checkIn: '2027-07-20', checkOut: '2027-07-22' },
      { uid: 'floating', checkIn: '2027-08-01', checkOut: '2027-08-03' },
    ]);
  });

  it('uses the VTIMEZONE the file carries for a TZID that is not an IANA name', () => {
    const vtimezone = [
      'BEGIN:VTIMEZONE',
      'TZID:Custom Plus Ten',
      'BEGIN:STANDARD',
      'DTSTART:19700101T000000',
      'TZOFFSETFROM:+1000',
      'TZOFFSETTO:+1000',
      'END:STANDARD',
      'END:VTIMEZONE',
    ].join('\r\n');
    // 05:00 at +10:00 is 19:00 UTC the day before, 21:00 in Stockholm (summer).
    const stays = parseIcalFeed(calendar(vtimezone, vevent('UID:x', 'DTSTART;TZID=Custom Plus Ten:20270715T050000', 'DTEND;TZID=Custom Plus Ten:20270717T050000')), 'Europe/Stockholm');
    expect(stays).toEqual([{ uid: 'x', checkIn: '2027-07-14', checkOut: '2027-07-16' }]);
  });

  it('finds the UTC instant of a wall-clock time across a DST change', () => {
    expect(new Date(zonedWallTimeToUtc({ year: 2027, month: 3, day: 28, hour: 12, minute: 0, second: 0 }, 'Europe/Stockholm')).toISOString()).toBe('2027-03-28T10:00:00.000Z');
    expect(new Date(zonedWallTimeToUtc({ year: 2027, month: 1, day: 15, hour: 12, minute: 0, second: 0 }, 'Europe/Stockholm')).toISOString()).toBe('2027-01-15T11:00:00.000Z');
  });

  it('leaves cancelled events out (they block nothing)', () => {
    expect(parseIcalFeed(calendar(vevent('UID:gone', 'STATUS:CANCELLED', 'DTSTART;VALUE=DATE:20270710', 'DTEND;VALUE=DATE:20270711')), 'UTC')).toEqual([]);
  });
});

describe('malformed feeds are refused whole, with the reason', () => {
  const good = vevent('UID:ok', 'DTSTART;VALUE=DATE:20270710', 'DTEND;VALUE=DATE:20270712');
  it.each([
    ['an impossible date', calendar(good, vevent('UID:bad', 'DTSTART;VALUE=DATE:20270230', 'DTEND;VALUE=DATE:20270302')), 'bad_date', /DTSTART 2027-02-30 is not a valid date/],
    ['a month 13', calendar(vevent('UID:bad', 'DTSTART;VALUE=DATE:20271310', 'DTEND;VALUE=DATE:20271312')), 'bad_date', /not a valid date/],
    ['an end before the start', calendar(vevent('UID:bad', 'DTSTART;VALUE=DATE:20270712', 'DTEND;VALUE=DATE:20270710')), 'bad_date', /before DTSTART/],
    ['a missing DTSTART', calendar(vevent('UID:bad', 'DTEND;VALUE=DATE:20270710')), 'bad_date', /no DTSTART/],
    ['a missing UID', calendar(good, vevent('DTSTART;VALUE=DATE:20270710', 'DTEND;VALUE=DATE:20270712')), 'missing_uid', /event #2 has no UID/],
    ['an unknown time zone', calendar(vevent('UID:tz', 'DTSTART;TZID=Mars/Olympus_Mons:20270710T150000', 'DTEND;TZID=Mars/Olympus_Mons:20270712T110000')), 'unknown_timezone', /TZID=Mars\/Olympus_Mons/],
    ['a recurring event', calendar(vevent('UID:r', 'DTSTART;VALUE=DATE:20270710', 'RRULE:FREQ=WEEKLY')), 'unsupported', /recurring/],
    ['not a calendar', 'hello world', 'malformed', /not an iCalendar file/],
  ])('%s', (_what, text, code, message) => {
    const refused = refusal(text);
    expect(refused.code).toBe(code);
    expect(refused.message).toMatch(message);
  });
});

describe('the export feed', () => {
  it('merges consecutive nights of one kind into all-day events with an exclusive end', () => {
    expect(
      feedEvents([
        { date: '2027-07-02', kind: 'reserved' },
        { date: '2027-07-01', kind: 'reserved' },
        { date: '2027-07-03', kind: 'closed' },
        { date: '2027-07-05', kind: 'closed' },
      ]),
    ).toEqual([
      { from: '2027-07-01', to: '2027-07-03', kind: 'reserved' },
      { from: '2027-07-03', to: '2027-07-04', kind: 'closed' },
      { from: '2027-07-05', to: '2027-07-06', kind: 'closed' },
    ]);
  });

  it('is a valid calendar ical.js reads back to the same nights, with a stable ETag and no guest data', () => {
    const nights = [
      { date: '2027-07-01', kind: 'reserved' as const },
      { date: '2027-07-02', kind: 'reserved' as const },
    ];
    const lastModified = new Date('2027-06-01T10:00:00Z');
    const first = buildIcalFeed({ feedId: 'icx_1', name: 'unit', nights, lastModified });
    expect(first.body).toContain('DTSTART;VALUE=DATE:20270701');
    expect(first.body).toContain('DTEND;VALUE=DATE:20270703');
    expect(first.body).toContain('SUMMARY:Reserved');
    expect(parseIcalFeed(first.body, 'Europe/Stockholm')).toEqual([{ uid: '2027-07-01-reserved-icx_1@skerry', checkIn: '2027-07-01', checkOut: '2027-07-03' }]);
    expect(buildIcalFeed({ feedId: 'icx_1', name: 'unit', nights, lastModified }).etag).toBe(first.etag);
    expect(buildIcalFeed({ feedId: 'icx_1', name: 'unit', nights: nights.slice(0, 1), lastModified }).etag).not.toBe(first.etag);
  });

  it('answers a conditional GET: If-None-Match first, If-Modified-Since otherwise', () => {
    const lastModified = new Date('2027-06-01T10:00:00Z');
    expect(notModified({ 'if-none-match': '"abc"' }, '"abc"', lastModified)).toBe(true);
    expect(notModified({ 'if-none-match': 'W/"abc", "def"' }, '"abc"', lastModified)).toBe(true);
    expect(notModified({ 'if-none-match': '"old"', 'if-modified-since': lastModified.toUTCString() }, '"abc"', lastModified)).toBe(false);
    expect(notModified({ 'if-modified-since': lastModified.toUTCString() }, '"abc"', lastModified)).toBe(true);
    expect(notModified({ 'if-modified-since': new Date('2027-06-01T09:59:59Z').toUTCString() }, '"abc"', lastModified)).toBe(false);
    expect(notModified({}, '"abc"', lastModified)).toBe(false);
  });
});

describe('fetching a feed', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/huge') {
        // 10 MB, streamed without a Content-Length: the cap must stop the read, not the declared size.
        const chunk = Buffer.alloc(64 * 1024, 'A');
        let sent = 0;
        const push = () => {
          while (sent < 10 * 1024 * 1024) {
            sent += chunk.length;
            if (!response.write(chunk)) return response.once('drain', push);
          }
          response.end();
        };
        response.writeHead(200, { 'content-type': 'text/calendar' });
        return push();
      }
      if (request.headers['if-none-match'] === '"v1"') {
        response.writeHead(304);
        return response.end();
      }
      response.writeHead(200, { 'content-type': 'text/calendar', etag: '"v1"', 'last-modified': 'Tue, 01 Jun 2027 10:00:00 GMT' });
      response.end(calendar());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the validators it was given and reports 304 as not modified', async () => {
    const first = await fetchIcalFeed(`${base}/feed.ics`, { maxBytes: 1_000_000, timeoutMs: 5_000, policy: loopbackAllowed });
    expect(first).toMatchObject({ status: 'ok', etag: '"v1"', lastModified: 'Tue, 01 Jun 2027 10:00:00 GMT' });
    expect(await fetchIcalFeed(`${base}/feed.ics`, { etag: first.etag, maxBytes: 1_000_000, timeoutMs: 5_000, policy: loopbackAllowed })).toEqual({ status: 'not_modified' });
  });

  it('stops reading a 10 MB body at the cap', async () => {
    const error = await fetchIcalFeed(`${base}/huge`, { maxBytes: 2 * 1024 * 1024, timeoutMs: 10_000, policy: loopbackAllowed }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(IcalFeedError);
    expect((error as IcalFeedError).code).toBe('too_large');
    expect((error as IcalFeedError).message).toMatch(/more than the 2097152 bytes/);
  });
});

describe('the public feed route', () => {
  it('answers an unknown or malformed token 404 and limits each address per minute', async () => {
    const looked: string[] = [];
    // Only the token lookup is reached: nothing is found, so the route must answer 404 before reading any calendar.
    const feeds = { findExportFeed: async (token: string) => (looked.push(token), undefined) } as unknown as IcalFeedStore;
    const app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(rateLimit, { global: false });
    await app.register(icalFeedRoutes, { feeds, days: 30, ratePerMinute: 3 });
    const token = 'a'.repeat(43);
    const answers = [];
    for (const url of [`/ical/${token}.ics`, '/ical/short.ics', `/ical/${token}.txt`, `/ical/${token}.ics`]) answers.push((await app.inject({ method: 'GET', url, remoteAddress: '203.0.113.7' })).statusCode);
    expect(answers).toEqual([404, 404, 404, 429]);
    expect(looked).toEqual([token]);
    expect((await app.inject({ method: 'GET', url: `/ical/${token}.ics`, remoteAddress: '203.0.113.8' })).statusCode).toBe(404);
    await app.close();
  });
});

describe('where an import URL may point (SSRF)', () => {
  const strict: IcalUrlPolicy = { allowedHosts: [], requireHttps: true };
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof IcalUrlError) return err.reason;
      throw err;
    }
    return 'accepted';
  };

  it('knows the addresses that are not on the internet, IPv4 inside IPv6 included', () => {
    const inside = ['127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.64.0.1'];
    const inside6 = ['::1', '::', 'fd00::1', 'fc12:3456::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a00:1', '2002:c0a8:0101::1'];
    for (const address of [...inside, ...inside6]) expect(nonPublicReason(address), address).toBeDefined();
    expect(nonPublicReason('169.254.169.254')).toMatch(/link-local/);
    expect(nonPublicReason('fd00::1')).toMatch(/unique-local/);
    for (const address of ['8.8.8.8', '93.184.215.14', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(nonPublicReason(address), address).toBeUndefined();
  });

  it('refuses other schemes, plain http where https is required, and inside addresses however they are spelled', () => {
    expect(refusal(() => checkIcalUrlSyntax('file:///etc/passwd', strict))).toBe('scheme');
    expect(refusal(() => checkIcalUrlSyntax('gopher://example.com/', strict))).toBe('scheme');
    expect(refusal(() => checkIcalUrlSyntax('ftp://example.com/cal.ics', strict))).toBe('scheme');
    expect(refusal(() => checkIcalUrlSyntax('http://example.com/cal.ics', strict))).toBe('insecure');
    expect(refusal(() => checkIcalUrlSyntax('http://example.com/cal.ics', { ...strict, requireHttps: false }))).toBe('accepted');
    for (const url of [
      'https://127.0.0.1/cal.ics',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::1]:8080/',
      'https://[fd12::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://2130706433/', // 127.0.0.1 as one number: the URL parser makes it an address
      'https://0x7f.1/',
      'https://localhost:5432/',
      'https://db.localhost/',
      'https://10.0.0.5/',
    ]) {
      expect(refusal(() => checkIcalUrlSyntax(url, strict)), url).toBe('forbidden_address');
    }
    expect(refusal(() => checkIcalUrlSyntax('https://www.airbnb.com/calendar/ical/1.ics?s=abc', strict))).toBe('accepted');
  });

  it('lets through only the allow-listed host (and port) an operator named, plain http included', () => {
    const sandbox: IcalUrlPolicy = { allowedHosts: ['127.0.0.1:4010'], requireHttps: true };
    expect(checkIcalUrlSyntax('http://127.0.0.1:4010/airbnb/ical/1.ics', sandbox).allowListed).toBe(true);
    expect(refusal(() => checkIcalUrlSyntax('http://127.0.0.1:5432/', sandbox))).toBe('insecure');
    expect(refusal(() => checkIcalUrlSyntax('https://127.0.0.1:5432/', sandbox))).toBe('forbidden_address');
    expect(refusal(() => checkIcalUrlSyntax('https://127.0.0.2:4010/', sandbox))).toBe('forbidden_address');
    expect(checkIcalUrlSyntax('https://feeds.test/x.ics', { allowedHosts: ['FEEDS.test'], requireHttps: true }).allowListed).toBe(true);
  });

  it('resolves the name at registration and refuses it when any address it has is inside', async () => {
    const names: Record<string, string[]> = {
      'metadata.evil.test': ['169.254.169.254'],
      'split.evil.test': ['93.184.215.14', '10.0.0.7'],
      'v6.evil.test': ['fd00::53'],
      'calendar.example.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    };
    const lookupAll: LookupAll = async (host) => {
      const addresses = names[host];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    const reason = (url: string) => checkIcalUrl(url, strict, lookupAll).then(() => 'accepted', (err: IcalUrlError) => `${err.reason}: ${err.message}`);
    expect(await reason('https://metadata.evil.test/latest')).toMatch(/^forbidden_address: metadata\.evil\.test resolves to 169\.254\.169\.254, a link-local/);
    expect(await reason('https://split.evil.test/')).toMatch(/^forbidden_address: .*10\.0\.0\.7, a private/);
    expect(await reason('https://v6.evil.test/')).toMatch(/^forbidden_address: .*fd00::53, a unique-local/);
    expect(await reason('https://nowhere.test/')).toMatch(/^unresolvable: nowhere\.test does not resolve \(ENOTFOUND\)/);
    expect(await reason('https://calendar.example.test/feed.ics')).toBe('accepted');
  });
});

describe('fetching a feed under the URL policy', () => {
  let server: Server;
  let port: number;
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(`${request.headers.host} ${request.url}`);
      const [path] = (request.url ?? '').split('?');
      if (path === '/to-loopback') {
        response.writeHead(302, { location: `http://127.0.0.1:${port}/feed.ics` });
        return response.end();
      }
      if (path === '/to-file') {
        response.writeHead(301, { location: 'file:///etc/passwd' });
        return response.end();
      }
      if (path === '/hop') {
        response.writeHead(307, { location: '/feed.ics' });
        return response.end();
      }
      if (path === '/loop') {
        response.writeHead(302, { location: '/loop' });
        return response.end();
      }
      if (path === '/down') {
        response.writeHead(503, { 'retry-after': '7' });
        return response.end('maintenance');
      }
      response.writeHead(200, { 'content-type': 'text/calendar' });
      response.end(calendar());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // Names the test resolves itself: both point at this loopback server, as a rebinding name would
  // once it had passed the registration's check.
  const lookupAll: LookupAll = async (host) => {
    if (host === 'rebind.test' || host === 'feeds.test') return [{ address: '127.0.0.1', family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };
  const fetchWith = (url: string, allowedHosts: string[]) =>
    fetchIcalFeed(url, { maxBytes: 1_000_000, timeoutMs: 5_000, policy: { allowedHosts, requireHttps: false }, lookupAll }).catch((err: unknown) => err);

  it('refuses a name that resolves to loopback when it connects (DNS rebinding), and reaches it only when allow-listed', async () => {
    const before = requests.length;
    const refused = await fetchWith(`http://rebind.test:${port}/feed.ics`, []);
    expect(refused).toBeInstanceOf(IcalFeedError);
    expect((refused as IcalFeedError).code).toBe('forbidden_url');
    expect((refused as IcalFeedError).message).toMatch(/rebind\.test resolves to 127\.0\.0\.1, a loopback address/);
    expect(requests.length).toBe(before);
    // The same fetch with the name allow-listed reaches the server: the refusal was the policy's.
    expect(await fetchWith(`http://rebind.test:${port}/feed.ics`, ['rebind.test'])).toMatchObject({ status: 'ok' });
    expect(requests.slice(before)).toEqual([`rebind.test:${port} /feed.ics`]);
  });

  it('checks every redirect again, follows an allowed one, and stops after the cap', async () => {
    const before = requests.length;
    const toLoopback = await fetchWith(`http://feeds.test:${port}/to-loopback`, ['feeds.test']);
    expect((toLoopback as IcalFeedError).code).toBe('forbidden_url');
    expect((toLoopback as IcalFeedError).message).toMatch(/127\.0\.0\.1:\d+ is a loopback address/);
    const toFile = await fetchWith(`http://feeds.test:${port}/to-file`, ['feeds.test']);
    expect((toFile as IcalFeedError).message).toMatch(/^scheme: file: URLs are not fetched/);
    // Neither redirect's target was asked for.
    expect(requests.slice(before)).toEqual([`feeds.test:${port} /to-loopback`, `feeds.test:${port} /to-file`]);

    expect(await fetchWith(`http://feeds.test:${port}/hop`, ['feeds.test'])).toMatchObject({ status: 'ok' });
    const loopStart = requests.length;
    const loop = await fetchWith(`http://feeds.test:${port}/loop`, ['feeds.test']);
    expect((loop as IcalFeedError).code).toBe('too_many_redirects');
    expect(requests.length - loopStart).toBe(4); // the first request and 3 redirects followed
  });

  it('reports a host that answers 5xx as a provider failure the breaker counts, with its Retry-After', async () => {
    const down = await fetchWith(`http://feeds.test:${port}/down`, ['feeds.test']);
    expect(down).toBeInstanceOf(ProviderError);
    expect(down).toMatchObject({ provider: 'ical', kind: 'unavailable', retryable: true, details: { httpStatus: 503, retryAfterMs: 7_000 } });
    const refusedConnection = await fetchWith('http://127.0.0.1:1/feed.ics', ['127.0.0.1']);
    expect(refusedConnection).toMatchObject({ provider: 'ical', kind: 'network' });
  });
});

describe('the stale import’s safety buffer', () => {
  const nowMs = Date.parse('2027-06-10T12:00:00Z');
  const feed = (channel: string, staleBufferDays: number, lastSuccessMinutesAgo: number, staleKeepBackUnits = 0) =>
    ({
      channel,
      staleBufferDays,
      staleKeepBackUnits,
      staleAfterMs: 30 * 60_000,
      lastSuccessAt: new Date(nowMs - lastSuccessMinutesAgo * 60_000),
      lastErrorAt: null,
      createdAt: new Date(nowMs - 86_400_000),
    }) as unknown as IcalImportFeedRow;

  it('closes the longest buffer of the other OTAs’ stale imports, never the stale OTA’s own', () => {
    const imports = [feed('airbnb', 3, 120), feed('vrbo', 5, 120), feed('booking_com', 7, 5)];
    expect(staleBuffer(imports, 'booking_com', nowMs).days).toBe(5);
    expect(staleBuffer(imports, 'vrbo', nowMs).days).toBe(3);
    // booking_com's import is fresh: its 7 nights close nothing.
    expect(staleBuffer([feed('booking_com', 7, 5)], 'airbnb', nowMs)).toEqual({ days: 0, keepBackUnits: 0 });
    expect(staleBuffer([feed('airbnb', 0, 600)], 'booking_com', nowMs)).toEqual({ days: 0, keepBackUnits: 0 });
  });

  it('keeps back the most units any other OTA’s stale import asks, never for the stale OTA itself, none while fresh', () => {
    const imports = [feed('airbnb', 0, 120, 1), feed('vrbo', 2, 120, 2), feed('booking_com', 0, 5, 3)];
    expect(staleBuffer(imports, 'booking_com', nowMs)).toEqual({ days: 2, keepBackUnits: 2 });
    expect(staleBuffer(imports, 'vrbo', nowMs)).toEqual({ days: 0, keepBackUnits: 1 });
    expect(staleBuffer([feed('booking_com', 0, 5, 3)], 'airbnb', nowMs).keepBackUnits).toBe(0);
  });

  it('tells the channel the buffer’s nights as closed with nothing to sell, and leaves the rest', () => {
    const day = (date: string) => ({ date, available: 2, minNights: 1, closedToArrival: false, closed: false });
    const days = ['2027-06-10', '2027-06-11', '2027-06-12', '2027-06-13'].map(day);
    expect(withStaleBuffer(days, { from: '2027-06-10', until: '2027-06-12', keepBackUnits: 0 }).map((d) => [d.date, d.available, d.closed])).toEqual([
      ['2027-06-10', 0, true],
      ['2027-06-11', 0, true],
      ['2027-06-12', 2, false],
      ['2027-06-13', 2, false],
    ]);
    expect(withStaleBuffer(days, undefined)).toBe(days);
  });

  it('takes the kept-back units off every night from today, never below nothing, and closes the buffer’s nights', () => {
    const day = (date: string, available: number) => ({ date, available, minNights: 1, closedToArrival: false, closed: false });
    const days = [day('2027-06-09', 2), day('2027-06-10', 2), day('2027-06-11', 3), day('2027-06-12', 1), day('2027-06-13', 0)];
    expect(withStaleBuffer(days, { from: '2027-06-10', until: '2027-06-11', keepBackUnits: 1 }).map((d) => [d.date, d.available, d.closed])).toEqual([
      ['2027-06-09', 2, false],
      ['2027-06-10', 0, true],
      ['2027-06-11', 2, false],
      ['2027-06-12', 0, false],
      ['2027-06-13', 0, false],
    ]);
  });
});
