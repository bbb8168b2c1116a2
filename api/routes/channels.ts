// The channel manager's channel routes: each channel's reservation queue and resyncs, and connecting
// an Airbnb host over OAuth; plus the channels' background work the API makes sure exists at start.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BookingsClient } from '../../client/bookings';
import type { ChannelName } from '../../domain/bookings';
import { ErrorBody } from '../schemas';
import type { Config } from '../../config';
import type { Logger } from '../../observability/logger';
import { signOAuthState, verifyOAuthState, type AirbnbOAuth } from '../../providers/airbnb/client';
import type { ChannelAccountStore } from '../../store/channel-accounts';
import { ProviderError } from '../../providers/errors';
import { Channel, Json, MAX_CALENDAR_DAYS } from './channel-manager-schemas';

export interface ChannelRoutesDeps {
  bookings: BookingsClient;
  /** The account each polled channel is pulled as (Booking.com's machine account), for its status. */
  pollAccounts?: Partial<Record<ChannelName, string>>;
  /** Airbnb's OAuth connect flow for hosts (authorization code → encrypted tokens). */
  airbnb?: { oauth: AirbnbOAuth; accounts: ChannelAccountStore; stateKey: string; callbackUrl: string };
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
        params: z.object({ channel: Channel }),
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

  api.post(
    '/channels/:channel/resync',
    {
      schema: {
        summary: 'Start a full resync of a channel now',
        tags: ['channels'],
        params: z.object({ channel: Channel }),
        body: z
          .object({
            horizonDays: z.number().int().min(1).max(MAX_CALENDAR_DAYS).optional(),
            pageSize: z.number().int().min(1).max(500).optional(),
            accounts: z.array(z.string().min(1).max(100)).min(1).max(500).optional().describe('Only these hotels / hosts'),
          })
          .default({}),
      },
    },
    async (request, reply) => reply.code(202).send(await bookings.startResync(request.params.channel, request.body)),
  );

  api.get(
    '/channels/:channel/resync/:workflowId',
    { schema: { summary: 'Status of a resync', tags: ['channels'], params: z.object({ channel: Channel, workflowId: z.string().min(1).max(200) }), response: { 200: Json, 404: ErrorBody } } },
    async (request) => bookings.getResync(request.params.workflowId),
  );

  api.get(
    '/channels/:channel/resyncs',
    { schema: { summary: 'Recent resyncs of a channel', tags: ['channels'], params: z.object({ channel: Channel }) } },
    async (request) => ({ runs: await bookings.inventory.resyncRuns.listResyncRuns(request.params.channel) }),
  );

  // ─── Airbnb: connecting a host (OAuth authorization code) ────────────────────────────────────
  const airbnb = deps.airbnb;
  if (airbnb) {
    api.get(
      '/channels/airbnb/connect',
      {
        schema: {
          summary: 'Connect an Airbnb host: redirects to Airbnb to authorize Skerry',
          tags: ['channels'],
          querystring: z.object({ hostHint: z.string().min(1).max(64).optional().describe('Sandbox only: the host id to consent as') }),
        },
      },
      async (request, reply) => {
        const state = signOAuthState(airbnb.stateKey, { exp: Date.now() + 10 * 60_000 });
        const url = new URL(airbnb.oauth.authorizeUrl(airbnb.callbackUrl, state));
        if (request.query.hostHint) url.searchParams.set('host_id', request.query.hostHint);
        return reply.redirect(url.toString(), 302);
      },
    );

    api.get(
      '/channels/airbnb/oauth/callback',
      {
        schema: {
          summary: 'Airbnb OAuth callback: exchanges the code and stores the tokens encrypted',
          tags: ['channels'],
          querystring: z.object({ code: z.string().min(1).max(500), state: z.string().min(1).max(2_000) }),
          response: { 200: Json, 400: ErrorBody, 502: ErrorBody },
        },
      },
      async (request, reply) => {
        if (!verifyOAuthState(airbnb.stateKey, request.query.state)) {
          return reply.code(400).send({ error: 'invalid_state', message: 'querystring.state: not issued here, or expired; start again at /channels/airbnb/connect' });
        }
        try {
          const tokens = await airbnb.oauth.exchangeCode(request.query.code, airbnb.callbackUrl);
          const account = await airbnb.accounts.connect('airbnb', tokens.hostId, tokens);
          return { channel: 'airbnb', hostId: tokens.hostId, accountId: account.id, connected: true };
        } catch (err) {
          if (err instanceof ProviderError) return reply.code(502).send({ error: `provider_${err.kind}`, message: err.message });
          throw err;
        }
      },
    );

    api.get('/channels/airbnb/accounts', { schema: { summary: 'Connected Airbnb hosts (never their tokens)', tags: ['channels'] } }, async () => ({
      accounts: await airbnb.accounts.list('airbnb'),
    }));
  }
}

/** The account key a polled channel's background work runs under: one per machine account and task queue. */
export function channelAccountKey(account: string, taskQueue: string): string {
  return `${account}.${taskQueue}`.replace(/[^A-Za-z0-9._-]/g, '-');
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
  const { bookingCom, airbnb, resyncHour } = config.channels;
  const taskQueue = config.temporal.taskQueue;
  if (bookingCom.enabled) accounts.booking_com = channelAccountKey(bookingCom.username, taskQueue);
  if (airbnb.enabled) accounts.airbnb = channelAccountKey(airbnb.clientId, taskQueue);
  try {
    if (accounts.booking_com) await bookings.ensureReservationPoll('booking_com', accounts.booking_com, bookingCom.pollIntervalMs);
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
