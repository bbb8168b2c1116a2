// Builds the booking channels' clients from configuration, once per process (like registry.ts for
// the payment providers). A channel that is not configured is refused by name, never half-called.
import type { Config } from '../config';
import { ProviderError } from './errors';
import type { ChannelClient, ChannelRegistry } from './channels';
import { createBookingComClient } from './booking-com/client';
import type { ProviderResilience } from './resilience';
import { gatedFetch } from './resilience/gate';
import { guardChannelClient } from './resilience/channel-guard';
import type { ChannelName } from '../domain/bookings';
import { createIcalChannelClient } from './ical/channel';
import { createChannexChannel } from './channex/wiring';

export function createChannelRegistryFrom(clients: ReadonlyArray<ChannelClient>): ChannelRegistry {
  const byName = new Map(clients.map((client) => [client.channel, client]));
  return {
    get(channel) {
      const client = byName.get(channel);
      if (!client) throw new ProviderError(channel, 'resolve', 'unsupported', `channel ${channel} is not configured`);
      return client;
    },
    configured: () => [...byName.keys()] as ChannelName[],
  };
}

export function createChannelRegistry(config: Config, extra: ReadonlyArray<ChannelClient> = [], resilience?: ProviderResilience): ChannelRegistry {
  const clients: ChannelClient[] = [];
  const { bookingCom } = config.channels;
  if (bookingCom.enabled) {
    // In a worker: through the provider gate (throttle, quota, conditional GETs) and the breaker.
    const client = createBookingComClient({
      apiBase: bookingCom.apiBase,
      secureApiBase: bookingCom.secureApiBase,
      username: bookingCom.username,
      password: bookingCom.password,
      fetch: resilience ? gatedFetch(resilience.gate('booking_com')) : undefined,
    });
    clients.push(resilience ? guardChannelClient(client, resilience) : client);
  }
  if (config.channels.channex.enabled) clients.push(createChannexChannel(config, resilience));
  // iCal needs no account and makes no calls: always there.
  clients.push(createIcalChannelClient());
  return createChannelRegistryFrom([...clients, ...extra]);
}
