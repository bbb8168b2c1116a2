// Channel clients whose calls need the database: Airbnb acts for each connected host with the
// host's OAuth tokens, kept encrypted in Postgres and refreshed by one writer at a time.
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { ChannelAccountError, createChannelAccountStore } from '../../store/channel-accounts';
import { ProviderError } from '../errors';
import type { ChannelClient } from '../channels';
import { createAirbnbClient, createAirbnbOAuth, type AirbnbOAuth, type AirbnbTokenSource } from './client';
import type { ProviderResilience } from '../resilience';
import { gatedFetch } from '../resilience/gate';
import { guardChannelClient } from '../resilience/channel-guard';
import { parseScopes, type OAuthTokenManager, type TokenSpec } from '../oauth/token-manager';

/** What Skerry asks hosts to grant; a token without it is refused. */
export const AIRBNB_REQUIRED_SCOPES = ['property_management'];

/**
 * Hosts' tokens through the shared OAuth token manager (providers/oauth), kept in channel_accounts:
 * cached per process, refreshed ahead of expiry by one process at a time (the row's lock), the
 * rotated refresh token stored with the new access token, scopes checked, failures alerted.
 */
export function managedAirbnbTokens(manager: OAuthTokenManager, oauth: AirbnbOAuth): AirbnbTokenSource {
  const spec = (hostId: string): TokenSpec => ({
    key: `airbnb:host:${hostId}`,
    provider: 'airbnb',
    requiredScopes: AIRBNB_REQUIRED_SCOPES,
    refreshMarginMs: 60_000,
    async fetch(current) {
      if (!current?.refreshToken) throw new ProviderError('airbnb', 'refreshToken', 'authentication', `Airbnb host ${hostId} has no refresh token; connect it again`);
      const tokens = await oauth.refresh(current.refreshToken);
      return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresInMs: tokens.expiresIn * 1000, scopes: parseScopes(tokens.scope) };
    },
  });
  return {
    async accessToken(hostId, options) {
      // `force` without the refused token: refuse the current one.
      const rejected = options?.rejected ?? (options?.force ? await manager.accessToken(spec(hostId)) : undefined);
      return manager.accessToken(spec(hostId), { rejected });
    },
  };
}

export function airbnbTokenSource(config: Config, db: Database): AirbnbTokenSource {
  const accounts = createChannelAccountStore(db, config.channels.tokenEncryptionKey);
  const oauth = createAirbnbOAuth(config.channels.airbnb);
  return {
    async accessToken(hostId, options) {
      try {
        return await accounts.accessToken('airbnb', hostId, (refreshToken) => oauth.refresh(refreshToken), options);
      } catch (err) {
        // A host that never connected (or was revoked) is not fixed by retrying: say so, once.
        if (err instanceof ChannelAccountError) throw new ProviderError('airbnb', 'accessToken', 'authentication', err.message, { cause: err });
        throw err;
      }
    },
  };
}

export function channelClientsNeedingDatabase(config: Config, db: Database, resilience?: ProviderResilience): ChannelClient[] {
  if (!config.channels.airbnb.enabled) return [];
  if (!resilience?.channelAccountTokens) return [createAirbnbClient({ apiBase: config.channels.airbnb.apiBase, tokens: airbnbTokenSource(config, db) })];
  // In a worker: the gate (throttle, quota, conditional GETs), the token manager, the breaker.
  const fetch = gatedFetch(resilience.gate('airbnb'));
  const oauth = createAirbnbOAuth({ ...config.channels.airbnb, fetch });
  const client = createAirbnbClient({ apiBase: config.channels.airbnb.apiBase, tokens: managedAirbnbTokens(resilience.channelAccountTokens, oauth), fetch });
  return [guardChannelClient(client, resilience)];
}
