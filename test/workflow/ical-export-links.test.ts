// iCal export links (#19): a feed's URL is shown when it is made and never again (only its token's
// hash is kept), so "show it again" is a new link that revokes the old one in the same transaction.
// The admin routes injected, the public feed route listening, over the test run's Postgres.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../db/client';
import { createIcalFeedStore } from '../../store/ical-feeds';
import { createInventory } from '../../store/inventory';
import { createSealer } from '../../security/sealing';
import { icalRoutes, type IcalRoutesDeps } from '../../api/routes/ical';
import { icalFeedRoutes } from '../../api/ical/feed';

let database: ReturnType<typeof createDatabase>;
let admin: FastifyInstance;
let publicDoor: FastifyInstance;
let publicUrl: string;
let unitId: string;

beforeAll(async () => {
  database = createDatabase(inject('databaseUrl'), { max: 4 });
  const feeds = createIcalFeedStore(database.db, createSealer(randomBytes(32).toString('base64')));
  const inventory = createInventory(database.db);
  const property = await inventory.properties.createProperty({ name: `Export links ${Date.now()}`, currency: 'SEK' });
  unitId = (await inventory.properties.createUnit({ propertyId: property.id, name: 'Cabin', count: 1 })).id;

  publicDoor = Fastify();
  publicDoor.setValidatorCompiler(validatorCompiler);
  publicDoor.setSerializerCompiler(serializerCompiler);
  await publicDoor.register(rateLimit, { global: false });
  await publicDoor.register(icalFeedRoutes, { feeds, days: 30, ratePerMinute: 1_000 });
  publicUrl = await publicDoor.listen({ host: '127.0.0.1', port: 0 });

  admin = Fastify();
  admin.setValidatorCompiler(validatorCompiler);
  admin.setSerializerCompiler(serializerCompiler);
  // The export routes use the feed store and the public URL only; the import settings are the import tests'.
  await admin.register(icalRoutes, { feeds, publicUrl } as unknown as IcalRoutesDeps);
  await admin.ready();
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await publicDoor?.close();
  await database?.close();
});

const post = async (url: string, payload: Record<string, unknown> = {}) => admin.inject({ method: 'POST', url, payload });

describe('iCal export links', () => {
  it('shows a new URL once; a new link for it serves the calendar and the old one stops at once; the list never shows a token', async () => {
    const created = await post(`/units/${unitId}/ical/exports`, { channel: 'vrbo' });
    expect(created.statusCode, created.body).toBe(201);
    const first = created.json<{ id: string; url: string; channel: string }>();
    expect(first.url).toMatch(new RegExp(`^${publicUrl}/ical/[A-Za-z0-9_-]{43}\\.ics$`));
    expect((await fetch(first.url)).status).toBe(200);

    const reissued = await post(`/units/${unitId}/ical/exports/${first.id}/reissue`);
    expect(reissued.statusCode, reissued.body).toBe(201);
    const second = reissued.json<{ id: string; url: string; channel: string; replaces: { id: string; revokedAt: string | null } }>();
    expect(second).toMatchObject({ channel: 'vrbo', replaces: { id: first.id } });
    expect(second.replaces.revokedAt).not.toBeNull();
    expect(second.id).not.toBe(first.id);
    expect(second.url).not.toBe(first.url);
    const feed = await fetch(second.url);
    expect(feed.status).toBe(200);
    expect(await feed.text()).toContain('BEGIN:VCALENDAR');
    expect((await fetch(first.url)).status).toBe(404);

    const listed = await admin.inject({ method: 'GET', url: `/units/${unitId}/ical/exports` });
    expect(listed.statusCode).toBe(200);
    const exports = listed.json<{ exports: Array<{ id: string; revokedAt: string | null }> }>().exports;
    expect(exports.filter((row) => [first.id, second.id].includes(row.id)).map((row) => [row.id, row.revokedAt === null])).toEqual([
      [first.id, false],
      [second.id, true],
    ]);
    for (const url of [first.url, second.url]) expect(listed.body).not.toContain(new URL(url).pathname.slice('/ical/'.length, -'.ics'.length));
  });

  it('refuses a new link for a revoked feed (a retried reissue never revokes the link it made), and for a feed of another unit', async () => {
    const created = (await post(`/units/${unitId}/ical/exports`, { channel: 'booking_com' })).json<{ id: string }>();
    const reissued = await post(`/units/${unitId}/ical/exports/${created.id}/reissue`);
    expect(reissued.statusCode).toBe(201);
    const retried = await post(`/units/${unitId}/ical/exports/${created.id}/reissue`);
    expect(retried.statusCode).toBe(409);
    expect(retried.json()).toMatchObject({ error: 'conflict' });
    // The link the first reissue made still serves.
    expect((await fetch(reissued.json<{ url: string }>().url)).status).toBe(200);

    const elsewhere = await post(`/units/unit_doesnotexist01/ical/exports/${reissued.json<{ id: string }>().id}/reissue`);
    expect(elsewhere.statusCode).toBe(404);
  });

  it('answers 404, not 500, for an export on a unit that does not exist', async () => {
    const response = await post('/units/unit_doesnotexist01/ical/exports', { channel: 'vrbo' });
    expect(response.statusCode, response.body).toBe(404);
    expect(response.json()).toMatchObject({ error: 'not_found' });
  });
});
