// The Booking.com sandbox over HTTP: machine-account auth, OTA errors for malformed requests, the
// reservation queues' acknowledgement rules, and a push that resumes after the requests it already sent.
// Then the sandbox's own OTA codec against the example messages in Booking.com's documentation
// (test/fixtures/booking-com/, each naming its page): the sandbox must read what Booking.com says a
// partner sends, and write what Booking.com says it serves.
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { amountInMinorUnits, readAcknowledgement, readAvailNotif, readRateAmountNotif } from '../../sandbox/booking-com/ota';
import { readBxmlRequest } from '../../sandbox/booking-com/bxml';
import { buildBxmlRequest, parseRoomRateAvailability } from '../../providers/booking-com/bxml';
import { BOOKING_COM_DEVELOPMENT_ACCOUNT, BOOKING_COM_SANDBOX_HOSTS } from '../../sandbox/booking-com/sandbox';
import { CHANNEL_SANDBOX_DEFAULTS } from '../../config';
import { createBookingComClient } from '../../providers/booking-com/client';
import { OTA_NAMESPACE, parseReservationQueue, parseResponse } from '../../providers/booking-com/ota';
import type { ChannelDay, ChannelMapping } from '../../domain/bookings';

const credentials = { username: 'machine-unit', password: 'secret-unit' };
let app: Awaited<ReturnType<typeof buildSandbox>>;
let base: string;
let supply: string;
let secure: string;
beforeAll(async () => {
  app = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, bookingCom: credentials });
  base = `${await app.listen({ host: '127.0.0.1', port: 0 })}/booking-com`;
  supply = `${base}${BOOKING_COM_SANDBOX_HOSTS.supply}`;
  secure = `${base}${BOOKING_COM_SANDBOX_HOSTS.secure}`;
});
afterAll(async () => app?.close());

const auth = (user = credentials.username, password = credentials.password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const mapping: ChannelMapping = { mappingId: 'm', unitId: 'u', channel: 'booking_com', externalAccountId: '7000001', externalListingId: '700000101', externalRateId: '70000019' };
const night = (date: string, price: number): ChannelDay => ({ date, available: 3, price, currency: 'EUR', minNights: 2, closedToArrival: false, closed: false });

describe('Booking.com sandbox', () => {
  it('answers a wrong machine account with 401 and an OTA error', async () => {
    const response = await fetch(`${secure}/hotels/ota/OTA_HotelResNotif`, { headers: { authorization: auth('machine-unit', 'wrong') } });
    expect(response.status).toBe(401);
    const body = parseResponse(await response.text(), 'OTA_ErrorRS');
    expect(body.errors[0]).toMatchObject({ type: '4', code: '497' });
  });

  it('refuses a malformed request with 400 and Errors naming the problem', async () => {
    const response = await fetch(`${supply}/hotels/ota/OTA_HotelAvailNotif`, {
      method: 'POST',
      headers: { authorization: auth(), 'content-type': 'text/xml' },
      body: `<OTA_HotelAvailNotifRQ xmlns="${OTA_NAMESPACE}"><AvailStatusMessages><AvailStatusMessage/></AvailStatusMessages></OTA_HotelAvailNotifRQ>`,
    });
    expect(response.status).toBe(400);
    expect(parseResponse(await response.text(), 'OTA_HotelAvailNotifRS').errors[0]!.text).toMatch(/HotelCode is required/);
  });

  it('resumes a push after the requests an earlier attempt already sent', async () => {
    const client = createBookingComClient({ apiBase: supply, secureApiBase: secure, ...credentials });
    const days = [night('2027-08-01', 10_000), night('2027-08-02', 12_000)];
    const sandbox = sandboxHandles(app).bookingCom;
    const before = { ...sandbox.counts };
    const done: number[] = [];
    // The availability request went through before the worker died; only the rates are left.
    const result = await client.pushCalendar(mapping, days, { skipRequests: 1, onRequest: (n) => done.push(n) });
    expect(result.requests).toBe(1);
    expect(done).toEqual([2]);
    expect(sandbox.counts.availRequests - before.availRequests).toBe(0);
    expect(sandbox.counts.rateRequests - before.rateRequests).toBe(1);
    expect(sandbox.calendar('7000001', '700000101', '70000019', '2027-08-01', '2027-08-02').map((day) => day.price)).toEqual([10_000, 12_000]);
  });

  it('keeps a message queued until the version handed out is acknowledged', async () => {
    const sandbox = sandboxHandles(app).bookingCom;
    const client = createBookingComClient({ apiBase: supply, secureApiBase: secure, ...credentials });
    await client.pushCalendar(mapping, [night('2027-09-01', 9_000), night('2027-09-02', 9_000)], { skipRequests: 0, onRequest: () => {} });
    const guest = sandbox.book({ hotelId: '7000001', roomId: '700000101', rateId: '70000019', checkIn: '2027-09-01', checkOut: '2027-09-02' });
    const pulled = (await client.pullReservations!()).filter((event) => event.channelReservationId === guest.resId);
    expect(pulled).toHaveLength(1);
    expect(pulled[0]).toMatchObject({ kind: 'new', rooms: 1, total: { value: 9_000, currency: 'EUR' } });
    // Pulled again (not acknowledged yet): the same message, the same id.
    const again = (await client.pullReservations!()).filter((event) => event.channelReservationId === guest.resId);
    expect(again[0]!.ack).toEqual(pulled[0]!.ack);
    await client.confirmReservation(pulled[0]!);
    expect(sandbox.queueState().new.some((entry) => entry.resId === guest.resId)).toBe(false);

    // A modification arriving after the pull is not covered by an acknowledgement of the older one.
    sandbox.modify(guest.resId, { checkOut: '2027-09-03' });
    const [modified] = (await client.pullReservations!()).filter((event) => event.channelReservationId === guest.resId);
    sandbox.cancel(guest.resId);
    await client.confirmReservation(modified!);
    expect(sandbox.queueState().modify.some((entry) => entry.resId === guest.resId)).toBe(true);
    const response = await fetch(`${secure}/hotels/ota/OTA_HotelResModifyNotif`, { headers: { authorization: auth() } });
    const queue = parseReservationQueue(await response.text());
    expect(queue.reservations.find((reservation) => reservation.resId === guest.resId)?.status).toBe('Cancel');
  });

  it('announces each applied push per room and each reservation the first time it is fetched', async () => {
    const sandbox = sandboxHandles(app).bookingCom;
    const client = createBookingComClient({ apiBase: supply, secureApiBase: secure, ...credentials });
    const pushes: Array<{ listing: string; dates: readonly string[] }> = [];
    const fetched: string[] = [];
    const onPush = (event: { listing: string; dates: readonly string[] }) => pushes.push(event);
    const onFetch = (event: { reservationId: string }) => fetched.push(event.reservationId);
    sandbox.events.on('calendar', onPush);
    sandbox.events.on('retrieved', onFetch);
    try {
      await client.pushCalendar(mapping, [night('2027-10-01', 9_000), night('2027-10-02', 9_500)], { skipRequests: 0, onRequest: () => {} });
      // One availability and one rate request, each announced once for the room with both nights.
      expect(pushes).toEqual([
        { listing: '7000001/700000101', dates: ['2027-10-01', '2027-10-02'], atMs: expect.any(Number) },
        { listing: '7000001/700000101', dates: ['2027-10-01', '2027-10-02'], atMs: expect.any(Number) },
      ]);
      const guest = sandbox.book({ hotelId: '7000001', roomId: '700000101', rateId: '70000019', checkIn: '2027-10-01', checkOut: '2027-10-02' });
      await client.pullReservations!();
      await client.pullReservations!();
      expect(fetched.filter((id) => id === guest.resId)).toEqual([guest.resId]);
    } finally {
      sandbox.events.off('calendar', onPush);
      sandbox.events.off('retrieved', onFetch);
    }
  });

  it('shows the channel calendar and the shared fault controls under /_control', async () => {
    const calendar = (await (await fetch(`${base}/_control/calendar/7000001/700000101?rateId=70000019&from=2027-08-01&to=2027-08-02`)).json()) as { days: unknown[] };
    expect(calendar.days).toHaveLength(2);
    const faults = await fetch(`${base}/_control/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rateLimitRate: 1, retryAfterSeconds: 7 }) });
    expect(faults.status).toBe(200);
    const limited = await fetch(`${secure}/hotels/ota/OTA_HotelResNotif`, { headers: { authorization: auth() } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    await fetch(`${base}/_control/faults`, { method: 'DELETE' });
  });
});

// ─── The sandbox's codec against Booking.com's documented examples ──────────────────────────────────

const fixture = (name: string) => readFileSync(new URL(`../fixtures/booking-com/${name}`, import.meta.url), 'utf8');
type Tree = Record<string, unknown>;
// The test's own reading of XML (every element a list), independent of the codec under test.
const reader = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', ignoreDeclaration: true, parseTagValue: false, processEntities: false, isArray: (_n, _p, _l, isAttribute) => !isAttribute });
/** The first `name` element under `tree` (a parsed document or element). */
const the = (tree: Tree | undefined, ...path: string[]): Tree => {
  let at = tree;
  for (const name of path) {
    const list = at?.[name];
    if (!Array.isArray(list) || list.length === 0) throw new Error(`no <${name}> under ${Object.keys(at ?? {}).join(', ')}`);
    at = (typeof list[0] === 'object' ? list[0] : { '#text': list[0] }) as Tree;
  }
  return at!;
};
const all = (tree: Tree, name: string): Tree[] => ((tree[name] as unknown[] | undefined) ?? []).map((item) => (typeof item === 'object' ? (item as Tree) : { '#text': item }));
const attributesOf = (element: Tree) => Object.keys(element).filter((key) => key.startsWith('@')).map((key) => key.slice(1));
const childrenOf = (element: Tree) => Object.keys(element).filter((key) => !key.startsWith('@') && key !== '#text');
/** A documented snippet's top element; its "..." placeholders are text, so only real structure counts. */
const documented = (name: string): [string, Tree] => {
  const tree = reader.parse(fixture(name)) as Tree;
  const [root] = Object.keys(tree);
  return [root!, the(tree, root!)];
};
const text = (element: Tree) => String(element['#text'] ?? '');

const machine = { username: 'machine-docs', password: 'docs-secret' };
const docsAuth = `Basic ${Buffer.from(`${machine.username}:${machine.password}`).toString('base64')}`;
let docsApp: Awaited<ReturnType<typeof buildSandbox>>;
let docsBase: string;
beforeAll(async () => {
  docsApp = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, bookingCom: machine });
  docsBase = `${await docsApp.listen({ host: '127.0.0.1', port: 0 })}/booking-com`;
});
afterAll(async () => docsApp?.close());
/** Booking.com's host for a path: ARI and availability on the supply host, reservations on the secure one. */
const hostOf = (path: string) => (/OTA_HotelAvailNotif|OTA_HotelRateAmountNotif|roomrateavailability/.test(path) ? BOOKING_COM_SANDBOX_HOSTS.supply : BOOKING_COM_SANDBOX_HOSTS.secure);
const post = (path: string, body: string) => fetch(`${docsBase}${hostOf(path)}${path}`, { method: 'POST', headers: { authorization: docsAuth, 'content-type': 'application/xml' }, body });
const get = async (path: string) => reader.parse(await (await fetch(`${docsBase}${hostOf(path)}${path}`, { headers: { authorization: docsAuth } })).text()) as Tree;

describe("Booking.com sandbox codec, against Booking.com's documented examples", () => {
  it('reads the documented OTA_HotelAvailNotifRQ: rooms to sell per room, stay limits and restriction per room-rate', () => {
    const parsed = readAvailNotif(fixture('ota-hotelavailnotif-rq.xml'));
    expect(parsed.problems).toEqual([]);
    expect(parsed.target).toBe('Test');
    // The documented example names no HotelCode: Booking.com's room ids are unique across properties.
    expect(parsed.hotelCode).toBeUndefined();
    expect(parsed.messages).toEqual([
      { start: '2015-11-05', end: '2015-11-17', roomId: '36745603', roomsToSell: 25 },
      { start: '2015-11-05', end: '2015-11-17', roomId: '36745603', rateId: '1278606', minStay: 2, maxStay: 5, restriction: { applies: 'stay', open: true } },
    ]);
  });

  it('applies the documented OTA_HotelAvailNotifRQ over HTTP once it names its property, inclusive of both End dates', async () => {
    const unnamed = await post('/hotels/ota/OTA_HotelAvailNotif', fixture('ota-hotelavailnotif-rq.xml'));
    expect(unnamed.status).toBe(400);
    expect(text(the(reader.parse(await unnamed.text()) as Tree, 'OTA_HotelAvailNotifRS', 'Errors', 'Error'))).toMatch(/HotelCode is required/);

    const named = await post('/hotels/ota/OTA_HotelAvailNotif', fixture('ota-hotelavailnotif-rq.xml').replace('<AvailStatusMessages>', '<AvailStatusMessages HotelCode="367456">'));
    expect(named.status).toBe(200);
    expect(childrenOf(the(reader.parse(await named.text()) as Tree, 'OTA_HotelAvailNotifRS'))).toEqual(['Success']);
    const days = sandboxHandles(docsApp).bookingCom.calendar('367456', '36745603', '1278606', '2015-11-01', '2015-11-30');
    expect(days.map((day) => day.date)).toEqual(Array.from({ length: 13 }, (_, index) => `2015-11-${String(index + 5).padStart(2, '0')}`));
    expect(days.every((day) => day.roomsToSell === 25 && day.minimumStay === 2 && day.maximumStay === 5 && day.closed === false)).toBe(true);
  });

  it('reads amounts as the documents write them: decimals, or whole numbers with DecimalPlaces', () => {
    // commissionpayableamount: "13350 with DecimalPlaces=2 means 133.50"; rate examples write 38.00.
    expect(amountInMinorUnits('13350', 'EUR', '2')).toBe(13_350);
    expect(amountInMinorUnits('4500', 'EUR', '2')).toBe(4_500);
    expect(amountInMinorUnits('38.00', 'EUR')).toBe(3_800);
    expect(amountInMinorUnits('38', 'EUR')).toBe(3_800);
    expect(amountInMinorUnits('1500', 'JPY')).toBe(1_500);
    expect(amountInMinorUnits('12.5.0', 'EUR')).toBeUndefined();
  });

  it('reads an OTA_HotelRateAmountNotifRQ with occupancy prices and lists every problem of a bad one', () => {
    const rq = (body: string) =>
      `<OTA_HotelRateAmountNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" TimeStamp="2012-10-19T10:00:00" Target="Test" Version="1.0"><RateAmountMessages HotelCode="367456">${body}</RateAmountMessages></OTA_HotelRateAmountNotifRQ>`;
    const parsed = readRateAmountNotif(
      rq(
        '<RateAmountMessage><StatusApplicationControl Start="2012-10-19" End="2012-11-20" InvTypeCode="36745604" RatePlanCode="1278606"/><Rates><Rate><BaseByGuestAmts>' +
          '<BaseByGuestAmt AmountAfterTax="38.00" CurrencyCode="EUR" NumberOfGuests="1"/><BaseByGuestAmt AmountAfterTax="45.00" CurrencyCode="EUR"/>' +
          '</BaseByGuestAmts></Rate></Rates></RateAmountMessage>',
      ),
    );
    expect(parsed).toMatchObject({ hotelCode: '367456', problems: [] });
    expect(parsed.messages).toEqual([
      { start: '2012-10-19', end: '2012-11-20', roomId: '36745604', rateId: '1278606', prices: [{ amount: 3_800, currency: 'EUR', guests: 1 }, { amount: 4_500, currency: 'EUR' }] },
    ]);
    const broken = readRateAmountNotif(rq('<RateAmountMessage><StatusApplicationControl Start="2012-10-19" End="2012-11-20" InvTypeCode="36745604"/><Rates><Rate><BaseByGuestAmts><BaseByGuestAmt AmountAfterTax="lots"/></BaseByGuestAmts></Rate></Rates></RateAmountMessage>'));
    expect(broken.problems).toEqual([
      'RateAmountMessage[0]/StatusApplicationControl: attribute RatePlanCode is required',
      'RateAmountMessage[0]/BaseByGuestAmt[0]: CurrencyCode (ISO 4217) is required',
    ]);
    expect(() => readRateAmountNotif('<OTA_HotelRateAmountNotifRQ><RateAmountMessages/></OTA_HotelRateAmountNotifRQ>')).toThrow(/namespace/);
    expect(() => readRateAmountNotif('<!DOCTYPE x [<!ENTITY a "b">]><OTA_HotelRateAmountNotifRQ/>')).toThrow(/DOCTYPE/);
  });

  it('serves new reservations in the documented OTA_HotelResNotifRQ structure', async () => {
    const sandbox = sandboxHandles(docsApp).bookingCom;
    sandbox.applyAvailability('8011855', [{ start: '2027-05-15', end: '2027-05-16', roomId: '801185502', roomsToSell: 3 }], 'docs');
    sandbox.applyRates('8011855', [{ start: '2027-05-15', end: '2027-05-16', roomId: '801185502', rateId: '25279855', prices: [{ amount: 6_050, currency: 'EUR' }] }], 'docs');
    const guest = sandbox.book({ hotelId: '8011855', roomId: '801185502', rateId: '25279855', checkIn: '2027-05-15', checkOut: '2027-05-17', rooms: 2, guestName: 'Alice Gordon' });

    const queue = await get('/hotels/ota/OTA_HotelResNotif');
    const [rootName, root] = documented('ota-hotelresnotifrq.xml');
    const served = the(queue, rootName);
    expect(attributesOf(served)).toEqual(expect.arrayContaining(attributesOf(root)));
    for (const name of ['xmlns', 'Target', 'Version']) expect(served[`@${name}`]).toBe(root[`@${name}`]);
    expect(String(served['@TimeStamp'])).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);

    const reservation = all(the(served, 'HotelReservations'), 'HotelReservation').find((item) => the(item, 'ResGlobalInfo', 'HotelReservationIDs', 'HotelReservationID')['@ResID_Value'] === guest.resId)!;
    expect(childrenOf(reservation)).toEqual(expect.arrayContaining(childrenOf(documented('hotelreservation.xml')[1])));
    const id = the(reservation, 'ResGlobalInfo', 'HotelReservationIDs', 'HotelReservationID');
    expect(attributesOf(id)).toEqual(expect.arrayContaining(attributesOf(documented('hotelreservationid.xml')[1])));
    expect(String(id['@ResID_Date'])).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(the(reservation, 'ResGlobalInfo', 'Total')).toMatchObject({ '@AmountAfterTax': '242.00', '@CurrencyCode': 'EUR' });

    // RoomStay's documented fields (https://developers.booking.com/connectivity/docs/api-reference/roomstay):
    // IndexNumber, RoomTypes, RatePlans, RoomRates, GuestCounts, Total, BasicPropertyInfo, ResGuestRPHs.
    const stays = all(the(reservation, 'RoomStays'), 'RoomStay');
    expect(stays).toHaveLength(2);
    expect(new Set(stays.map((stay) => stay['@IndexNumber'])).size).toBe(2);
    for (const stay of stays) {
      expect(childrenOf(stay)).toEqual(expect.arrayContaining(['RoomTypes', 'RatePlans', 'RoomRates', 'GuestCounts', 'Total', 'BasicPropertyInfo', 'ResGuestRPHs']));
      expect(the(stay, 'RoomTypes', 'RoomType')['@RoomTypeCode']).toBe('801185502');
      expect(the(stay, 'BasicPropertyInfo')['@HotelCode']).toBe('8011855');
      const rates = all(the(stay, 'RoomRates'), 'RoomRate');
      expect(rates.map((rate) => rate['@EffectiveDate'])).toEqual(['2027-05-15', '2027-05-16']);
      const [, roomRate] = documented('roomrate.xml');
      for (const rate of rates) {
        expect(attributesOf(rate)).toEqual(expect.arrayContaining(attributesOf(roomRate)));
        expect(childrenOf(rate)).toEqual(expect.arrayContaining(childrenOf(roomRate)));
        expect(the(rate, 'Rates', 'Rate', 'Total')).toMatchObject({ '@AmountAfterTax': '60.50', '@CurrencyCode': 'EUR' });
      }
      expect(attributesOf(the(stay, 'GuestCounts', 'GuestCount'))).toEqual(expect.arrayContaining(attributesOf(documented('guestcount.xml')[1])));
      const commission = the(stay, 'RatePlans', 'RatePlan', 'Commission', 'CommissionPayableAmount');
      expect(attributesOf(commission)).toEqual(expect.arrayContaining(attributesOf(documented('commissionpayableamount.xml')[1])));
      expect(commission).toMatchObject({ '@CurrencyCode': 'EUR', '@DecimalPlaces': '2' });
      expect(String(commission['@Amount'])).toMatch(/^\d+$/);
    }
    const resGuest = the(reservation, 'ResGuests', 'ResGuest');
    const [, documentedGuest] = documented('resguest.xml');
    expect(attributesOf(resGuest)).toEqual(expect.arrayContaining(attributesOf(documentedGuest)));
    expect(childrenOf(resGuest)).toEqual(expect.arrayContaining(childrenOf(documentedGuest)));
    const name = the(resGuest, 'Profiles', 'ProfileInfo', 'Profile', 'Customer', 'PersonName');
    expect(childrenOf(name)).toEqual(childrenOf(documented('personname.xml')[1]));
    expect([text(the(name, 'GivenName')), text(the(name, 'Surname'))]).toEqual(['Alice', 'Gordon']);
  });

  it('serves modifications and cancellations in the documented OTA_HotelResModifyNotifRQ structure', async () => {
    const sandbox = sandboxHandles(docsApp).bookingCom;
    sandbox.applyAvailability('8011856', [{ start: '2027-06-01', end: '2027-06-03', roomId: '801185601', roomsToSell: 2 }], 'docs');
    const guest = sandbox.book({ hotelId: '8011856', roomId: '801185601', checkIn: '2027-06-01', checkOut: '2027-06-02' });
    sandbox.cancel(guest.resId);
    const [rootName, root] = documented('ota-hotelresmodifynotifrq.xml');
    const served = the(await get('/hotels/ota/OTA_HotelResModifyNotif'), rootName);
    expect(attributesOf(served)).toEqual(expect.arrayContaining(attributesOf(root)));
    const modify = all(the(served, 'HotelResModifies'), 'HotelResModify').find((item) => the(item, 'ResGlobalInfo', 'HotelReservationIDs', 'HotelReservationID')['@ResID_Value'] === guest.resId)!;
    expect(childrenOf(modify)).toEqual(expect.arrayContaining(childrenOf(documented('hotelresmodify.xml')[1])));
    // No price was pushed: no Total is invented.
    expect(childrenOf(the(modify, 'ResGlobalInfo'))).toEqual(['HotelReservationIDs']);
  });

  it('reads the documented acknowledgement, with the documented HotelReservationID where the page writes "..."', () => {
    const id = fixture('hotelreservationid.xml').replace(/<!--[\s\S]*?-->\s*/, '');
    const ack = fixture('ota-hotelresmodifynotifrs.xml').replace('      ...\n', `      <HotelResModify><ResGlobalInfo><HotelReservationIDs>${id}</HotelReservationIDs></ResGlobalInfo></HotelResModify>\n`);
    expect(readAcknowledgement(ack)).toEqual({ queue: 'modify', target: 'Production', acknowledgements: [{ resId: '312637549' }], problems: [] });
    // The new-reservations RS as the api-reference abbreviates it: the right queue, nothing named yet.
    const abbreviated = readAcknowledgement(fixture('ota-hotelresnotifrs.xml'));
    expect(abbreviated).toMatchObject({ queue: 'new', acknowledgements: [] });
    expect(abbreviated.problems).toEqual(['OTA_HotelResNotifRS: no HotelReservationID to acknowledge']);
  });

  it('reads a refusal as an Error naming the reservation (RecordID), and an unnamed Error as refusing every listed id', () => {
    const rs = (inner: string) => `<OTA_HotelResNotifRS xmlns="http://www.opentravel.org/OTA/2003/05" TimeStamp="2027-01-01T10:00:00" Target="Production" Version="2.001">${inner}</OTA_HotelResNotifRS>`;
    const listed = (...ids: string[]) => `<HotelReservations>${ids.map((id) => `<HotelReservation><ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Value="${id}"/></HotelReservationIDs></ResGlobalInfo></HotelReservation>`).join('')}</HotelReservations>`;
    expect(readAcknowledgement(rs(`<Errors><Error Type="3" Code="322" RecordID="2">Sold out &amp; closed</Error></Errors>${listed('1')}`)).acknowledgements).toEqual([
      { resId: '1' },
      { resId: '2', refusal: { type: '3', code: '322', text: 'Sold out & closed', recordId: '2' } },
    ]);
    expect(readAcknowledgement(rs(`<Errors><Error Type="3" Code="448">busy</Error></Errors>${listed('1', '2')}`)).acknowledgements.map((ack) => ack.refusal?.code)).toEqual(['448', '448']);
    expect(readAcknowledgement(rs(listed('1'))).problems).toEqual(['OTA_HotelResNotifRS: Success or Errors is required']);
  });

  it('answers errors in the documented Errors shape, every answer ending with an RUID comment', async () => {
    const response = await post(
      '/hotels/ota/OTA_HotelAvailNotif',
      '<OTA_HotelAvailNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05"><AvailStatusMessages HotelCode="367456"><AvailStatusMessage BookingLimit="1"><StatusApplicationControl Start="2027-03-02" End="2027-03-01" InvTypeCode="36745603"/></AvailStatusMessage></AvailStatusMessages></OTA_HotelAvailNotifRQ>',
    );
    const body = await response.text();
    expect(body.trimEnd()).toMatch(/<!-- RUID: \[[A-Za-z0-9+/=]+\] -->$/);
    const error = the(reader.parse(body) as Tree, 'OTA_HotelAvailNotifRS', 'Errors', 'Error');
    const [, errors] = documented('ota-errors.xml');
    expect(attributesOf(error)).toEqual(expect.arrayContaining(attributesOf(the(errors, 'Error'))));
    expect(text(error)).toBe('message 0: End 2027-03-01 is before Start 2027-03-02');
  });

  it('reads the documented reservationssummary request on the secure host only, and answers that property', async () => {
    const sandbox = sandboxHandles(docsApp).bookingCom;
    sandbox.setRoomsToSell('8011855', '801185501', '2099-01-10', '2099-01-11', 1);
    sandbox.book({ hotelId: '8011855', roomId: '801185501', checkIn: '2099-01-10', checkOut: '2099-01-12', guestName: 'Alice Gordon' });
    const documentedRequest = fixture('reservationssummary-request.xml');
    expect(readBxmlRequest(documentedRequest)).toEqual({ hotelId: '8011855', startDate: undefined, numberOfDays: undefined, problems: [] });
    const answered = await post('/hotels/xml/reservationssummary', documentedRequest);
    expect(answered.status).toBe(200);
    expect(await answered.text()).toMatch(/<reservation [^>]*hotel_id="8011855"[^>]*guest_name="Alice Gordon"/);
    // Reservations live on the secure host: the supply host has no such endpoint, as at Booking.com.
    const onSupply = await fetch(`${docsBase}${BOOKING_COM_SANDBOX_HOSTS.supply}/hotels/xml/reservationssummary`, { method: 'POST', headers: { authorization: docsAuth, 'content-type': 'application/xml' }, body: documentedRequest });
    expect(onSupply.status).toBe(404);
    // One property per request, as documented ("Max. occurrences: 1").
    const two = await post('/hotels/xml/reservationssummary', '<request><hotel_id>1</hotel_id><hotel_id>2</hotel_id></request>');
    expect(two.status).toBe(400);
    expect(await two.text()).toContain('exactly one hotel_id');
  });

  it('answers roomrateavailability on the supply host for every room of the property, in Accept-Version 1.1 only', async () => {
    const request = buildBxmlRequest('7000001', { startDate: '2027-08-01', numberOfDays: 2 });
    expect(readBxmlRequest(request)).toEqual({ hotelId: '7000001', startDate: '2027-08-01', numberOfDays: 2, problems: [] });
    const send = (version?: string) =>
      fetch(`${supply}/hotels/xml/roomrateavailability`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'application/xml', ...(version ? { 'accept-version': version } : {}) }, body: request });
    const answered = await send('1.1');
    expect(answered.status).toBe(200);
    const days = parseRoomRateAvailability(await answered.text(), '700000101', '70000019');
    expect(days.map((day) => day.date)).toEqual(['2027-08-01', '2027-08-02']);
    expect((await send()).status).toBe(200);
    const sunset = await send('1.0');
    expect(sunset.status).toBe(400);
    expect(await sunset.text()).toContain('Not acceptable');
    const onSecure = await fetch(`${secure}/hotels/xml/roomrateavailability`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'application/xml' }, body: request });
    expect(onSecure.status).toBe(404);
  });

  it("knows Skerry's development machine account when none is configured", () => {
    expect(BOOKING_COM_DEVELOPMENT_ACCOUNT).toEqual({ username: CHANNEL_SANDBOX_DEFAULTS.bookingComUsername, password: CHANNEL_SANDBOX_DEFAULTS.bookingComPassword });
  });
});
