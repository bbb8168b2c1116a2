import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLValidator } from 'fast-xml-parser';
import { buildSandbox } from '../../sandbox/server';
import { buildAvailNotif, buildRateAmountNotif, buildReservationAck, OTA_NAMESPACE, OtaParseError, parseOtaAmount, parseReservationQueue, parseResponse } from '../../providers/booking-com/ota';
import { readAcknowledgement, readAvailNotif, readRateAmountNotif } from '../../sandbox/booking-com/ota';
import { availItems, createBookingComClient, rateItems, reservationEvent, runsOf, secureApiBaseFor } from '../../providers/booking-com/client';
import { ProviderError } from '../../providers/errors';
import type { ChannelDay, ChannelMapping } from '../../domain/bookings';

const header = { echoToken: 'echo-1', timeStamp: '2026-05-01T10:00:00Z' };
const mapping: ChannelMapping = { mappingId: 'map_1', unitId: 'unit_1', channel: 'booking_com', externalAccountId: '1234567', externalListingId: '123456701', externalRateId: '9876543' };
const night = (date: string, change: Partial<ChannelDay> = {}): ChannelDay => ({
  date,
  available: 2,
  price: 125_000,
  currency: 'SEK',
  minNights: 1,
  closedToArrival: false,
  closed: false,
  ...change,
});

describe('Booking.com OTA XML', () => {
  it('builds a well-formed OTA_HotelAvailNotifRQ with namespace, version, timestamp and echo token', () => {
    const xml = buildAvailNotif(header, '1234567', [
      { start: '2026-06-01', end: '2026-06-10', invTypeCode: '123456701', bookingLimit: 3 },
      { start: '2026-06-01', end: '2026-06-10', invTypeCode: '123456701', ratePlanCode: '9876543', minLos: 2, restriction: { status: 'Open', type: 'Master' } },
      { start: '2026-06-05', end: '2026-06-05', invTypeCode: '123456701', ratePlanCode: '9876543', restriction: { status: 'Close', type: 'Arrival' } },
    ]);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain(`<OTA_HotelAvailNotifRQ xmlns="${OTA_NAMESPACE}" EchoToken="echo-1" TimeStamp="2026-05-01T10:00:00Z" Target="Production" Version="1.000">`);
    expect(xml).toContain('<AvailStatusMessage BookingLimit="3">');
    expect(xml).toContain('<StatusApplicationControl Start="2026-06-01" End="2026-06-10" InvTypeCode="123456701" RatePlanCode="9876543"/>');
    expect(xml).toContain('<LengthOfStay Time="2" TimeUnit="Day" MinMaxMessageType="SetMinLOS"/>');
    expect(xml).toContain('<RestrictionStatus Status="Close" Restriction="Arrival"/>');
    // Booking.com's reading of it (the sandbox's codec, written from Booking.com's pages).
    const read = readAvailNotif(xml);
    expect(read).toMatchObject({ hotelCode: '1234567', echoToken: 'echo-1', problems: [] });
    expect(read.messages).toHaveLength(3);
  });

  it('sends prices as BaseByGuestAmts in the documented decimal form, and reads minor units with DecimalPlaces too', () => {
    const xml = buildRateAmountNotif(header, '1234567', [
      { start: '2026-06-01', end: '2026-06-03', invTypeCode: '123456701', ratePlanCode: '9876543', amount: 125_050, currency: 'SEK', decimalPlaces: 2 },
    ]);
    expect(xml).toContain('<BaseByGuestAmt AmountAfterTax="1250.50" CurrencyCode="SEK"/>');
    expect(buildRateAmountNotif(header, '1', [{ start: '2026-06-01', end: '2026-06-01', invTypeCode: '1', ratePlanCode: '2', amount: 1_500, currency: 'JPY', decimalPlaces: 0 }])).toContain(
      'AmountAfterTax="1500" CurrencyCode="JPY"',
    );
    expect(readRateAmountNotif(xml)).toMatchObject({ hotelCode: '1234567', problems: [] });
    expect(readRateAmountNotif(xml).messages[0]).toMatchObject({ prices: [{ amount: 125_050, currency: 'SEK' }] });
    expect(parseOtaAmount('1250.50', '2', 'SEK')).toBe(125_050);
    expect(parseOtaAmount('125050', '2', 'SEK')).toBe(125_050);
    expect(parseOtaAmount('1500', undefined, 'JPY')).toBe(1_500);
  });

  it('reads Success or Errors, and refuses documents without the OTA namespace or well-formedness', () => {
    const ok = parseResponse(`<OTA_HotelAvailNotifRS xmlns="${OTA_NAMESPACE}" EchoToken="echo-1"><Success/></OTA_HotelAvailNotifRS>`, 'OTA_HotelAvailNotifRS');
    expect(ok).toMatchObject({ success: true, errors: [], echoToken: 'echo-1' });
    const failed = parseResponse(
      `<OTA_HotelAvailNotifRS xmlns="${OTA_NAMESPACE}"><Errors><Error Type="3" Code="320" ShortText="Invalid value">End is before Start &amp; more</Error></Errors></OTA_HotelAvailNotifRS>`,
      'OTA_HotelAvailNotifRS',
    );
    expect(failed).toMatchObject({ success: false, errors: [{ type: '3', code: '320', text: 'End is before Start & more' }] });
    expect(() => parseResponse('<OTA_HotelAvailNotifRS><Success/></OTA_HotelAvailNotifRS>', 'OTA_HotelAvailNotifRS')).toThrow(/namespace/);
    expect(() => parseResponse('<OTA_HotelAvailNotifRS xmlns="x">', 'OTA_HotelAvailNotifRS')).toThrow(OtaParseError);
    expect(() => parseResponse(`<OTA_HotelRateAmountNotifRS xmlns="${OTA_NAMESPACE}"/>`, 'OTA_HotelAvailNotifRS')).toThrow(/expected OTA_HotelAvailNotifRS/);
  });

  it('reads a cancellation from the modify queue, and acknowledges with the processed ids and the refused ones', () => {
    const cancelled = parseReservationQueue(
      `<OTA_HotelResModifyNotifRQ xmlns="${OTA_NAMESPACE}" Version="2.001"><HotelResModifies><HotelResModify ResStatus="Cancel">` +
        `<ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Value="4105558832" ResID_Date="2026-05-01T09:00:00"/></HotelReservationIDs></ResGlobalInfo>` +
        `</HotelResModify></HotelResModifies></OTA_HotelResModifyNotifRQ>`,
    );
    expect(cancelled.queue).toBe('modify');
    expect(reservationEvent(cancelled.reservations[0]!, 'modify')).toMatchObject({ kind: 'cancelled', channelReservationId: '4105558832', ack: { queue: 'modify' } });

    const ack = buildReservationAck(header, 'new', [{ resId: '1' }, { resId: '2', error: { type: '3', code: '322', text: 'No availability' } }]);
    expect(ack).toContain('<OTA_HotelResNotifRS');
    expect(ack).toContain('RecordID="2"');
    const read = readAcknowledgement(ack);
    expect(read).toMatchObject({ queue: 'new', problems: [] });
    expect(read.acknowledgements.map((entry) => [entry.resId, entry.refusal?.code])).toEqual([
      ['1', undefined],
      ['2', '322'],
    ]);
  });

  it('reads a reservation in the structure Booking.com documents: nights from RoomRate@EffectiveDate, no TimeSpan or ResStatus', () => {
    // The elements of Booking.com's api-reference pages (HotelReservation, RoomStay, RoomRate, Total,
    // HotelReservationID): the stay is one RoomRate per night, RatePlanCode sits on RoomRate, amounts are decimals.
    const night = (date: string) => `<RoomRate EffectiveDate="${date}" RatePlanCode="9876543"><Rates><Rate><Total AmountAfterTax="1250.00" CurrencyCode="SEK"/></Rate></Rates></RoomRate>`;
    const stay = (index: number) =>
      `<RoomStay IndexNumber="${index}"><RoomTypes><RoomType RoomTypeCode="123456701"/></RoomTypes>` +
      `<RatePlans><RatePlan><Commission><CommissionPayableAmount Amount="56250" CurrencyCode="SEK" DecimalPlaces="2"/></Commission></RatePlan></RatePlans>` +
      `<RoomRates>${night('2026-06-03')}${night('2026-06-01')}${night('2026-06-02')}</RoomRates>` +
      `<Total AmountAfterTax="3750.00" CurrencyCode="SEK"/><BasicPropertyInfo HotelCode="1234567"/></RoomStay>`;
    const xml =
      `<OTA_HotelResNotifRQ xmlns="${OTA_NAMESPACE}" TimeStamp="2026-05-01T09:00:00+00:00" Target="Production" Version="2.001"><HotelReservations><HotelReservation>` +
      `<RoomStays>${stay(1)}${stay(2)}</RoomStays>` +
      `<ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>Ada</GivenName><Surname>Lindqvist &amp; Ek</Surname></PersonName></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>` +
      `<ResGlobalInfo><Total AmountAfterTax="7500.00" CurrencyCode="SEK"/><HotelReservationIDs><HotelReservationID ResID_Value="4105558832" ResID_Date="2026-05-01T09:00:00"/></HotelReservationIDs></ResGlobalInfo>` +
      `</HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`;
    expect(parseReservationQueue(xml)).toEqual({
      queue: 'new',
      reservations: [
        {
          resId: '4105558832',
          createdAt: '2026-05-01T09:00:00',
          lastModifiedAt: '2026-05-01T09:00:00',
          status: 'Book',
          hotelCode: '1234567',
          roomTypeCode: '123456701',
          ratePlanCode: '9876543',
          checkIn: '2026-06-01',
          checkOut: '2026-06-04',
          rooms: 2,
          guest: { givenName: 'Ada', surname: 'Lindqvist & Ek' },
          total: { amount: 750_000, currency: 'SEK' },
        },
      ],
    });
  });

  it('refuses a DOCTYPE instead of expanding its entities', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><OTA_HotelResNotifRS xmlns="${OTA_NAMESPACE}"><Success/><X>&b;</X></OTA_HotelResNotifRS>`;
    expect(() => parseResponse(bomb, 'OTA_HotelResNotifRS')).toThrow(/DOCTYPE/);
    const external = `<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><OTA_HotelResNotifRS xmlns="${OTA_NAMESPACE}"><Success/></OTA_HotelResNotifRS>`;
    expect(() => parseResponse(external, 'OTA_HotelResNotifRS')).toThrow(OtaParseError);
  });

  it('compresses nights into runs and sends rooms per room, restrictions and prices per room-rate', () => {
    const days = [night('2026-06-01'), night('2026-06-02'), night('2026-06-03', { available: 0 }), night('2026-06-05', { price: 90_000, closedToArrival: true })];
    expect(runsOf(days, (day) => day.available)).toEqual([
      { start: '2026-06-01', end: '2026-06-02', value: 2 },
      { start: '2026-06-03', end: '2026-06-03', value: 0 },
      { start: '2026-06-05', end: '2026-06-05', value: 2 },
    ]);
    const items = availItems(mapping, days);
    expect(items.filter((item) => item.bookingLimit !== undefined)).toHaveLength(3);
    expect(items.filter((item) => item.restriction?.type === 'Arrival').map((item) => [item.start, item.restriction?.status])).toEqual([
      ['2026-06-01', 'Open'],
      ['2026-06-05', 'Close'],
    ]);
    expect(rateItems(mapping, days).map((item) => [item.start, item.end, item.amount])).toEqual([
      ['2026-06-01', '2026-06-03', 125_000],
      ['2026-06-05', '2026-06-05', 90_000],
    ]);
  });
});

describe('Booking.com hosts and answers', () => {
  const credentials = { username: 'machine-hosts', password: 'secret-hosts' };
  let sandbox: Awaited<ReturnType<typeof buildSandbox>>;
  let url: string;
  let huge: Server;
  let hugeUrl: string;
  beforeAll(async () => {
    sandbox = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' }, bookingCom: credentials });
    url = await sandbox.listen({ host: '127.0.0.1', port: 0 });
    // An answer that never ends: the client must stop reading it at its cap.
    huge = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      const chunk = '<x>'.padEnd(64 * 1024, ' ');
      const write = () => {
        while (response.write(chunk));
        response.once('drain', write);
      };
      write();
      response.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => huge.listen(0, '127.0.0.1', resolve));
    hugeUrl = `http://127.0.0.1:${(huge.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    huge?.closeAllConnections();
    await new Promise((resolve) => huge?.close(resolve));
    await sandbox?.close();
  });

  it('reads and acknowledges reservations on the secure host, pushes ARI on the supply host', async () => {
    expect(secureApiBaseFor('https://supply-xml.booking.com')).toBe('https://secure-supply-xml.booking.com/');
    expect(secureApiBaseFor('http://127.0.0.1:4010/booking-com')).toBe('http://127.0.0.1:4010/booking-com');
    const days = [night('2026-07-01')];
    const onlySecure = createBookingComClient({ apiBase: `${url}/no-such-host`, secureApiBase: `${url}/booking-com/secure-supply-xml`, ...credentials });
    expect(await onlySecure.pullReservations!()).toEqual([]);
    const pushed = await onlySecure.pushCalendar(mapping, days, { skipRequests: 0, onRequest: () => undefined }).catch((err: unknown) => err);
    expect(pushed).toBeInstanceOf(ProviderError);
    expect((pushed as ProviderError).details.httpStatus).toBe(404);

    const onlySupply = createBookingComClient({ apiBase: `${url}/booking-com/supply-xml`, secureApiBase: `${url}/no-such-host`, ...credentials });
    expect(await onlySupply.pushCalendar(mapping, days, { skipRequests: 0, onRequest: () => undefined })).toEqual({ requests: 2 });
    const pulled = await onlySupply.pullReservations!().catch((err: unknown) => err);
    expect(pulled).toBeInstanceOf(ProviderError);
    expect((pulled as ProviderError).details.httpStatus).toBe(404);
  });

  it('stops reading an answer past its size cap', async () => {
    const client = createBookingComClient({ apiBase: hugeUrl, secureApiBase: hugeUrl, maxResponseBytes: 1024 * 1024, ...credentials });
    const refused = await client.pullReservations!().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ProviderError);
    expect((refused as ProviderError).message).toMatch(/larger than 1048576 bytes/);
  });
});
