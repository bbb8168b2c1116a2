// The iCal channel on the admin door: per unit, the feeds Skerry serves to OTAs (created, listed,
// revoked, reissued) and the OTAs' feeds Skerry imports (added with their poll settings, changed,
// synced now, removed); and the channel's health across every unit.
//
// A feed's URL is shown when it is made and never again: only its token's hash is kept, so a copy of
// the database (a backup, a leak) opens no calendar. An operator who needs the URL again issues a new
// one, which revokes the old in the same transaction (README, "Through iCal", says why).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IcalClient } from '../../client/ical';
import { importFeedView, type IcalExportFeedRow, type IcalFeedStore } from '../../store/ical-feeds';
import { InventoryError } from '../../store/inventory-error';
import { ErrorBody } from '../schemas';
import { Id } from './channel-manager-schemas';
import { IcalUrlError, checkIcalUrl, type IcalUrlPolicy, type LookupAll } from '../../providers/ical/url-policy';
import type { IcalHostBreaker } from '../../providers/ical/host-breakers';

export interface IcalRoutesDeps {
  feeds: IcalFeedStore;
  ical: IcalClient;
  /** The public door's base URL, which OTAs fetch feeds from. */
  publicUrl: string;
  defaults: { intervalMs: number; graceMs: number; staleAfterMs: number };
  /** Where an import URL may point: checked here (a 400) and again at every fetch. */
  importPolicy: IcalUrlPolicy;
  /** Name resolution for that check (tests resolve names of their own). */
  lookupAll?: LookupAll;
  /** The circuit breakers of the feed hosts (`ical:<host>`), as every worker shares them. */
  hostBreakers?: () => Promise<IcalHostBreaker[]>;
}


/** The OTA a feed is for or from: airbnb, booking_com, vrbo… */
const Ota = z.string().regex(/^[a-z][a-z0-9_]{1,30}$/, 'must be the OTA’s name in lower case (airbnb, booking_com, vrbo…)');
const Minutes = (min: number, max: number) => z.number().int().min(min).max(max);
const ImportSettings = z.object({
  intervalMs: Minutes(10_000, 86_400_000).optional().describe('Poll interval (default ICAL_POLL_INTERVAL_MS, 10 minutes)'),
  graceMs: Minutes(0, 7 * 86_400_000).optional().describe('A vanished event is released after this long (default ICAL_GRACE_MS)'),
  staleAfterMs: Minutes(60_000, 7 * 86_400_000).optional().describe('Stale when the last successful import is older (default ICAL_STALE_AFTER_MS)'),
  staleBufferDays: z.number().int().min(0).max(365).optional().describe('While stale, every other channel closes this many nights from today'),
  staleKeepBackUnits: z
    .number()
    .int()
    .min(0)
    .max(1_000)
    .optional()
    .describe('While stale, every other channel sells this many units fewer of each night from today (1: the last unit is kept back)'),
});
const FeedUrl = z
  .string()
  .max(2_000)
  .url()
  .refine((url) => /^https?:$/.test(new URL(url).protocol), 'must be an http(s) URL');

const ExportView = z.object({
  id: z.string(),
  unitId: z.string(),
  channel: z.string().describe('The OTA that imports it'),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  lastFetchedAt: z.string().nullable(),
});
const IssuedExportView = ExportView.extend({ url: z.string().describe('The feed URL with its token: shown in this answer only') });

const ImportView = z.object({
  id: z.string(),
  unitId: z.string(),
  channel: z.string(),
  origin: z.string().describe("The feed's origin only: its URL carries the OTA's secret"),
  intervalMs: z.number(),
  graceMs: z.number(),
  staleAfterMs: z.number(),
  staleBufferDays: z.number(),
  staleKeepBackUnits: z.number(),
  state: z.enum(['pending', 'ok', 'stale', 'error']),
  lastAttemptAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  events: z.number(),
  createdAt: z.string(),
});

const exportView = (feed: IcalExportFeedRow): z.input<typeof ExportView> => ({
  id: feed.id,
  unitId: feed.unitId,
  channel: feed.channel,
  createdAt: feed.createdAt.toISOString(),
  revokedAt: feed.revokedAt?.toISOString() ?? null,
  lastFetchedAt: feed.lastFetchedAt?.toISOString() ?? null,
});

export async function icalRoutes(app: FastifyInstance, deps: IcalRoutesDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { feeds } = deps;
  const unitParams = z.object({ id: Id('unit') });
  const exportParams = z.object({ id: Id('unit'), feedId: Id('icx') });
  const importParams = z.object({ id: Id('unit'), feedId: Id('ici') });

  // The feed store's refusals (an unknown unit, a revoked feed reissued); the rest goes to the app's handler.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof InventoryError) {
      return reply.code(error.code === 'not_found' ? 404 : error.code === 'conflict' ? 409 : 400).send({ error: error.code, message: error.message });
    }
    throw error;
  });

  // ─── Export ─────────────────────────────────────────────────────────────────────────────────
  api.post(
    '/units/:id/ical/exports',
    {
      schema: {
        summary: 'Create a feed URL an OTA imports (the URL is shown only now)',
        tags: ['ical'],
        params: unitParams,
        body: z.object({ channel: Ota }),
        response: { 201: IssuedExportView, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { feed, token } = await feeds.createExportFeed(request.params.id, request.body.channel);
      return reply.code(201).send({ ...exportView(feed), url: `${deps.publicUrl}/ical/${token}.ics` });
    },
  );
  api.get(
    '/units/:id/ical/exports',
    { schema: { summary: "A unit's feed URLs (never their tokens)", tags: ['ical'], params: unitParams, response: { 200: z.object({ exports: z.array(ExportView) }), 400: ErrorBody } } },
    async (request) => ({ exports: (await feeds.listExportFeeds(request.params.id)).map(exportView) }),
  );
  api.post(
    '/units/:id/ical/exports/:feedId/revoke',
    {
      schema: {
        summary: 'Revoke a feed URL: it answers 404 from now on',
        tags: ['ical'],
        params: exportParams,
        body: z.object({}).optional(),
        response: { 200: ExportView, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const feed = await feeds.revokeExportFeed(request.params.id, request.params.feedId);
      if (!feed) return reply.code(404).send({ error: 'not_found', message: `no feed ${request.params.feedId} on unit ${request.params.id}` });
      return exportView(feed);
    },
  );
  api.post(
    '/units/:id/ical/exports/:feedId/reissue',
    {
      schema: {
        summary: 'Issue a new URL for the same OTA; the old one is revoked at once (the URL is shown only now)',
        description: "Paste the new URL into the OTA's calendar import: until then its imports of the old one answer 404.",
        tags: ['ical'],
        params: exportParams,
        body: z.object({}).optional(),
        response: { 201: IssuedExportView.extend({ replaces: ExportView.describe('The feed it replaces, now revoked') }), 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const issued = await feeds.reissueExportFeed(request.params.id, request.params.feedId);
      if (!issued) return reply.code(404).send({ error: 'not_found', message: `no feed ${request.params.feedId} on unit ${request.params.id}` });
      return reply.code(201).send({ ...exportView(issued.feed), url: `${deps.publicUrl}/ical/${issued.token}.ics`, replaces: exportView(issued.replaced) });
    },
  );

  // ─── Import ─────────────────────────────────────────────────────────────────────────────────
  api.post(
    '/units/:id/ical/imports',
    {
      schema: {
        summary: "Import an OTA's calendar feed: its events become reservations",
        tags: ['ical'],
        params: unitParams,
        body: ImportSettings.extend({ channel: Ota, url: FeedUrl }),
        response: { 201: ImportView.extend({ workflowId: z.string().describe("The feed's import poll") }), 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { channel, url, ...settings } = request.body;
      try {
        await checkIcalUrl(url, deps.importPolicy, deps.lookupAll);
      } catch (err) {
        if (!(err instanceof IcalUrlError)) throw err;
        return reply.code(400).send({ error: 'invalid_request', message: `body.url: ${err.message}`, fields: [{ path: 'body.url', message: err.message }] });
      }
      const feed = await feeds.createImportFeed({ unitId: request.params.id, channel, url, staleBufferDays: 0, ...deps.defaults, ...settings });
      const workflowId = await deps.ical.ensureImportPoll(feed);
      return reply.code(201).send({ ...importFeedView(feed, Date.now()), workflowId });
    },
  );
  api.get(
    '/units/:id/ical/imports',
    {
      schema: {
        summary: "A unit's imported feeds and their health (never their URLs)",
        tags: ['ical'],
        params: unitParams,
        response: { 200: z.object({ imports: z.array(ImportView) }), 400: ErrorBody },
      },
    },
    async (request) => {
      const nowMs = Date.now();
      return { imports: (await feeds.listImportFeeds(request.params.id)).map((feed) => importFeedView(feed, nowMs)) };
    },
  );
  api.patch(
    '/units/:id/ical/imports/:feedId',
    { schema: { summary: "Change an imported feed's poll settings", tags: ['ical'], params: importParams, body: ImportSettings, response: { 200: ImportView, 400: ErrorBody, 404: ErrorBody } } },
    async (request, reply) => {
      const feed = await feeds.updateImportFeed(request.params.id, request.params.feedId, request.body);
      if (!feed) return reply.code(404).send({ error: 'not_found', message: `no import ${request.params.feedId} on unit ${request.params.id}` });
      await deps.ical.pollNow(feed.id);
      return importFeedView(feed, Date.now());
    },
  );
  api.post(
    '/units/:id/ical/imports/:feedId/sync',
    { schema: { summary: 'Import the feed now', tags: ['ical'], params: importParams, body: z.object({}).optional(), response: { 202: z.object({ feedId: z.string(), requested: z.literal(true) }), 400: ErrorBody, 404: ErrorBody } } },
    async (request, reply) => {
      const [feed] = (await feeds.listImportFeeds(request.params.id)).filter((row) => row.id === request.params.feedId);
      if (!feed) return reply.code(404).send({ error: 'not_found', message: `no import ${request.params.feedId} on unit ${request.params.id}` });
      await deps.ical.ensureImportPoll(feed);
      await deps.ical.pollNow(feed.id);
      return reply.code(202).send({ feedId: feed.id, requested: true });
    },
  );
  api.post(
    '/units/:id/ical/imports/:feedId/remove',
    { schema: { summary: 'Stop importing a feed (its reservations stay)', tags: ['ical'], params: importParams, body: z.object({}).optional(), response: { 200: ImportView, 400: ErrorBody, 404: ErrorBody } } },
    async (request, reply) => {
      const feed = await feeds.removeImportFeed(request.params.id, request.params.feedId);
      if (!feed) return reply.code(404).send({ error: 'not_found', message: `no import ${request.params.feedId} on unit ${request.params.id}` });
      await deps.ical.pollNow(feed.id).catch(() => undefined);
      return importFeedView(feed, Date.now());
    },
  );

  // ─── Health ─────────────────────────────────────────────────────────────────────────────────
  api.get(
    '/channels/ical/health',
    {
      schema: {
        summary: 'Every imported iCal feed: ok, pending, error (with the reason) or stale',
        tags: ['ical'],
        response: {
          200: z.object({
            channel: z.literal('ical'),
            healthy: z.boolean(),
            counts: z.object({ ok: z.number(), pending: z.number(), error: z.number(), stale: z.number() }),
            imports: z.array(
              ImportView.extend({
                ageSeconds: z.number().nullable().describe('Since the last successful import'),
                breaker: z.enum(['closed', 'half_open', 'open']).describe("The circuit breaker of the feed's host"),
              }),
            ),
            hosts: z.array(z.object({ host: z.string(), state: z.enum(['closed', 'half_open', 'open']), openUntil: z.string().nullable(), lastFailure: z.string().nullable() })).describe(
              'The circuit breakers of the hosts the live imports point at',
            ),
          }),
        },
      },
    },
    async () => {
      const [states, breakers] = await Promise.all([feeds.importFeedStates(Date.now()), deps.hostBreakers?.() ?? []]);
      const count = (state: string) => states.filter((feed) => feed.state === state).length;
      const byHost = new Map(breakers.map((breaker) => [breaker.host, breaker]));
      const imports = states.map((feed) => ({ ...feed, breaker: byHost.get(new URL(feed.origin).host)?.state ?? ('closed' as const) }));
      // Only the hosts a live import points at: a breaker left by a removed feed is no one's concern.
      const hosts = [...new Set(states.map((feed) => new URL(feed.origin).host))].flatMap((host) => byHost.get(host) ?? []);
      return {
        channel: 'ical' as const,
        healthy: imports.every((feed) => (feed.state === 'ok' || feed.state === 'pending') && feed.breaker === 'closed'),
        counts: { ok: count('ok'), pending: count('pending'), error: count('error'), stale: count('stale') },
        imports,
        hosts,
      };
    },
  );
}
