import { randomUUID } from 'node:crypto';

/** A random id whose prefix says what it names (prop_…, unit_…, rate_…, map_…, acct_…). */
export const newInventoryId = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
