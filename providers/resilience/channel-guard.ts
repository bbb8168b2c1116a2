// Booking channels' calls through the same circuit breaker as the payment providers': every method
// of a channel client runs inside the channel's breaker (Booking.com, Airbnb), so a channel that is
// down fails fast, with its remaining open time as the activity's next retry delay.
import type { ChannelClient } from '../channels';
import type { ProviderResilience } from './index';

export function guardChannelClient(client: ChannelClient, resilience: Pick<ProviderResilience, 'guard'>): ChannelClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => resilience.guard(target.channel, String(property), () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}
