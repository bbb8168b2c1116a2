// Channel clients whose calls need the database (Airbnb's per-host OAuth tokens).
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import type { ChannelClient } from '../channels';

export function channelClientsNeedingDatabase(_config: Config, _db: Database): ChannelClient[] {
  return [];
}
