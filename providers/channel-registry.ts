// Builds the booking channels' clients from configuration, once per process (like registry.ts for
// the payment providers). A channel that is not configured is refused by name, never half-called.
import type { Config } from '../config';
import { ProviderError } from './errors';
import type { ChannelClient, ChannelRegistry } from './channels';
import { createBookingComClient } from './booking-com/client';
import type { ChannelName } from '../workflows/bookings/messages';

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

export function createChannelRegistry(config: Config, extra: ReadonlyArray<ChannelClient> = []): ChannelRegistry {
  const clients: ChannelClient[] = [];
  const { bookingCom } = config.channels;
  if (bookingCom.enabled) {
    clients.push(createBookingComClient({ apiBase: bookingCom.apiBase, username: bookingCom.username, password: bookingCom.password }));
  }
  return createChannelRegistryFrom([...clients, ...extra]);
}
