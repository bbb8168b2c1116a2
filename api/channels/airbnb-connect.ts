// Connecting an Airbnb host over OAuth, split over the two doors: the connect starts on the admin
// door with an API key (scope channels:admin); Airbnb then sends the host's browser to the callback
// on the public door, which has no key. The state in between is random, stored hashed with the key
// that started the connect, expires, and is consumed once: a callback can complete only a connect
// that a still-valid key started, within its time.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AirbnbOAuth } from '../../providers/airbnb/client';
import { ProviderError } from '../../providers/errors';
import type { ChannelAccountStore } from '../../store/channel-accounts';
import type { ApiKeyStore } from '../../store/api-keys';
import type { OAuthConnectStore } from '../../store/oauth-connects';
import { principalOf } from '../auth/access';
import { ErrorBody, Redirect } from '../schemas';

export const AIRBNB_CALLBACK_PATH = '/channels/airbnb/oauth/callback';
/** How long the host has to consent. */
export const CONNECT_TTL_MS = 10 * 60_000;

const ConnectedView = z.object({ channel: z.literal('airbnb'), hostId: z.string(), accountId: z.string(), connected: z.literal(true) });
const ChannelAccountView = z.object({
  id: z.string(),
  channel: z.string(),
  externalAccountId: z.string().describe('The Airbnb host id'),
  status: z.enum(['active', 'revoked']),
  accessTokenExpiresAt: z.string(),
  refreshCount: z.number(),
  updatedAt: z.string(),
});

export interface AirbnbConnectDeps {
  oauth: AirbnbOAuth;
  accounts: ChannelAccountStore;
  connects: OAuthConnectStore;
  /** `${publicUrl}/channels/airbnb/oauth/callback`: where Airbnb sends the host back. */
  callbackUrl: string;
}

/** Admin door: start a connect, list connected hosts. */
export async function airbnbConnectRoutes(app: FastifyInstance, deps: AirbnbConnectDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/channels/airbnb/connect',
    {
      schema: {
        summary: 'Connect an Airbnb host: redirects to Airbnb to authorize Skerry',
        description:
          `The consent must come back within ${CONNECT_TTL_MS / 60_000} minutes, and only while the API key that started it is valid. ` +
          'With respond=json the answer is the consent URL instead of a redirect: a browser cannot send the API key on a navigation, so the console asks for the URL and opens it.',
        tags: ['channels'],
        querystring: z.object({
          hostHint: z.string().min(1).max(64).optional().describe('Sandbox only: the host id to consent as'),
          respond: z.enum(['redirect', 'json']).default('redirect'),
        }),
        response: {
          200: z.object({ authorizeUrl: z.string().describe("Airbnb's consent page for this connect"), expiresAt: z.string().describe('The consent must come back before') }),
          302: Redirect.describe("To Airbnb's consent page (Location); Airbnb then sends the host to the public door's callback"),
          400: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const expiresAt = new Date(Date.now() + CONNECT_TTL_MS).toISOString();
      const state = await deps.connects.begin({ channel: 'airbnb', apiKeyId: principalOf(request)!.id, ttlMs: CONNECT_TTL_MS });
      const url = new URL(deps.oauth.authorizeUrl(deps.callbackUrl, state));
      if (request.query.hostHint) url.searchParams.set('host_id', request.query.hostHint);
      if (request.query.respond === 'json') return { authorizeUrl: url.toString(), expiresAt };
      return reply.redirect(url.toString(), 302);
    },
  );

  api.get(
    '/channels/airbnb/accounts',
    { schema: { summary: 'Connected Airbnb hosts (never their tokens)', tags: ['channels'], response: { 200: z.object({ accounts: z.array(ChannelAccountView) }) } } },
    async () => ({ accounts: await deps.accounts.list('airbnb') }),
  );
}

/** Says the connect is done, and where to go on: the console tab that started it shows the host. */
const connectedPage = (hostId: string) =>
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Airbnb connected</title></head>' +
  '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>Airbnb connected</h1>' +
  `<p>Airbnb host ${hostId.replace(/[^A-Za-z0-9_-]/g, '')} is connected to Skerry. You can close this tab: the console's Channels page lists the host.</p></body></html>`;

/** Public door: Airbnb's redirect back with the authorization code. */
export async function airbnbCallbackRoutes(app: FastifyInstance, deps: AirbnbConnectDeps & { keys: ApiKeyStore; rateLimit?: { max: number } }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    AIRBNB_CALLBACK_PATH,
    {
      config: deps.rateLimit ? { rateLimit: { max: deps.rateLimit.max, timeWindow: 60_000 } } : {},
      schema: {
        querystring: z.object({ code: z.string().min(1).max(500), state: z.string().min(1).max(200) }),
        response: { 200: ConnectedView, 400: ErrorBody, 502: ErrorBody },
      },
    },
    async (request, reply) => {
      const invalid = () =>
        reply.code(400).send({ error: 'invalid_state', message: 'querystring.state: not issued here, already used, or expired; start again at /channels/airbnb/connect' });
      const connect = await deps.connects.consume('airbnb', request.query.state);
      if (!connect) return invalid();
      // The key that started the connect must still be allowed to: a revoked key's connects die with it.
      const key = await deps.keys.get(connect.apiKeyId);
      if (!key || key.revoked || !key.scopes.includes('channels:admin')) return invalid();
      try {
        const tokens = await deps.oauth.exchangeCode(request.query.code, deps.callbackUrl);
        const account = await deps.accounts.connect('airbnb', tokens.hostId, tokens);
        request.log.info({ hostId: tokens.hostId, apiKeyId: key.id }, 'airbnb host connected');
        // The host's browser lands here (from the console, in a tab of its own): a page, not JSON.
        if ((request.headers.accept ?? '').includes('text/html')) {
          return reply
            .type('text/html; charset=utf-8')
            .header('cache-control', 'no-store')
            .send(connectedPage(tokens.hostId) as never);
        }
        return { channel: 'airbnb' as const, hostId: tokens.hostId, accountId: account.id, connected: true as const };
      } catch (err) {
        if (err instanceof ProviderError) return reply.code(502).send({ error: `provider_${err.kind}`, message: err.message });
        throw err;
      }
    },
  );
}
