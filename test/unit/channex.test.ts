// Channex: the codec against the documented payloads (test/fixtures/channex, each naming its page),
// the webhook's secret header, and the client against the sandbox (two calls per push, the 429 body,
// refused values, the feed and its acknowledgement).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { availabilityValues, restrictionValues, revisionEvent, unmappedReason, type ChannexFeedPage } from '../../providers/channex/wire';
import { createChannexWebhookVerifier } from '../../providers/channex/webhooks';
import { createChannexClient } from '../../providers/channex/client';
import { ProviderError } from '../../providers/errors';
import { WebhookVerificationError } from '../../providers/types';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { CHANNEX_DEVELOPMENT_ACCOUNT } from '../../sandbox/channex/sandbox';
import { CHANNEL_SANDBOX_DEFAULTS } from '../../config/sandbox-defaults';
import type { ChannelDay, ChannelMapping } from '../../domain/bookings';
import { channexGuestBooking, channexRequestLog, channexRevisions, createChannexProperty } from '../support/channex';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/channex/${name}`, import.meta.url), 'utf8')) as unknown;
const day = (date: string, change: Partial<ChannelDay> = {}): ChannelDay => ({ date, available: 1, price: 100_000, currency: 'SEK', minNights: 1, closedToArrival: false, closed: false, ...change });
const mapping: ChannelMapping = { mappingId: 'map_1', unitId: 'unit_1', channel: 'channex', externalAccountId: 'prop', externalListingId: 'room', externalRateId: 'rate' };
const noProgress = { skipRequests: 0, onRequest: () => undefined };

describe('Channex codec', () => {
  it('turns a documented feed revision into a reservation event acknowledged by its revision id', () => {
    const page = fixture('booking-revision-feed.json') as ChannexFeedPage;
    const event = revisionEvent(page.data[0]!.attributes);
    expect(event).toMatchObject({
      eventId: 'channex:9a0f56c1-3c5b-4c7e-9e44-5e1f1c1d2a10',
      kind: 'new',
      channel: 'channex',
      channelReservationId: '4f1c2a4e-8d8f-4b3e-9a53-7d1f2f2c8e11',
      externalAccountId: '716305c4-561a-4561-a187-7f5b8aeb5920',
      externalListingId: '994d1375-dbbd-4072-8724-b2ab32ce781b',
      checkIn: '2019-05-09',
      checkOut: '2019-05-11',
      rooms: 1,
      guest: { name: 'John Doe' },
      total: { value: 20_000, currency: 'GBP' },
      ack: { messageId: '9a0f56c1-3c5b-4c7e-9e44-5e1f1c1d2a10', queue: 'new' },
    });
    expect(unmappedReason(page.data[0]!.attributes, { externalListingId: 'other', externalRateId: undefined })).toBe('booking_unmapped_room');
    expect(unmappedReason(page.data[0]!.attributes, { externalListingId: '994d1375-dbbd-4072-8724-b2ab32ce781b', externalRateId: 'other' })).toBe('booking_unmapped_rate');
  });

  it('sends runs of equal nights as one range, and every restriction Channex knows', () => {
    const days = [day('2026-06-01'), day('2026-06-02'), day('2026-06-03', { available: 0 }), day('2026-06-04', { maxStay: 7, minStayThrough: 2, closedToDeparture: true, closed: true })];
    expect(availabilityValues(mapping, days)).toEqual([
      { property_id: 'prop', room_type_id: 'room', date_from: '2026-06-01', date_to: '2026-06-02', availability: 1 },
      { property_id: 'prop', room_type_id: 'room', date_from: '2026-06-03', date_to: '2026-06-03', availability: 0 },
      { property_id: 'prop', room_type_id: 'room', date_from: '2026-06-04', date_to: '2026-06-04', availability: 1 },
    ]);
    const restrictions = restrictionValues(mapping, days);
    expect(restrictions).toHaveLength(2);
    expect(restrictions[0]).toEqual({
      property_id: 'prop', rate_plan_id: 'rate', date_from: '2026-06-01', date_to: '2026-06-03', rate: '1000.00',
      min_stay_arrival: 1, min_stay_through: 1, max_stay: 0, closed_to_arrival: false, closed_to_departure: false, stop_sell: false,
    });
    expect(restrictions[1]).toMatchObject({ date_from: '2026-06-04', min_stay_through: 2, max_stay: 7, closed_to_departure: true, stop_sell: true });
  });

  it('takes a booking webhook with the configured secret header as a hint to pull, and refuses one without', async () => {
    const verifier = createChannexWebhookVerifier({ header: 'x-skerry-channex-secret', secrets: () => ['s3cret'] });
    const rawBody = Buffer.from(JSON.stringify(fixture('booking-webhook.json')));
    const [event] = await verifier.verify({ rawBody, headers: { 'x-skerry-channex-secret': 's3cret' }, url: '/channex' });
    expect(event).toMatchObject({ provider: 'channex', eventType: 'booking', delivery: 'pull', providerReference: '4f1c2a4e-8d8f-4b3e-9a53-7d1f2f2c8e11' });
    await expect(verifier.verify({ rawBody, headers: {}, url: '/channex' })).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifier.verify({ rawBody, headers: { 'x-skerry-channex-secret': 's3cre7' }, url: '/channex' })).rejects.toThrow(/does not match/);
  });

  it('has the same development API key as the sandbox', () => {
    expect(CHANNEL_SANDBOX_DEFAULTS.channexApiKey).toBe(CHANNEX_DEVELOPMENT_ACCOUNT.apiKey);
  });
});

describe('Channex client against the sandbox', () => {
  let sandbox: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    sandbox = await buildSandbox({ stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' } });
    url = await sandbox.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => sandbox.close());

  const client = (apiKey: string = CHANNEX_DEVELOPMENT_ACCOUNT.apiKey, windowSeconds = 60) =>
    createChannexClient({ apiBase: `${url}/channex`, apiKey, requestsPerWindow: 10, rateWindowSeconds: windowSeconds });

  it('pushes a calendar in two calls and the sandbox shows it', async () => {
    const property = await createChannexProperty(url);
    const room = property.rooms[0]!;
    const since = Date.now();
    const target = { ...mapping, externalAccountId: property.propertyId, externalListingId: room.roomTypeId, externalRateId: room.ratePlanId };
    const result = await client().pushCalendar(target, [day('2026-07-01'), day('2026-07-02', { available: 0, maxStay: 5 })], noProgress);
    expect(result.requests).toBe(2);
    const log = (await channexRequestLog(url, since)).filter((entry) => entry.propertyIds.includes(property.propertyId));
    expect(log.map((entry) => [entry.kind, entry.status])).toEqual([['availability', 200], ['restrictions', 200]]);
    const ari = sandboxHandles(sandbox).channex;
    expect(ari.availability(property.propertyId, '2026-07-01', '2026-07-02')[room.roomTypeId]).toEqual({ '2026-07-01': 1, '2026-07-02': 0 });
    expect(ari.restrictions(property.propertyId, '2026-07-02', '2026-07-02')[room.ratePlanId]!['2026-07-02']).toMatchObject({ max_stay: 5, rate: '1000.00' });
  });

  it("pushes five room types' nights of one property in one availability and one restrictions call, and resumes after the first", async () => {
    const property = await createChannexProperty(url, { rooms: 5 });
    const entries = property.rooms.map((room, index) => ({
      mapping: { ...mapping, mappingId: `map_${index}`, unitId: `unit_${index}`, externalAccountId: property.propertyId, externalListingId: room.roomTypeId, externalRateId: room.ratePlanId },
      days: [day('2026-09-01', { available: index + 1, price: 100_000 + index * 1_000 })],
    }));
    const since = Date.now();
    const done: number[] = [];
    const result = await client().pushPropertyCalendar!(property.propertyId, entries, { skipRequests: 0, onRequest: (count) => done.push(count) });
    expect(result.requests).toBe(2);
    expect(done.filter((count) => count > 0)).toEqual([1, 2]);
    const log = (await channexRequestLog(url, since)).filter((entry) => entry.propertyIds.includes(property.propertyId));
    expect(log.map((entry) => [entry.kind, entry.status])).toEqual([['availability', 200], ['restrictions', 200]]);
    const ari = sandboxHandles(sandbox).channex;
    const shown = ari.availability(property.propertyId, '2026-09-01', '2026-09-01');
    expect(property.rooms.map((room) => shown[room.roomTypeId]?.['2026-09-01'])).toEqual([1, 2, 3, 4, 5]);
    const rates = ari.restrictions(property.propertyId, '2026-09-01', '2026-09-01');
    expect(property.rooms.map((room) => rates[room.ratePlanId]?.['2026-09-01']?.rate)).toEqual(['1000.00', '1010.00', '1020.00', '1030.00', '1040.00']);

    // A retried attempt whose availability call was accepted (heartbeat details) sends only the restrictions.
    const retriedSince = Date.now();
    await client().pushPropertyCalendar!(property.propertyId, entries, { skipRequests: 1, onRequest: () => undefined });
    const retried = (await channexRequestLog(url, retriedSince)).filter((entry) => entry.propertyIds.includes(property.propertyId));
    expect(retried.map((entry) => entry.kind)).toEqual(['restrictions']);
  });

  it('answers the documented rate read with only the restrictions asked for, and refuses a read that asks for none', async () => {
    const property = await createChannexProperty(url);
    const room = property.rooms[0]!;
    const target = { ...mapping, externalAccountId: property.propertyId, externalListingId: room.roomTypeId, externalRateId: room.ratePlanId };
    await client().pushCalendar(target, [day('2026-07-01'), day('2026-07-02'), day('2026-07-03', { maxStay: 5 })], noProgress);
    const read = (query: string) => fetch(`${url}/channex/api/v1/restrictions?filter[property_id]=${property.propertyId}&filter[date][gte]=2026-07-01&filter[date][lte]=2026-07-03${query}`, {
      headers: { 'user-api-key': CHANNEX_DEVELOPMENT_ACCOUNT.apiKey },
    });

    // The page's example, with this property's rate plan and dates in place of its own.
    const documented = fixture('restrictions-rate-200.json') as { data: Record<string, Record<string, unknown>> };
    const [exampleDays] = Object.values(documented.data);
    const asRead = (rate: string) => Object.fromEntries(['2026-07-01', '2026-07-02', '2026-07-03'].map((date) => [date, { rate }]));
    const rates = await read('&filter[restrictions]=rate');
    expect(rates.status).toBe(200);
    const answer = (await rates.json()) as { data: Record<string, Record<string, unknown>> };
    expect(Object.values(Object.values(answer.data)[0]!).map((value) => Object.keys(value as object))).toEqual(Object.values(exampleDays!).map((value) => Object.keys(value as object)));
    expect(answer).toEqual({ data: { [room.ratePlanId]: asRead('1000.00') } });

    const missing = await read('');
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual(fixture('restrictions-missing-filter-400.json'));
  });

  it('fails on a wrong API key, on refused values, and with the documented 429 body past the limit', async () => {
    const property = await createChannexProperty(url);
    const room = property.rooms[0]!;
    const target = { ...mapping, externalAccountId: property.propertyId, externalListingId: room.roomTypeId, externalRateId: room.ratePlanId };
    await expect(client('wrong-key').pushCalendar(target, [day('2026-07-01')], noProgress)).rejects.toMatchObject({ kind: 'authentication' });
    await expect(client().pushCalendar({ ...target, externalRateId: 'no-such-rate' }, [day('2026-07-01')], noProgress)).rejects.toThrow(/refused 1 change/);
    // Ten availability requests fill the window; the eleventh gets the documented body.
    const channex = sandboxHandles(sandbox).channex;
    for (let index = 0; index < 9; index += 1) channex.admit('availability', [property.propertyId]);
    const response = await fetch(`${url}/channex/api/v1/availability`, {
      method: 'POST',
      headers: { 'user-api-key': CHANNEX_DEVELOPMENT_ACCOUNT.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ values: [{ property_id: property.propertyId, room_type_id: room.roomTypeId, date: '2026-07-01', availability: 1 }] }),
    });
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual(fixture('rate-limit-429.json'));
    const error = await client().pushCalendar(target, [day('2026-07-09', { available: 3 })], noProgress).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('rate_limited');
  });

  it('serves a revision in the feed until it is acknowledged', async () => {
    const property = await createChannexProperty(url);
    await client().pushCalendar(
      { ...mapping, externalAccountId: property.propertyId, externalListingId: property.rooms[0]!.roomTypeId, externalRateId: property.rooms[0]!.ratePlanId },
      [day('2026-08-01'), day('2026-08-02')],
      noProgress,
    );
    const revision = await channexGuestBooking(url, { property, arrivalDate: '2026-08-01', departureDate: '2026-08-03' });
    const pulled = (await client().pullReservations!()).filter((event) => event.ack?.messageId === revision.id);
    expect(pulled).toHaveLength(1);
    expect(pulled[0]).toMatchObject({ kind: 'new', checkIn: '2026-08-01', checkOut: '2026-08-03', externalAccountId: property.propertyId });
    expect((await client().pullReservations!()).some((event) => event.ack?.messageId === revision.id)).toBe(true);
    await client().confirmReservation(pulled[0]!);
    expect((await client().pullReservations!()).some((event) => event.ack?.messageId === revision.id)).toBe(false);
    expect((await channexRevisions(url)).find((entry) => entry.id === revision.id)?.acked).toBe(true);
  });
});
