// The channel manager's channel routes: each channel's reservation queue and resyncs; plus the
// channels' background work the API makes sure exists at start. Connecting an Airbnb host is
// api/channels/airbnb-connect.ts.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BookingsClient } from '../../client/bookings';
import type { ChannelName } from '../../domain/bookings';
import { ErrorBody } from '../schemas';
import type { Config } from '../../config';
import type { Logger } from '../../observability/logger';
import type { IcalFeedStore } from '../../store/ical-feeds';
import { Channel, MAX_CALENDAR_DAYS, ReservationPollView, ResyncRunView, ResyncView, UnackedMessageView } from './channel-manager-schemas';

const ChannelParams = z.object({ channel: Channel });
import { CHANNEX_HEALTH_EVENTS } from '../../providers/channex/webhooks';

/** Channex alerts (non_acked_booking) on a revision unacknowledged this long. */
const NON_ACKED_AFTER_MS = 30 * 60_000;

export interface ChannelRoutesDeps {
  bookings: BookingsClient;
  /** The account each polled channel is pulled as (Booking.com's machine account), for its status. */
  pollAccounts?: Partial<Record<ChannelName, string>>;
  /** iCal import feeds: their state in the calendar view. */
  icalFeeds?: IcalFeedStore;
}

export async function channelRoutes(app: FastifyInstance, deps: ChannelRoutesDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { bookings } = deps;

  api.get(
    '/channels/:channel/queue',
    {
      schema: {
        summary: "A channel's reservation queue: unacknowledged messages and their age",
        tags: ['channels'],
        params: ChannelParams,
        response: {
          200: z.object({
            channel: Channel,
            poll: ReservationPollView.nullable().describe('The reservation poll, for a polled channel (null for one that pushes)'),
            unacked: z.array(UnackedMessageView),
            oldestUnackedAgeMs: z.number(),
          }),
          400: ErrorBody,
        },
      },
    },
    async (request) => {
      const channel = request.params.channel;
      const account = deps.pollAccounts?.[channel];
      const [poll, unacked] = await Promise.all([
        account ? bookings.getReservationPoll(channel, account) : Promise.resolve(undefined),
        bookings.inventory.channelMessages.listUnacked(channel),
      ]);
      return { channel, poll: poll ?? null, unacked, oldestUnackedAgeMs: unacked.reduce((oldest, message) => Math.max(oldest, message.ageMs), 0) };
    },
  );

  api.get(
    '/channels/channex/health',
    {
      schema: {
        summary: 'Channex: what it reported (unmapped room/rate, sync errors, unacknowledged revisions) in the last 24 hours, and the revisions still unacknowledged',
        tags: ['channels'],
        response: {
          200: z.object({
            channel: z.literal('channex'),
            healthy: z.boolean(),
            events: z.record(z.string(), z.number()).describe('How many of each health event in the last 24 hours'),
            recentEvents: z.array(z.object({ event: z.string(), receivedAt: z.string(), payload: z.unknown().describe('Redacted: ids only') })),
            unacknowledged: z.object({ count: z.number(), overdue: z.number(), oldestAgeMs: z.number(), revisions: z.array(UnackedMessageView) }),
            poll: z.object({ polls: z.number(), lastPollAt: z.string().nullable(), lastError: z.string().nullable() }).nullable(),
          }),
        },
      },
    },
    async () => {
      const account = deps.pollAccounts?.channex;
      const [reported, unacked, poll] = await Promise.all([
        bookings.inventory.channelHealth.reportedEvents('channex', CHANNEX_HEALTH_EVENTS, new Date(Date.now() - 24 * 3_600_000)),
        bookings.inventory.channelMessages.listUnacked('channex'),
        account ? bookings.getReservationPoll('channex', account) : Promise.resolve(undefined),
      ]);
      const oldestUnackedAgeMs = unacked.reduce((oldest, message) => Math.max(oldest, message.ageMs), 0);
      const overdue = unacked.filter((message) => message.ageMs >= NON_ACKED_AFTER_MS);
      return {
        channel: 'channex' as const,
        healthy: Object.values(reported.counts).every((count) => count === 0) && overdue.length === 0 && !poll?.lastError,
        events: reported.counts,
        recentEvents: reported.recent,
        unacknowledged: { count: unacked.length, overdue: overdue.length, oldestAgeMs: oldestUnackedAgeMs, revisions: unacked.slice(0, 50) },
        poll: poll ? { polls: poll.polls, lastPollAt: poll.lastPollAt ?? null, lastError: poll.lastError ?? null } : null,
      };
    },
  );

  api.post(
    '/channels/:channel/resync',
    {
      schema: {
        summary: 'Start a full resync of a channel now',
        tags: ['channels'],
        params: ChannelParams,
        body: z
          .object({
            horizonDays: z.number().int().min(1).max(MAX_CALENDAR_DAYS).optional(),
            pageSize: z.number().int().min(1).max(500).optional(),
            accounts: z.array(z.string().min(1).max(100)).min(1).max(500).optional().describe('Only these hotels / hosts'),
          })
          .default({}),
        response: { 202: z.object({ workflowId: z.string().describe('Follow it at GET /channels/:channel/resync/:workflowId') }), 400: ErrorBody },
      },
    },
    async (request, reply) => reply.code(202).send(await bookings.startResync(request.params.channel, request.body)),
  );

  api.get(
    '/channels/:channel/resync/:workflowId',
    { schema: { summary: 'Status of a resync', tags: ['channels'], params: z.object({ channel: Channel, workflowId: z.string().min(1).max(200) }), response: { 200: ResyncView, 400: ErrorBody, 404: ErrorBody } } },
    async (request) => bookings.getResync(request.params.workflowId),
  );

  api.get(
    '/channels/:channel/resyncs',
    { schema: { summary: 'Recent resyncs of a channel', tags: ['channels'], params: ChannelParams, response: { 200: z.object({ runs: z.array(ResyncRunView) }), 400: ErrorBody } } },
    async (request) => ({ runs: await bookings.inventory.resyncRuns.listResyncRuns(request.params.channel) }),
  );
}

/** The account key a polled channel's background work runs under: one per machine account and task queue. */
export function channelAccountKey(account: string, taskQueue: string): string {
  return `${account}.${taskQueue}`.replace(/[^A-Za-z0-9._-]/g, '-');
}

/** The channels whose reservations are pulled, each with the account its poll runs under (Channex: the deployment's one key). */
export function polledChannelAccounts(config: Config): Partial<Record<ChannelName, string>> {
  const taskQueue = config.temporal.taskQueue;
  return {
    ...(config.channels.bookingCom.enabled ? { booking_com: channelAccountKey(config.channels.bookingCom.username, taskQueue) } : {}),
    ...(config.channels.channex.enabled ? { channex: channelAccountKey('channex', taskQueue) } : {}),
  };
}

/**
 * Makes sure the channels' background work exists: the Booking.com reservation poll and each
 * channel's nightly resync schedule. Idempotent; called at every API start.
 */
export async function ensureChannelBackground(
  config: Config,
  bookings: BookingsClient,
  logger: Logger,
): Promise<Partial<Record<ChannelName, string>>> {
  const accounts: Partial<Record<ChannelName, string>> = {};
  const { bookingCom, airbnb, channex, resyncHour } = config.channels;
  const taskQueue = config.temporal.taskQueue;
  Object.assign(accounts, polledChannelAccounts(config));
  if (airbnb.enabled) accounts.airbnb = channelAccountKey(airbnb.clientId, taskQueue);
  try {
    if (accounts.booking_com) await bookings.ensureReservationPoll('booking_com', accounts.booking_com, bookingCom.pollIntervalMs);
    if (accounts.channex) await bookings.ensureReservationPoll('channex', accounts.channex, channex.pollIntervalMs);
    if (resyncHour !== undefined) {
      for (const [channel, account] of Object.entries(accounts) as Array<[ChannelName, string]>) {
        await bookings.ensureResyncSchedule(channel, account, resyncHour);
      }
    }
  } catch (err) {
    // The API serves without them; the next start tries again.
    logger.error({ err: (err as Error).message }, 'could not start the channel background work (reservation poll, resync schedules)');
  }
  return accounts;
}
