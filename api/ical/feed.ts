// GET /ical/<token>.ics on the public door: the feed an OTA imports (providers/ical/feed.ts). The
// token is the only credential: 256 random bits, looked up by its hash; unknown and revoked tokens
// are one and the same 404. Conditional GETs answer 304 (OTAs poll often; most polls change nothing).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { buildIcalFeed } from '../../providers/ical/feed';
import { localDate } from '../../providers/ical/parse';
import type { IcalFeedStore } from '../../store/ical-feeds';

export interface IcalFeedRouteDeps {
  feeds: IcalFeedStore;
  /** Nights from today the feed covers. */
  days: number;
  /** Requests per minute per source address. */
  ratePerMinute: number;
}

/** Whether the client's copy (If-None-Match, else If-Modified-Since) is the current one (RFC 9110 13.1). */
export function notModified(headers: Record<string, string | string[] | undefined>, etag: string, lastModified: Date): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (typeof ifNoneMatch === 'string') {
    return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
  }
  const ifModifiedSince = headers['if-modified-since'];
  if (typeof ifModifiedSince !== 'string') return false;
  const since = Date.parse(ifModifiedSince);
  return Number.isFinite(since) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(since / 1000);
}

export async function icalFeedRoutes(app: FastifyInstance, deps: IcalFeedRouteDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/ical/:file',
    {
      config: { rateLimit: { max: deps.ratePerMinute, timeWindow: 60_000 } },
      schema: { hide: true, params: z.object({ file: z.string().max(100) }) },
    },
    async (request, reply) => {
      reply.header('cache-control', 'private, no-cache').header('referrer-policy', 'no-referrer');
      const token = /^([A-Za-z0-9_-]{43})\.ics$/.exec(request.params.file)?.[1];
      const feed = token ? await deps.feeds.findExportFeed(token) : undefined;
      if (!feed) return reply.code(404).type('text/plain; charset=utf-8').send('No such calendar.\n');
      const nowMs = Date.now();
      const today = localDate(nowMs, await deps.feeds.timeZoneOf(feed.unitId));
      const { nights, lastModified } = await deps.feeds.blockedNights(feed.unitId, feed.channel, today, deps.days, nowMs);
      const { body, etag } = buildIcalFeed({ feedId: feed.id, name: `Skerry ${feed.unitId} for ${feed.channel}`, nights, lastModified });
      await deps.feeds.markExportFetched(feed.id);
      reply.header('etag', etag).header('last-modified', lastModified.toUTCString());
      if (notModified(request.headers, etag, lastModified)) return reply.code(304).send();
      return reply.type('text/calendar; charset=utf-8').header('content-disposition', 'inline; filename="calendar.ics"').send(body);
    },
  );
}
