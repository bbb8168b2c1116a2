// The Channex channel client as a process builds it from configuration: in a worker through the
// provider gate, the circuit breaker and the shared Postgres pacer (each property's slots, one per
// kind of ARI request, shared by every worker).
import type { Config } from '../../config';
import type { ChannelClient } from '../channels';
import type { ProviderResilience } from '../resilience';
import { gatedFetch } from '../resilience/gate';
import { guardChannelClient } from '../resilience/channel-guard';
import { createChannexClient } from './client';

export function createChannexChannel(config: Config, resilience?: ProviderResilience): ChannelClient {
  const { channex } = config.channels;
  const client = createChannexClient({
    apiBase: channex.apiBase,
    apiKey: channex.apiKey,
    requestsPerWindow: channex.requestsPerWindow,
    rateWindowSeconds: channex.rateWindowSeconds,
    pacer: resilience?.requestPacer,
    fetch: resilience ? gatedFetch(resilience.gate('channex')) : undefined,
  });
  return resilience ? guardChannelClient(client, resilience) : client;
}
