import { describe, expect, it } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import {
  buildAvailNotif,
  buildRateAmountNotif,
  buildReservationAck,
  buildReservationQueue,
  buildResponse,
  OTA_NAMESPACE,
  OtaParseError,
  parseAvailNotif,
  parseOtaAmount,
  parseRateAmountNotif,
  parseReservationAck,
  parseReservationQueue,
  parseResponse,
} from '../../providers/booking-com/ota';
import { availItems, rateItems, reservationEvent, runsOf } from '../../providers/booking-com/client';
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
    const parsed = parseAvailNotif(xml);
    expect(parsed.hotelCode).toBe('1234567');
    expect(parsed.header.echoToken).toBe('echo-1');
    expect(parsed.items).toEqual([
      { start: '2026-06-01', end: '2026-06-10', invTypeCode: '123456701', ratePlanCode: undefined, bookingLimit: 3, minLos: undefined, restriction: undefined },
      { start: '2026-06-01', end: '2026-06-10', invTypeCode: '123456701', ratePlanCode: '9876543', bookingLimit: undefined, minLos: 2, restriction: { status: 'Open', type: 'Master' } },
      { start: '2026-06-05', end: '2026-06-05', invTypeCode: '123456701', ratePlanCode: '9876543', bookingLimit: undefined, minLos: undefined, restriction: { status: 'Close', type: 'Arrival' } },
    ]);
  });

  it('sends prices as BaseByGuestAmts in minor units with DecimalPlaces, and reads decimal amounts too', () => {
    const xml = buildRateAmountNotif(header, '1234567', [
      { start: '2026-06-01', end: '2026-06-03', invTypeCode: '123456701', ratePlanCode: '9876543', amount: 125_050, currency: 'SEK', decimalPlaces: 2 },
    ]);
    expect(xml).toContain('<BaseByGuestAmt AmountAfterTax="125050" CurrencyCode="SEK" DecimalPlaces="2"/>');
    expect(parseRateAmountNotif(xml).items[0]).toMatchObject({ amount: 125_050, currency: 'SEK', decimalPlaces: 2 });
    expect(parseOtaAmount('1250.50', '2', 'SEK')).toBe(125_050);
    expect(parseOtaAmount('125050', '2', 'SEK')).toBe(125_050);
    expect(parseOtaAmount('1500', undefined, 'JPY')).toBe(1_500);
  });

  it('answers Success or Errors, and refuses documents without the OTA namespace or well-formedness', () => {
    const ok = parseResponse(buildResponse('OTA_HotelAvailNotifRS', header), 'OTA_HotelAvailNotifRS');
    expect(ok).toMatchObject({ success: true, errors: [], echoToken: 'echo-1' });
    const failed = parseResponse(
      buildResponse('OTA_HotelAvailNotifRS', header, { errors: [{ type: '3', code: '320', text: 'End is before Start & more' }] }),
      'OTA_HotelAvailNotifRS',
    );
    expect(failed).toMatchObject({ success: false, errors: [{ type: '3', code: '320', text: 'End is before Start & more' }] });
    expect(() => parseAvailNotif('<OTA_HotelAvailNotifRQ><AvailStatusMessages HotelCode="1"/></OTA_HotelAvailNotifRQ>')).toThrow(/namespace/);
    expect(() => parseAvailNotif('<OTA_HotelAvailNotifRQ xmlns="x">')).toThrow(OtaParseError);
    expect(() => parseAvailNotif(`<OTA_HotelRateAmountNotifRQ xmlns="${OTA_NAMESPACE}"/>`)).toThrow(/expected OTA_HotelAvailNotifRQ/);
  });

  it('round-trips the reservation queues and their acknowledgements', () => {
    const reservation = {
      resId: '4105558832',
      createdAt: '2026-05-01T09:00:00Z',
      lastModifiedAt: '2026-05-01T09:00:00Z',
      status: 'Book' as const,
      hotelCode: '1234567',
      roomTypeCode: '123456701',
      ratePlanCode: '9876543',
      checkIn: '2026-06-01',
      checkOut: '2026-06-04',
      rooms: 2,
      guest: { givenName: 'Ada', surname: 'Lindqvist' },
      total: { amount: 750_000, currency: 'SEK' },
    };
    const queue = buildReservationQueue(header, 'new', [reservation]);
    expect(queue).toContain('<HotelReservationID ResID_Value="4105558832" ResID_Date="2026-05-01T09:00:00Z"/>');
    expect(queue.match(/<RoomStay /g)).toHaveLength(2);
    expect(parseReservationQueue(queue)).toEqual({ queue: 'new', reservations: [reservation] });
    const cancelled = parseReservationQueue(buildReservationQueue(header, 'modify', [{ ...reservation, status: 'Cancel' }]));
    expect(cancelled.queue).toBe('modify');
    expect(reservationEvent(cancelled.reservations[0]!, 'modify')).toMatchObject({ kind: 'cancelled', channelReservationId: '4105558832', rooms: 2, ack: { queue: 'modify' } });

    const ack = buildReservationAck(header, 'new', [{ resId: '1' }, { resId: '2', error: { type: '3', code: '322', text: 'No availability' } }]);
    expect(ack).toContain('<OTA_HotelResNotifRS');
    expect(ack).toContain('RecordID="2"');
    expect(parseReservationAck(ack).acks).toEqual([{ resId: '1' }, { resId: '2', error: { type: '3', code: '322', text: 'No availability' } }]);
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
